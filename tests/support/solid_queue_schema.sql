-- Solid Queue 1.x queue database schema for PostgreSQL, as `bin/rails db:prepare` loads it
-- from the app's db/queue_schema.rb (the solid_queue install generator's template,
-- rails/solid_queue lib/generators/solid_queue/install/templates/db/queue_schema.rb:
-- `ActiveRecord::Schema[7.1].define(version: 1)`; the tables here are the 1.x release ones).
--
-- Translated the way Rails' PostgreSQL adapter does it: `t.string` -> character varying,
-- `t.datetime` -> timestamp(6) without time zone (Rails stores UTC in it), the implicit id
-- -> bigserial primary key, `t.text` -> text. Table and index names are Solid Queue's, so
-- the scripts' SQL runs here exactly as it runs in production.
--
-- Used by the integration tests (release proof, ops status). Load it into an empty
-- database; it is re-runnable (IF NOT EXISTS everywhere).

CREATE TABLE IF NOT EXISTS solid_queue_jobs (
    id bigserial PRIMARY KEY,
    queue_name character varying NOT NULL,
    class_name character varying NOT NULL,
    arguments text,
    priority integer DEFAULT 0 NOT NULL,
    active_job_id character varying,
    scheduled_at timestamp(6) without time zone,
    finished_at timestamp(6) without time zone,
    concurrency_key character varying,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS index_solid_queue_jobs_on_active_job_id ON solid_queue_jobs (active_job_id);
CREATE INDEX IF NOT EXISTS index_solid_queue_jobs_on_class_name ON solid_queue_jobs (class_name);
CREATE INDEX IF NOT EXISTS index_solid_queue_jobs_on_finished_at ON solid_queue_jobs (finished_at);
CREATE INDEX IF NOT EXISTS index_solid_queue_jobs_for_filtering ON solid_queue_jobs (queue_name, finished_at);
CREATE INDEX IF NOT EXISTS index_solid_queue_jobs_for_alerting ON solid_queue_jobs (scheduled_at, finished_at);

CREATE TABLE IF NOT EXISTS solid_queue_pauses (
    id bigserial PRIMARY KEY,
    queue_name character varying NOT NULL,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS index_solid_queue_pauses_on_queue_name ON solid_queue_pauses (queue_name);

-- One row per running Solid Queue process. kind: Worker, Dispatcher, Scheduler, Supervisor
-- (from 1.3 also Supervisor(fork) / Supervisor(async)); supervisor_id is NULL on supervisors;
-- hostname is the container's hostname; heartbeat every 60 s, alive threshold 5 min.
CREATE TABLE IF NOT EXISTS solid_queue_processes (
    id bigserial PRIMARY KEY,
    kind character varying NOT NULL,
    last_heartbeat_at timestamp(6) without time zone NOT NULL,
    supervisor_id bigint,
    pid integer NOT NULL,
    hostname character varying,
    metadata text,
    created_at timestamp(6) without time zone NOT NULL,
    name character varying NOT NULL
);
CREATE INDEX IF NOT EXISTS index_solid_queue_processes_on_last_heartbeat_at ON solid_queue_processes (last_heartbeat_at);
CREATE UNIQUE INDEX IF NOT EXISTS index_solid_queue_processes_on_name_and_supervisor_id ON solid_queue_processes (name, supervisor_id);
CREATE INDEX IF NOT EXISTS index_solid_queue_processes_on_supervisor_id ON solid_queue_processes (supervisor_id);

CREATE TABLE IF NOT EXISTS solid_queue_recurring_tasks (
    id bigserial PRIMARY KEY,
    key character varying NOT NULL,
    schedule character varying NOT NULL,
    command character varying(2048),
    class_name character varying,
    arguments text,
    queue_name character varying,
    priority integer DEFAULT 0,
    static boolean DEFAULT true NOT NULL,
    description text,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS index_solid_queue_recurring_tasks_on_key ON solid_queue_recurring_tasks (key);
CREATE INDEX IF NOT EXISTS index_solid_queue_recurring_tasks_on_static ON solid_queue_recurring_tasks (static);

CREATE TABLE IF NOT EXISTS solid_queue_semaphores (
    id bigserial PRIMARY KEY,
    key character varying NOT NULL,
    value integer DEFAULT 1 NOT NULL,
    expires_at timestamp(6) without time zone NOT NULL,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS index_solid_queue_semaphores_on_expires_at ON solid_queue_semaphores (expires_at);
CREATE INDEX IF NOT EXISTS index_solid_queue_semaphores_on_key_and_value ON solid_queue_semaphores (key, value);
CREATE UNIQUE INDEX IF NOT EXISTS index_solid_queue_semaphores_on_key ON solid_queue_semaphores (key);

CREATE TABLE IF NOT EXISTS solid_queue_blocked_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
    queue_name character varying NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    concurrency_key character varying NOT NULL,
    expires_at timestamp(6) without time zone NOT NULL,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS index_solid_queue_blocked_executions_for_release ON solid_queue_blocked_executions (concurrency_key, priority, job_id);
CREATE INDEX IF NOT EXISTS index_solid_queue_blocked_executions_for_maintenance ON solid_queue_blocked_executions (expires_at, concurrency_key);
CREATE UNIQUE INDEX IF NOT EXISTS index_solid_queue_blocked_executions_on_job_id ON solid_queue_blocked_executions (job_id);

CREATE TABLE IF NOT EXISTS solid_queue_claimed_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
    process_id bigint,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS index_solid_queue_claimed_executions_on_job_id ON solid_queue_claimed_executions (job_id);
CREATE INDEX IF NOT EXISTS index_solid_queue_claimed_executions_on_process_id_and_job_id ON solid_queue_claimed_executions (process_id, job_id);

CREATE TABLE IF NOT EXISTS solid_queue_failed_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
    error text,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS index_solid_queue_failed_executions_on_job_id ON solid_queue_failed_executions (job_id);

CREATE TABLE IF NOT EXISTS solid_queue_ready_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
    queue_name character varying NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS index_solid_queue_ready_executions_on_job_id ON solid_queue_ready_executions (job_id);
CREATE INDEX IF NOT EXISTS index_solid_queue_poll_all ON solid_queue_ready_executions (priority, job_id);
CREATE INDEX IF NOT EXISTS index_solid_queue_poll_by_queue ON solid_queue_ready_executions (queue_name, priority, job_id);

CREATE TABLE IF NOT EXISTS solid_queue_recurring_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
    task_key character varying NOT NULL,
    run_at timestamp(6) without time zone NOT NULL,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS index_solid_queue_recurring_executions_on_job_id ON solid_queue_recurring_executions (job_id);
CREATE UNIQUE INDEX IF NOT EXISTS index_solid_queue_recurring_executions_on_task_key_and_run_at ON solid_queue_recurring_executions (task_key, run_at);

CREATE TABLE IF NOT EXISTS solid_queue_scheduled_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
    queue_name character varying NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    scheduled_at timestamp(6) without time zone NOT NULL,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS index_solid_queue_scheduled_executions_on_job_id ON solid_queue_scheduled_executions (job_id);
CREATE INDEX IF NOT EXISTS index_solid_queue_dispatch_all ON solid_queue_scheduled_executions (scheduled_at, priority, job_id);

-- What Rails keeps next to any schema it loads (db:prepare skips the load when these exist).
CREATE TABLE IF NOT EXISTS schema_migrations (version character varying NOT NULL PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ar_internal_metadata (
    key character varying NOT NULL PRIMARY KEY,
    value character varying,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);
INSERT INTO schema_migrations (version) VALUES ('20240904193154') ON CONFLICT DO NOTHING;
INSERT INTO ar_internal_metadata (key, value, created_at, updated_at)
    VALUES ('environment', 'production', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
    ON CONFLICT DO NOTHING;
