/**
 * jobs-proof.sh, run for real: the exact command text the command provider sends
 * (scriptCommand), over a real sshd on 127.0.0.1, against a real PostgreSQL holding Solid
 * Queue's tables (tests/support/solid_queue_schema.sql). No Docker engine: the docker test
 * double forwards `docker exec CONTAINER psql ...` to the local cluster and records every call.
 *
 * The proof's session runs with TimeZone America/New_York (set on the role), so a check that
 * compared the UTC heartbeats with local time would fail these tests.
 */
import { ScriptParams } from "../../components/remote";
import { DockerDouble, HARNESS_START_TIMEOUT_MS, RemoteHost, ScriptRun, startRemoteHost, TestPostgres } from "../support/integration";

jest.setTimeout(30_000);

const CONTAINER = "shred-day-postgres";
const QUEUE_DB = "shred_day_production_queue";
const RELEASE = "4f2a9c01de";
const OLD_RELEASE = "0b1c2d3e4f";
const JOBS_1 = `shred-day-jobs-ubuntu-${RELEASE}`;
const JOBS_2 = `shred-day-jobs-2-${RELEASE}`;
/** What the Release component passes: our web containers' prefix, and the web host's addresses (Kamal 2 hostnames). */
const WEB_PREFIXES = "shred-day-web 91.99.62.190 10.0.0.3";

let host: RemoteHost;
let pg: TestPostgres;
let docker: DockerDouble;

beforeAll(async () => {
    host = await startRemoteHost({ queueDatabase: QUEUE_DB });
    ({ pg, docker } = host);
    // Rails writes UTC into `timestamp without time zone`; the session's zone must not matter.
    await pg.psql(`ALTER ROLE ${pg.user} SET timezone = 'America/New_York';`);
}, HARNESS_START_TIMEOUT_MS);

afterAll(() => host?.stop());

beforeEach(async () => {
    docker.reset();
    await pg.psql("TRUNCATE solid_queue_processes RESTART IDENTITY;", QUEUE_DB);
});

type Kind = "Supervisor" | "Supervisor(fork)" | "Worker" | "Dispatcher" | "Scheduler";

/** Registers a Solid Queue process as Rails does (UTC heartbeat `ageSeconds` ago); returns its id. */
async function addProcess(kind: Kind, hostname: string, ageSeconds: number, supervisorId: number | null = null): Promise<number> {
    const out = await pg.psql(
        `INSERT INTO solid_queue_processes (kind, last_heartbeat_at, supervisor_id, pid, hostname, metadata, created_at, name)
         VALUES ('${kind}', (now() AT TIME ZONE 'UTC') - interval '${ageSeconds} seconds', ${supervisorId ?? "NULL"},
                 ${1000 + Math.floor(Math.random() * 30000)}, '${hostname}', '{}', now() AT TIME ZONE 'UTC',
                 '${kind.toLowerCase().replace(/\W/g, "")}-${Math.random().toString(16).slice(2, 10)}')
         RETURNING id;`,
        QUEUE_DB,
    );
    return Number(out.trim());
}

/** A healthy `bin/jobs` of a host: supervisor, dispatcher and `workers` workers. */
async function healthyJobs(hostname: string, ageSeconds = 5, workers = 2, kind: Kind = "Supervisor"): Promise<number> {
    const sup = await addProcess(kind, hostname, ageSeconds);
    await addProcess("Dispatcher", hostname, ageSeconds, sup);
    for (let i = 0; i < workers; i++) await addProcess("Worker", hostname, ageSeconds, sup);
    return sup;
}

function params(overrides: ScriptParams = {}): ScriptParams {
    return {
        CONTAINER,
        DB_USER: pg.user,
        QUEUE_DB,
        EXPECTED_HOSTNAMES: `${JOBS_1} ${JOBS_2}`,
        WEB_HOSTNAME_PREFIXES: WEB_PREFIXES,
        LIVE_SECONDS: 300,
        TIMEOUT_SECONDS: 1,
        INTERVAL_SECONDS: 1,
        ...overrides,
    };
}

function proof(overrides: ScriptParams = {}): Promise<ScriptRun> {
    return host.runScript("jobs-proof", params(overrides));
}

/** Every recorded docker call is a read-only psql through the Postgres container's local socket. */
function expectOnlyPsqlCalls() {
    const calls = docker.calls();
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) {
        expect(c.slice(0, 4)).toEqual(["exec", "-i", CONTAINER, "psql"]);
        expect(c).toContain(QUEUE_DB);
        expect(c).not.toContain("-p");
        expect(c).not.toContain("-h");
    }
}

