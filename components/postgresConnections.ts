/**
 * How many Postgres connections a release can open, from the config, against max_connections.
 * A pure function: stacks/config.ts refuses a config whose need is above `postgres.maxConnections`
 * (the Postgres container's `-c max_connections=`), naming `setting` as the value to set, and any
 * need past MAX_SETTING. The setting is never derived from the need: changing it restarts Postgres,
 * so only an explicit edit of postgres.maxConnections may do that, not a concurrency or host change.
 *
 * Upper bounds, counted the way Rails and Solid Queue size their pools (connections open
 * lazily, so this is what a busy release can reach, not what an idle one holds):
 * - a Rails process has one pool per database it uses (primary, queue, cache, cable: every
 *   database in postgres.databases), each up to its thread count;
 * - web: WEB_CONCURRENCY Puma processes (Puma reads it; 1 when unset) x RAILS_MAX_THREADS
 *   threads (Rails 8's config/puma.rb: 3 when unset);
 * - per jobs host: JOB_CONCURRENCY worker processes (Rails 8's config/queue.yml: processes)
 *   of WORKER_THREADS threads (queue.yml: threads: 3): in the queue database threads + 2 (the
 *   poller and the heartbeat, rails/solid_queue lib/solid_queue/configuration.rb
 *   estimated_number_of_threads), in every other database `threads` (the jobs' own queries);
 *   one Dispatcher (poller, heartbeat, concurrency maintenance: 3 in the queue database) and
 *   the supervisor (heartbeat, process pruning: 2);
 * - side by side: in the release chain the old and new jobs containers overlap (jobs-start
 *   to jobs-retire), and later the old and new web (the web switch), never both at once, so
 *   the peak is the larger of (2 x jobs + web) and (jobs + 2 x web);
 * - plus RESERVED: Postgres' superuser_reserved_connections (3) and the program's own psql
 *   sessions (proof, migrate check, ops: 3).
 */
export interface ConnectionInput {
    jobsHosts: number;
    jobConcurrency: number;
    webConcurrency: number;
    webThreads: number;
    /** The app's databases (postgres.databases): primary, queue, cache, cable. */
    databases: number;
}

export interface ConnectionBudget {
    web: number;
    jobsPerHost: number;
    jobs: number;
    peak: number;
    needed: number;
    /** The postgres.maxConnections to suggest: Postgres' default 100, or the need rounded up to 50. */
    setting: number;
    /** One line per term, for messages and the plan. */
    explain: string;
}

export const WORKER_THREADS = 3;
export const RESERVED = 6;
export const DEFAULT_MAX_CONNECTIONS = 100;
/** postgres.maxConnections when the config does not set it: room for a second jobs host at the defaults. */
export const MAX_CONNECTIONS_SETTING_DEFAULT = 200;
/**
 * Above this, refuse: every connection is a Postgres backend process (a few MB each), and past
 * a couple of thousand a pooler (PgBouncer) in front of Postgres is the answer, not a bigger
 * max_connections. Below it the setting is raised; docs/operations.md says what it costs.
 */
export const MAX_SETTING = 2000;

export function connectionBudget(c: ConnectionInput): ConnectionBudget {
    const otherDbs = Math.max(0, c.databases - 1);
    const web = c.webConcurrency * c.webThreads * c.databases;
    const worker = WORKER_THREADS + 2 + WORKER_THREADS * otherDbs;
    const jobsPerHost = c.jobConcurrency * worker + 3 + 2;
    const jobs = c.jobsHosts * jobsPerHost;
    const peak = Math.max(2 * jobs + web, jobs + 2 * web);
    const needed = peak + RESERVED;
    const setting = Math.max(DEFAULT_MAX_CONNECTIONS, Math.ceil(needed / 50) * 50);
    const explain = [
        `web: WEB_CONCURRENCY ${c.webConcurrency} x RAILS_MAX_THREADS ${c.webThreads} x ${c.databases} databases = ${web}`,
        `jobs host: JOB_CONCURRENCY ${c.jobConcurrency} x ${worker} (queue ${WORKER_THREADS}+2, ${otherDbs} other databases x ${WORKER_THREADS}) + dispatcher 3 + supervisor 2 = ${jobsPerHost}; x ${c.jobsHosts} hosts = ${jobs}`,
        `peak while old and new run side by side: max(2 x ${jobs} + ${web}, ${jobs} + 2 x ${web}) = ${peak}; + ${RESERVED} reserved = ${needed}`,
    ].join("; ");
    return { web, jobsPerHost, jobs, peak, needed, setting, explain };
}

/** Whole number from an env value, or the fallback when unset; NaN when it is not a whole number. */
export function envCount(value: string | undefined, fallback: number): number {
    if (value === undefined || value === "") return fallback;
    return /^[1-9][0-9]{0,3}$/.test(value) ? Number(value) : NaN;
}

/**
 * The postgres.maxConnections a raw stack config (as in Pulumi.<stack>.yaml) needs, from its own
 * hosts, concurrency, web env and databases: what the config's refusal names. For tools that scale
 * a config (the bench, test fixtures), as an operator raises the key after adding hosts.
 */
export function neededMaxConnections(raw: Record<string, any>): number {
    const env = { ...raw.app?.env, ...raw.web?.env };
    const count = (v: unknown, fallback: number) => envCount(v === undefined ? undefined : String(v), fallback);
    return connectionBudget({
        jobsHosts: raw.jobs.hosts.length,
        jobConcurrency: raw.jobs.concurrency,
        webConcurrency: count(env.WEB_CONCURRENCY, 1),
        webThreads: count(env.RAILS_MAX_THREADS, 3),
        databases: raw.postgres.databases.length,
    }).setting;
}
