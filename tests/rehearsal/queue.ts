/**
 * The job queue as the rehearsal sees it: jobs enqueued the way Active Job's Solid Queue adapter
 * does (a solid_queue_jobs row and its ready execution), and a record of every claim (a trigger
 * on solid_queue_claimed_executions: one row per time a worker took the job), so "ran exactly
 * once" and "ran on which host" are facts from the database, not from logs.
 */
import { Rehearsal } from "./rehearsal";

export const QUEUE_DB = "shred_day_production_queue";

/**
 * Install the claim log in the queue database (idempotent). The workers claim as the app's own
 * role (not a superuser; components/appRole.ts), which has no rights on this test table: the
 * trigger runs as its owner (SECURITY DEFINER), so logging never makes a worker's claim fail.
 */
export async function installClaimLog(r: Rehearsal): Promise<void> {
    await r.sql(
        QUEUE_DB,
        `CREATE TABLE IF NOT EXISTS rehearsal_claims (
            id bigserial PRIMARY KEY, job_id bigint NOT NULL, process_id bigint, hostname varchar,
            claimed_at timestamp(6) NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'));
         CREATE OR REPLACE FUNCTION rehearsal_log_claim() RETURNS trigger LANGUAGE plpgsql
           SECURITY DEFINER SET search_path = public AS $$
         BEGIN
           INSERT INTO rehearsal_claims (job_id, process_id, hostname)
           SELECT NEW.job_id, NEW.process_id, (SELECT hostname FROM solid_queue_processes WHERE id = NEW.process_id);
           RETURN NEW;
         END $$;
         DROP TRIGGER IF EXISTS rehearsal_log_claim ON solid_queue_claimed_executions;
         CREATE TRIGGER rehearsal_log_claim AFTER INSERT ON solid_queue_claimed_executions
           FOR EACH ROW EXECUTE FUNCTION rehearsal_log_claim();`,
    );
}

/** Enqueue `n` jobs of class `label`, each taking `seconds`; returns their ids. */
export async function enqueue(r: Rehearsal, label: string, n: number, seconds = 0): Promise<number[]> {
    const out = await r.sql(
        QUEUE_DB,
        `WITH j AS (
           INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, priority, active_job_id, created_at, updated_at)
           SELECT 'default', '${label.replace(/'/g, "''")}', '${Number(seconds)}', 0, md5(random()::text), now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
             FROM generate_series(1, ${Number(n)}) RETURNING id)
         , e AS (INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
                 SELECT id, 'default', 0, now() AT TIME ZONE 'UTC' FROM j RETURNING job_id)
         SELECT job_id FROM e ORDER BY job_id;`,
    );
    return out.split("\n").filter((l) => /^[0-9]+$/.test(l)).map(Number);
}

export interface JobFate {
    id: number;
    finished: boolean;
    claims: number;
    hostnames: string[];
}

/** What became of the jobs of class `label`. */
export async function fates(r: Rehearsal, label: string): Promise<JobFate[]> {
    const out = await r.sql(
        QUEUE_DB,
        `SELECT j.id, j.finished_at IS NOT NULL, count(c.id), coalesce(string_agg(coalesce(c.hostname, '?'), ' ' ORDER BY c.id), '')
           FROM solid_queue_jobs j LEFT JOIN rehearsal_claims c ON c.job_id = j.id
          WHERE j.class_name = '${label.replace(/'/g, "''")}' GROUP BY j.id, j.finished_at ORDER BY j.id;`,
    );
    return out
        .split("\n")
        .filter(Boolean)
        .map((l) => {
            const [id, fin, claims, hosts] = l.split("|");
            return { id: Number(id), finished: fin === "t", claims: Number(claims), hostnames: hosts ? hosts.split(" ") : [] };
        });
}

/** Wait (bounded) until every job of `label` is finished. */
export async function waitFinished(r: Rehearsal, label: string, timeoutMs: number): Promise<JobFate[]> {
    const deadline = Date.now() + timeoutMs;
    let f = await fates(r, label);
    while (f.some((j) => !j.finished) && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 500));
        f = await fates(r, label);
    }
    return f;
}

/** Live Solid Queue processes (heartbeat within 5 min): hostname, kind, created_at. */
export async function liveProcesses(r: Rehearsal): Promise<{ hostname: string; kind: string; createdAt: string }[]> {
    const out = await r.sql(
        QUEUE_DB,
        `SELECT hostname, kind, to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM solid_queue_processes
          WHERE last_heartbeat_at > (now() AT TIME ZONE 'UTC') - interval '5 minutes' ORDER BY id;`,
    );
    return out
        .split("\n")
        .filter(Boolean)
        .map((l) => {
            const [hostname, kind, createdAt] = l.split("|");
            return { hostname, kind, createdAt };
        });
}