describe("jobs-proof.sh", () => {
    test("passes with a live supervisor and worker for each release hostname (docker test double)", async () => {
        await healthyJobs(JOBS_1);
        await healthyJobs(JOBS_2, 50, 1);
        // Leftovers that must not matter: the old release still running beside the new one, and a
        // web-host process that stopped long ago (stale row, not yet pruned).
        await healthyJobs(`shred-day-jobs-ubuntu-${OLD_RELEASE}`);
        await addProcess("Supervisor", "91.99.62.190-a1b2c3d4e5f6", 900);

        const r = await proof();
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/every jobs host has a live supervisor and worker of this release, and nothing runs on the web host \(after \d+s, 1 attempt\(s\)\)/);
        expect(r.stdout).toMatch(new RegExp(`${JOBS_1}\\s+1\\s+2 \\(of 2 live\\)\\s+Dispatcher x1, Supervisor x1, Worker x2\\s+ok`));
        expect(r.stdout).toMatch(new RegExp(`${JOBS_2}\\s+1\\s+1 \\(of 1 live\\)\\s+.*ok`));
        expect(r.stdout).toContain("web host: no live Solid Queue process");
        expectOnlyPsqlCalls();
        expect(docker.calls()).toHaveLength(1);
    });

    test("accepts Solid Queue 1.3's Supervisor(fork) kind (docker test double)", async () => {
        await healthyJobs(JOBS_1, 5, 1, "Supervisor(fork)");
        const r = await proof({ EXPECTED_HOSTNAMES: JOBS_1 });
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/Supervisor\(fork\) x1, Worker x1\s+ok/);
    });

    test("a heartbeat just inside LIVE_SECONDS is live, whatever the session time zone (docker test double)", async () => {
        await healthyJobs(JOBS_1, 290);
        const r = await proof({ EXPECTED_HOSTNAMES: JOBS_1 });
        expect(r.code).toBe(0);
    });

    test("fails on a stale heartbeat, within the bound, saying how old it is (docker test double)", async () => {
        await healthyJobs(JOBS_1);
        await healthyJobs(JOBS_2, 420); // last beat 7 min ago: dead by Solid Queue's 5-minute threshold
        const r = await proof();
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/jobs-proof: FAILED after \d+s \(\d+ attempt\(s\), timeout 1s\)/);
        expect(r.stderr).toMatch(new RegExp(`${JOBS_1}\\s+1\\s+2 \\(of 2 live\\).*ok`));
        expect(r.stderr).toMatch(new RegExp(`${JOBS_2}\\s+0\\s+0 \\(of 0 live\\)\\s+-\\s+MISSING: only stale rows \\(newest heartbeat 4[12]\\ds ago, live = under 300s\\)`));
        expect(r.stderr).toContain(`npm run ops -- logs jobs --host <jobs host>`);
        expect(r.stderr).toContain("JOB_CONCURRENCY");
        expect(r.stderr).toMatch(/reaches Postgres on the private network/);
        expect(r.ms).toBeLessThan(8_000);
        expectOnlyPsqlCalls();
    });

    test("fails on a worker without a supervisor (docker test double)", async () => {
        await addProcess("Worker", JOBS_1, 5, null);
        const r = await proof({ EXPECTED_HOSTNAMES: JOBS_1 });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`${JOBS_1}\\s+0\\s+0 \\(of 1 live\\)\\s+Worker x1\\s+MISSING: no live supervisor`));
    });

    test("fails on a worker whose supervisor is stale (docker test double)", async () => {
        const sup = await addProcess("Supervisor", JOBS_1, 400);
        await addProcess("Worker", JOBS_1, 5, sup);
        const r = await proof({ EXPECTED_HOSTNAMES: JOBS_1 });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/MISSING: no live supervisor/);
    });

    test("fails on a worker whose supervisor is on another host, and on a supervisor without workers (docker test double)", async () => {
        const elsewhere = await addProcess("Supervisor", `shred-day-jobs-ubuntu-${OLD_RELEASE}`, 5);
        await addProcess("Supervisor", JOBS_1, 5); // this host's supervisor, but no worker under it
        await addProcess("Worker", JOBS_1, 5, elsewhere);
        const r = await proof({ EXPECTED_HOSTNAMES: JOBS_1 });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`${JOBS_1}\\s+1\\s+0 \\(of 1 live\\)\\s+Supervisor x1, Worker x1\\s+MISSING: no live Worker under a live supervisor of this host`));

        await pg.psql("TRUNCATE solid_queue_processes RESTART IDENTITY;", QUEUE_DB);
        await addProcess("Supervisor", JOBS_1, 5);
        await addProcess("Dispatcher", JOBS_1, 5, 1);
        const alone = await proof({ EXPECTED_HOSTNAMES: JOBS_1 });
        expect(alone.code).toBe(1);
        expect(alone.stderr).toMatch(/MISSING: no live Worker$/m);
    });

    test("fails on a live process registered from the web host: Kamal's hostname or our web container's (docker test double)", async () => {
        await healthyJobs(JOBS_1);
        await healthyJobs(JOBS_2);
        // Solid Queue in Puma in the old Kamal 2 container (`<host>-<12 hex>`) and in one of ours.
        const puma = await addProcess("Supervisor(async)" as Kind, "91.99.62.190-a1b2c3d4e5f6", 10);
        await addProcess("Worker", "91.99.62.190-a1b2c3d4e5f6", 10, puma);
        await addProcess("Dispatcher", `shred-day-web-${RELEASE}`, 20);
        // Not the web host: 10.0.0.30 only shares a prefix with 10.0.0.3.
        await addProcess("Scheduler", "10.0.0.30-0123456789ab", 5);
        const r = await proof();
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("LIVE ON THE WEB HOST (must be none; hostname matches one of: shred-day-web 91.99.62.190 10.0.0.3):");
        expect(r.stderr).toMatch(/ {2}91\.99\.62\.190-a1b2c3d4e5f6 {2}Supervisor\(async\) {2}pid \d+ {2}heartbeat 1\ds ago/);
        expect(r.stderr).toMatch(/ {2}91\.99\.62\.190-a1b2c3d4e5f6 {2}Worker {2}pid \d+/);
        expect(r.stderr).toMatch(new RegExp(`  shred-day-web-${RELEASE}  Dispatcher  pid \\d+ {2}heartbeat 2\\ds ago`));
        expect(r.stderr).not.toContain("10.0.0.30-0123456789ab");
        expect(r.stderr).toMatch(/SOLID_QUEUE_IN_PUMA must not be in the web env/);
        // every jobs host itself was fine
        expect(r.stderr.match(/\bok$/gm)).toHaveLength(2);
    });

    test("times out within the bound when nothing registers, polling every INTERVAL_SECONDS (docker test double)", async () => {
        const r = await proof({ TIMEOUT_SECONDS: 3, INTERVAL_SECONDS: 1 });
        expect(r.code).toBe(1);
        expect(r.ms).toBeGreaterThanOrEqual(2_000);
        expect(r.ms).toBeLessThan(3_000 + 4_000); // TIMEOUT_SECONDS plus ssh and one query at most
        // It polled (more than one query) and gave up at the bound; bash counts whole seconds,
        // and a slow machine fits fewer polls in 3 s, so the figures are ranges, not exact.
        const [, waited, attempts] = r.stderr.match(/FAILED after (\d+)s \((\d+) attempt\(s\), timeout 3s\)/) ?? [];
        expect(Number(attempts)).toBeGreaterThanOrEqual(2);
        expect(Number(attempts)).toBeLessThanOrEqual(4);
        expect(Number(waited)).toBeGreaterThanOrEqual(2);
        expect(Number(waited)).toBeLessThanOrEqual(Math.ceil(r.ms / 1000));
        expect(r.stderr).toMatch(new RegExp(`${JOBS_1}\\s+0\\s+0 \\(of 0 live\\)\\s+-\\s+MISSING: no Solid Queue process ever registered with this hostname`));
        expect(r.stderr).toMatch(new RegExp(`${JOBS_2}\\s+.*MISSING: no Solid Queue process ever registered`));
        expect(docker.calls().length).toBeGreaterThanOrEqual(3);
        expectOnlyPsqlCalls();
    });

    test("passes once the workers register while it polls (docker test double)", async () => {
        const running = proof({ EXPECTED_HOSTNAMES: JOBS_1, TIMEOUT_SECONDS: 15, INTERVAL_SECONDS: 1 });
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await healthyJobs(JOBS_1);
        const r = await running;
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/after \d+s, ([2-9]|\d\d) attempt\(s\)/);
        expect(r.ms).toBeLessThan(10_000);
    });

    test("a queue database without Solid Queue's tables: fails at the timeout with the psql error and the db:prepare hint (docker test double)", async () => {
        await pg.createDatabase("empty_queue").catch(() => undefined);
        const r = await proof({ QUEUE_DB: "empty_queue", TIMEOUT_SECONDS: 1 });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/The last query failed \(docker exec shred-day-postgres psql -U shred_day -d empty_queue\):/);
        expect(r.stderr).toMatch(/relation "solid_queue_processes" does not exist/);
        expect(r.stderr).toMatch(/bin\/rails db:prepare .* loads db\/queue_schema\.rb/);
    });

    test("refuses malformed numbers and empty host lists without querying", async () => {
        const bad = await proof({ TIMEOUT_SECONDS: "soon" });
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/TIMEOUT_SECONDS must be a whole number of seconds, got 'soon'/);
        const blank = await proof({ EXPECTED_HOSTNAMES: " " });
        expect(blank.code).toBe(2);
        expect(blank.stderr).toMatch(/EXPECTED_HOSTNAMES is empty/);
        expect(docker.calls()).toEqual([]);
    });
});
