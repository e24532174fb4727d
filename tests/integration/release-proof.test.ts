/**
 * jobs-proof.sh, run for real: the exact command text the command provider sends
 * (scriptCommand), over a real sshd on 127.0.0.1, against a real PostgreSQL holding Solid
 * Queue's tables (tests/support/solid_queue_schema.sql) in the Postgres container of a private
 * Docker engine (tests/support/docker.ts); the web host's other containers are real containers
 * of the app stand-in image with the hostnames and labels each test needs (converted from the
 * retired docker test double by i9, minimally).
 *
 * Rows are written as Solid Queue writes them (app/models/solid_queue/process.rb `register`:
 * last_heartbeat_at = Time.current at insert, created_at just after; a heartbeat touches
 * last_heartbeat_at every 60 s, lib/solid_queue/processes/registrable.rb). Times are UTC
 * `timestamp without time zone`; the proof's session runs with TimeZone America/New_York (set
 * on the role), so a check that compared them with local time would fail these tests.
 */
import * as fs from "fs";
import { ScriptParams } from "../../components/remote";
import { TestDocker } from "../support/docker";
import { ContainerPostgres, HARNESS_START_TIMEOUT_MS, RemoteHost, ScriptRun, startRemoteHost } from "../support/integration";

jest.setTimeout(90_000);

const CONTAINER = "shred-day-postgres";
const QUEUE_DB = "shred_day_production_queue";
const RELEASE = "4f2a9c01de";
const OLD_RELEASE = "0b1c2d3e4f";
const JOBS_1 = `shred-day-jobs-ubuntu-${RELEASE}`;
const JOBS_2 = `shred-day-jobs-2-${RELEASE}`;
/** When the jobs containers started (docker's State.StartedAt): 10 minutes ago. */
const STARTED_AGO = 600;

let host: RemoteHost;
let pg: ContainerPostgres;
let docker: TestDocker;
let appImage: string;

beforeAll(async () => {
    host = await startRemoteHost({ queueDatabase: QUEUE_DB });
    ({ pg, docker } = host);
    appImage = await docker.image("app");
    await pg.psql(`ALTER ROLE ${pg.user} SET timezone = 'America/New_York';`);
}, HARNESS_START_TIMEOUT_MS);

afterAll(() => host?.stop());

interface WebContainer {
    hostname: string;
    running: boolean;
    role: string;
}

/**
 * The web host's containers, made real beside the Postgres container (running, its hostname its
 * id): app stand-in containers with these hostnames and role labels, running (`sleep`) or only
 * created. Only what differs from the last call is created or removed.
 */
async function webContainers(list: WebContainer[]): Promise<void> {
    const key = (c: WebContainer) => Buffer.from(`${c.hostname}|${c.running}|${c.role}`).toString("hex");
    const want = new Map(list.map((c) => [key(c), c]));
    const have = (await docker.ok(["ps", "-a", "--filter", "label=proof-fixture", "--format", '{{.ID}} {{.Label "proof-fixture"}}'])).split("\n").filter(Boolean);
    for (const line of have) {
        const [id, k] = line.split(" ");
        if (want.has(k)) want.delete(k);
        else await docker.ok(["rm", "-f", id]);
    }
    for (const [k, c] of want) {
        const labels = ["--label", `proof-fixture=${k}`, ...(c.role ? ["--label", `role=${c.role}`] : [])];
        if (c.running) await docker.ok(["run", "--detach", "--hostname", c.hostname, ...labels, appImage, "sleep", "3600"]);
        else await docker.ok(["create", "--hostname", c.hostname, ...labels, appImage, "true"]);
    }
}

/** Kamal's old web container (Puma plugin), our current web, the proxy and a stopped Kamal web; the Postgres container is the real one. */
const WEB_HOST: WebContainer[] = [
    { hostname: "91.99.62.190-a1b2c3d4e5f6", running: true, role: "web" },
    { hostname: `shred-day-${OLD_RELEASE}`, running: true, role: "web" },
    { hostname: "kamal-proxy", running: true, role: "" },
    { hostname: "91.99.62.190-0f0f0f0f0f0f", running: false, role: "web" },
];

/** The engine's containers when the test began (after the fixture). */
let stateBefore = "";

beforeEach(async () => {
    await webContainers(WEB_HOST);
    await pg.psql("TRUNCATE solid_queue_processes RESTART IDENTITY;", QUEUE_DB);
    fs.rmSync("/tmp/i12-proof-pwned", { force: true });
    stateBefore = await engineState();
});

type Kind = "Supervisor" | "Supervisor(fork)" | "Supervisor(async)" | "Worker" | "Dispatcher" | "Scheduler";

const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Registers a Solid Queue process: created `createdAgo` s ago, last heartbeat `beatAgo` s ago
 * (equal to createdAgo, minus a millisecond, for a process that never beat). Returns its id.
 */
async function addProcess(kind: string, hostname: string, opts: { createdAgo?: number; beatAgo?: number; supervisorId?: number | null; name?: string; metadata?: string } = {}): Promise<number> {
    const createdAgo = opts.createdAgo ?? 120;
    const beat = opts.beatAgo === undefined ? `${createdAgo - 60} seconds` : `${opts.beatAgo} seconds`;
    const out = await pg.psql(
        `INSERT INTO solid_queue_processes (kind, last_heartbeat_at, supervisor_id, pid, hostname, metadata, created_at, name)
         VALUES (${sqlText(kind)}, (now() AT TIME ZONE 'UTC') - interval '${beat}', ${opts.supervisorId ?? "NULL"},
                 ${1000 + Math.floor(Math.random() * 30000)}, ${sqlText(hostname)}, ${sqlText(opts.metadata ?? "{}")},
                 (now() AT TIME ZONE 'UTC') - interval '${createdAgo} seconds',
                 ${sqlText(opts.name ?? `${kind.toLowerCase().replace(/\W/g, "")}-${Math.random().toString(16).slice(2, 10)}`)})
         RETURNING id;`,
        QUEUE_DB,
    );
    return Number(out.trim());
}

/** A registered process that has not heartbeated yet: last_heartbeat_at just before created_at. */
async function addFresh(kind: string, hostname: string, supervisorId: number | null, createdAgo = 10): Promise<number> {
    return addProcess(kind, hostname, { createdAgo, beatAgo: createdAgo + 0.001, supervisorId });
}

/** A healthy `bin/jobs` of a host, up two minutes, beating: supervisor, dispatcher and `workers` workers. */
async function healthyJobs(hostname: string, opts: { workers?: number; kind?: Kind; createdAgo?: number; beatAgo?: number } = {}): Promise<number> {
    const t = { createdAgo: opts.createdAgo ?? 120, beatAgo: opts.beatAgo };
    const sup = await addProcess(opts.kind ?? "Supervisor(fork)", hostname, t);
    await addProcess("Dispatcher", hostname, { ...t, supervisorId: sup });
    for (let i = 0; i < (opts.workers ?? 2); i++) await addProcess("Worker", hostname, { ...t, supervisorId: sup });
    return sup;
}

const startedAt = (agoSeconds = STARTED_AGO) => new Date(Date.now() - agoSeconds * 1000).toISOString().replace("Z", "123456Z");

function params(overrides: ScriptParams = {}): ScriptParams {
    return {
        CONTAINER,
        DB_USER: pg.user,
        QUEUE_DB,
        JOBS_HOSTS: `${JOBS_1},${startedAt()} ${JOBS_2},${startedAt()}`,
        JOB_CONCURRENCY: 2,
        LIVE_SECONDS: 300,
        HEARTBEAT_SECONDS: 60,
        MAX_CLOCK_OFFSET_SECONDS: 30,
        TIMEOUT_SECONDS: 1,
        INTERVAL_SECONDS: 1,
        ...overrides,
    };
}

function proof(overrides: ScriptParams = {}): Promise<ScriptRun> {
    return host.runScript("jobs-proof", params(overrides));
}

/** Containers (id, state) of the engine: the proof only reads. */
async function engineState(): Promise<string> {
    return (await docker.ok(["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.State}}"])).split("\n").sort().join("\n");
}

/** The report's row of a jobs host. */
const row = (out: string, hostname: string) => out.split("\n").find((l) => l.startsWith(hostname + " ")) ?? "";

describe("jobs-proof.sh: what proves a release", () => {
    test("a healthy release: per host a supervisor since the start that beat, JOB_CONCURRENCY beating workers, a Dispatcher; old web reported, not failed", async () => {
        await healthyJobs(JOBS_1);
        await healthyJobs(JOBS_2);
        // Leftovers that must not matter: the old release's workers beside the new ones, Kamal's
        // Puma-embedded Solid Queue in the running old web container, and a long-dead row.
        await healthyJobs(`shred-day-jobs-ubuntu-${OLD_RELEASE}`);
        const puma = await addProcess("Supervisor(async)", "91.99.62.190-a1b2c3d4e5f6", { createdAgo: 86400, beatAgo: 20 });
        await addProcess("Worker", "91.99.62.190-a1b2c3d4e5f6", { createdAgo: 86400, beatAgo: 20, supervisorId: puma });
        await addProcess("Supervisor", "91.99.62.190-0f0f0f0f0f0f", { createdAgo: 9000, beatAgo: 900 });

        const r = await proof();
        console.log(`healthy release:\n${r.stdout}${r.stderr}`);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^jobs-proof: PROVEN after \d+s \(1 attempt\(s\)\)/);
        expect(row(r.stdout, JOBS_1)).toMatch(/\sfork\s+2\/2\s+1\s+-?\d+s\.\.-?\d+s \(beat \d+s ago\)\s+ok$/);
        expect(row(r.stdout, JOBS_2)).toMatch(/\s2\/2\s.*\sok$/);
        expect(r.stdout).toContain("dispatchers: 2 live under proven supervisors");
        expect(r.stdout).toContain("91.99.62.190-a1b2c3d4e5f6 (running web container; the web switch stops it): supervisors 1, workers 1, dispatchers 0, other 0");
        expect(r.stdout).not.toContain("0f0f0f0f0f0f");
        expect(await engineState()).toBe(stateBefore);
    });

    test("fresh rows are not proof: a supervisor and workers that registered but never heartbeated", async () => {
        const sup = await addFresh("Supervisor(fork)", JOBS_1, null);
        await addFresh("Dispatcher", JOBS_1, sup);
        await addFresh("Worker", JOBS_1, sup);
        await addFresh("Worker", JOBS_1, sup);
        const r = await proof({ JOBS_HOSTS: `${JOBS_1},${startedAt()}` });
        expect(r.code).toBe(1);
        expect(row(r.stderr, JOBS_1)).toMatch(/WAITING: the supervisor has not heartbeated since it registered/);
    });

    test("a crash-looping worker: the fork supervisor re-forks it, each fork a fresh row, none lives to beat", async () => {
        const sup = await addProcess("Supervisor(fork)", JOBS_1, { createdAgo: 200, beatAgo: 20 });
        await addProcess("Dispatcher", JOBS_1, { createdAgo: 200, beatAgo: 20, supervisorId: sup });
        await addProcess("Worker", JOBS_1, { createdAgo: 200, beatAgo: 20, supervisorId: sup }); // the healthy one
        for (let i = 0; i < 6; i++) await addFresh("Worker", JOBS_1, sup, 5 + i * 25); // a new fork every 25 s, each dies before beating
        const r = await proof({ JOBS_HOSTS: `${JOBS_1},${startedAt(240)}` });
        console.log(`crash-looping worker:\n${r.stdout}${r.stderr}`);
        expect(r.code).toBe(1);
        expect(row(r.stderr, JOBS_1)).toMatch(/\sfork\s+1\/2\s.*WORKERS: fewer than JOB_CONCURRENCY=2 workers .* \[7 live worker rows under the supervisor: 6 not proven \(re-forked after a crash, or still booting\)\]/);
    });

    test("a crashed worker replaced by a fresh fork: RE-FORKED although JOB_CONCURRENCY workers beat", async () => {
        const sup = await addProcess("Supervisor(fork)", JOBS_1, { createdAgo: 200, beatAgo: 20 });
        await addProcess("Dispatcher", JOBS_1, { createdAgo: 200, beatAgo: 20, supervisorId: sup });
        await addProcess("Worker", JOBS_1, { createdAgo: 200, beatAgo: 20, supervisorId: sup });
        await addProcess("Worker", JOBS_1, { createdAgo: 200, beatAgo: 80, supervisorId: sup }); // beat, then crashed
        await addFresh("Worker", JOBS_1, sup, 15); // its replacement
        const r = await proof({ JOBS_HOSTS: `${JOBS_1},${startedAt(240)}` });
        expect(r.code).toBe(1);
        expect(row(r.stderr, JOBS_1)).toMatch(/\s2\/2\s.*RE-FORKED: a live worker under the supervisor has not heartbeated yet .* \[3 live worker rows under the supervisor: 1 not proven/);
    });

    test("a crash-looping container: several supervisors since the start fail as RESTARTED, even when one of them beat", async () => {
        await healthyJobs(JOBS_1, { createdAgo: 200, beatAgo: 80 }); // first life: beat once, then died
        await addFresh("Supervisor(fork)", JOBS_1, null, 40); // second life
        await addFresh("Supervisor(fork)", JOBS_1, null, 5); // third life
        const r = await proof({ JOBS_HOSTS: `${JOBS_1},${startedAt(240)}` });
        expect(r.code).toBe(1);
        expect(row(r.stderr, JOBS_1)).toMatch(/RESTARTED: more than one supervisor registered since the container started .* \[3 supervisors since start\]/);
    });

    test("rows from before the container started (a killed earlier container with the same hostname) do not count", async () => {
        await healthyJobs(JOBS_1, { createdAgo: 900, beatAgo: 30 });
        const r = await proof({ JOBS_HOSTS: `${JOBS_1},${startedAt(300)}` });
        expect(r.code).toBe(1);
        expect(row(r.stderr, JOBS_1)).toMatch(/MISSING: no live supervisor registered since the container started/);
    });

    test("a never-registering worker: nothing with its hostname, within the bound", async () => {
        await healthyJobs(JOBS_1);
        const r = await proof({ TIMEOUT_SECONDS: 3 });
        console.log(`never-registering host:\n${r.stdout}${r.stderr}`);
        expect(r.code).toBe(1);
        expect(r.ms).toBeLessThan(3_000 + 4_000);
        const [, attempts] = r.stderr.match(/FAILED after \d+s \((\d+) attempt\(s\), timeout 3s\)/) ?? [];
        expect(Number(attempts)).toBeGreaterThanOrEqual(2);
        expect(row(r.stderr, JOBS_1)).toMatch(/\sok$/);
        expect(row(r.stderr, JOBS_2)).toMatch(/\s0\/2\s+0\s+-\s+MISSING: no Solid Queue process ever registered with this hostname$/);
        expect(r.stderr).toContain("npm run ops -- logs jobs --host <jobs host>");
        expect(await engineState()).toBe(stateBefore);
    });

    test("JOB_CONCURRENCY counts: one beating worker of two fails; async mode passes with one and says why", async () => {
        await healthyJobs(JOBS_1, { workers: 1 });
        await healthyJobs(JOBS_2, { workers: 1, kind: "Supervisor(async)" });
        const r = await proof();
        expect(r.code).toBe(1);
        expect(row(r.stderr, JOBS_1)).toMatch(/\sfork\s+1\/2\s.*WORKERS:/);
        expect(row(r.stderr, JOBS_2)).toMatch(/\sasync\s+1\/2\s.*ok \[async mode: one Worker per pool, threads of the supervisor; JOB_CONCURRENCY is ignored\]/);
    });

    test("no live Dispatcher on any jobs host fails", async () => {
        for (const h of [JOBS_1, JOBS_2]) {
            const sup = await addProcess("Supervisor(fork)", h);
            await addProcess("Worker", h, { supervisorId: sup });
            await addProcess("Worker", h, { supervisorId: sup });
        }
        const r = await proof();
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("DISPATCHER: MISSING: no live Dispatcher under a proven supervisor on any jobs host");
        expect(r.stderr.match(/\sok$/gm)).toHaveLength(2);
    });

    test("a worker under another host's supervisor does not count", async () => {
        const elsewhere = await addProcess("Supervisor(fork)", `shred-day-jobs-ubuntu-${OLD_RELEASE}`);
        const sup = await addProcess("Supervisor(fork)", JOBS_1);
        await addProcess("Dispatcher", JOBS_1, { supervisorId: sup });
        await addProcess("Worker", JOBS_1, { supervisorId: elsewhere });
        await addProcess("Worker", JOBS_1, { supervisorId: elsewhere });
        const r = await proof({ JOBS_HOSTS: `${JOBS_1},${startedAt()}` });
        expect(r.code).toBe(1);
        expect(row(r.stderr, JOBS_1)).toMatch(/\s0\/2\s.*WORKERS:/);
    });
});

describe("jobs-proof.sh: web host by exact hostnames", () => {
    test("web.name `shred-day`: a jobs host named shred-day-jobs-ubuntu is a jobs host, not the web host", async () => {
        const jobs = `shred-day-jobs-ubuntu-${RELEASE}`;
        await webContainers([
            { hostname: `shred-day-${RELEASE}`, running: true, role: "web" },
            { hostname: "shred-day", running: false, role: "web" },
        ]); // and the Postgres container (running, no role)
        await healthyJobs(jobs);
        const r = await proof({ JOBS_HOSTS: `${jobs},${startedAt()}` });
        console.log(`jobs host named like the web:\n${r.stdout}${r.stderr}`);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(row(r.stdout, jobs)).toMatch(/\sok$/);
        expect(r.stdout).toContain("web host: no live Solid Queue process in any of its 1+2 containers");
    });

    test("a live process in a web-host container that is not the running web fails, whatever its hostname looks like", async () => {
        await webContainers([...WEB_HOST, { hostname: "ff0000000000", running: true, role: "" }]);
        await healthyJobs(JOBS_1);
        await healthyJobs(JOBS_2);
        await addProcess("Supervisor(fork)", "ff0000000000", { createdAgo: 100, beatAgo: 30 }); // a container id as hostname
        await addProcess("Dispatcher", "91.99.62.190-0f0f0f0f0f0f", { createdAgo: 100, beatAgo: 30 }); // a stopped (killed) Kamal web container
        await addProcess("Scheduler", "10.0.0.30-0123456789ab", { createdAgo: 100, beatAgo: 30 }); // not on this host at all
        const r = await proof();
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("ff0000000000 (NOT a running web container: FAIL): supervisors 1, workers 0, dispatchers 0, other 0");
        expect(r.stderr).toContain("91.99.62.190-0f0f0f0f0f0f (NOT a running web container: FAIL): supervisors 0, workers 0, dispatchers 1, other 0");
        expect(r.stderr).not.toContain("10.0.0.30");
        expect(r.stderr.match(/\sok$/gm)).toHaveLength(2);
    });
});

test("a container with a new jobs host's own hostname is not taken for a web-host container (one engine playing both roles)", async () => {
    await webContainers([...WEB_HOST, { hostname: JOBS_1, running: true, role: "jobs" }]);
    await healthyJobs(JOBS_1);
    await healthyJobs(JOBS_2);
    const r = await proof();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("web host: no live Solid Queue process");
});

describe("jobs-proof.sh: clock offset", () => {
    test("reports each host's offset range, and fails a host whose clock is ahead or behind past the bound", async () => {
        await healthyJobs(JOBS_1, { beatAgo: 10 }); // in step: newest beat 10 s ago
        // JOBS_2 runs 120 s ahead: its heartbeats land 120 s in the database's future.
        await healthyJobs(JOBS_2, { createdAgo: 0, beatAgo: -110 });
        const r = await proof();
        expect(r.code).toBe(1);
        // The figures move with the time between the inserts and the query (seconds on a loaded
        // machine), so they are read and compared, not matched exactly.
        const offsets = (line: string) => {
            const m = /\s(-?\d+)s\.\.(-?\d+)s \(beat (-?\d+)s ago\)\s/.exec(line);
            expect(m).not.toBeNull();
            return { lo: Number(m![1]), hi: Number(m![2]), age: Number(m![3]) };
        };
        const inStep = offsets(row(r.stderr, JOBS_1));
        expect(row(r.stderr, JOBS_1)).toMatch(/\sok$/);
        expect(inStep.age).toBeGreaterThanOrEqual(10);
        expect(inStep.age).toBeLessThan(60);
        expect(inStep.lo).toBe(-inStep.age);
        expect(inStep.hi).toBe(inStep.lo + 60);
        const ahead = offsets(row(r.stderr, JOBS_2));
        expect(ahead.lo).toBeGreaterThan(80);
        expect(ahead.lo).toBeLessThanOrEqual(110);
        expect(ahead.hi).toBe(ahead.lo + 60);
        expect(row(r.stderr, JOBS_2)).toMatch(/CLOCK: this host's clock is more than 30s ahead/);

        await pg.psql("TRUNCATE solid_queue_processes RESTART IDENTITY;", QUEUE_DB);
        // JOBS_1 runs 150 s behind: its newest heartbeat looks 150+ s old although it beats every 60 s.
        await healthyJobs(JOBS_1, { createdAgo: 250, beatAgo: 160 });
        await healthyJobs(JOBS_2);
        const behind = await proof();
        expect(behind.code).toBe(1);
        const late = offsets(row(behind.stderr, JOBS_1));
        expect(late.lo).toBeLessThanOrEqual(-160);
        expect(late.hi).toBe(late.lo + 60);
        expect(row(behind.stderr, JOBS_1)).toMatch(/CLOCK: this host's clock is more than 30s behind/);
    });
});

describe("jobs-proof.sh: database and docker output is data (issue 11 point 1)", () => {
    const MARK = "/tmp/i12-proof-pwned";
    const hostile = [
        `f[$(touch ${MARK})]`,
        `x|1|1|1|1|1|1|1 $(touch ${MARK}) \`touch ${MARK}\``,
        `host 1 ok 1 2 2 1 4 4 1 -1 59 fork`,
        `a\nhost 1 ok 1 2 2 1 4 4 1 -1 59 fork\n$(touch ${MARK})`,
        "Z".repeat(10_000) + `$(touch ${MARK})`,
    ];

    test("hostile kinds, hostnames, names and metadata run nothing, and the proof still decides right", async () => {
        for (const [i, text] of hostile.entries()) {
            // As kind, hostname, name and metadata, beating, under no supervisor and under JOBS_1's.
            const sup = await addProcess(text, text, { name: `${text}-${i}`, metadata: text });
            await addProcess("Worker", text, { supervisorId: sup, name: `w-${i}`, metadata: text });
            await addProcess(text, JOBS_1, { name: `k-${i}`, metadata: text });
            await addProcess(`Supervisor${text}`, `${JOBS_2}`, { name: `s-${i}` });
        }
        // JOBS_1 is healthy; JOBS_2 only has hostile "Supervisor..." kinds with no workers: must fail.
        await healthyJobs(JOBS_1);
        const r = await proof();
        expect(fs.existsSync(MARK)).toBe(false);
        expect(r.code).toBe(1);
        expect(row(r.stderr, JOBS_1)).toMatch(/\s2\/2\s.*\sok$/);
        expect(row(r.stderr, JOBS_2)).toMatch(/\s0\/2\s.*MISSING: no live supervisor registered since the container started/);
        expect(r.stderr).not.toContain("touch");

        // And with JOBS_2 healthy too, the hostile rows do not stop a good release from passing.
        await healthyJobs(JOBS_2);
        const ok = await proof();
        expect(fs.existsSync(MARK)).toBe(false);
        expect(ok.code).toBe(0);
        expect(ok.stdout).not.toContain("touch");
    });

    test("hostile web-container hostnames from docker inspect are not used, and run nothing", async () => {
        // the real engine takes any --hostname (20.10 does not validate it), so docker inspect can print these
        await webContainers([...WEB_HOST, { hostname: `$(touch ${MARK})`, running: true, role: "web" }, { hostname: `f[$(touch ${MARK})]`, running: true, role: "" }]);
        await healthyJobs(JOBS_1);
        await healthyJobs(JOBS_2);
        const r = await proof();
        expect(fs.existsSync(MARK)).toBe(false);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/note: container [0-9a-f]{12} has a hostname that is not a valid hostname; not checked/);
        expect(r.stdout).not.toContain("touch");
    });

    test("psql output the proof does not understand is never evaluated: it fails, and nothing runs", async () => {
        await healthyJobs(JOBS_1);
        await healthyJobs(JOBS_2);
        // a container whose psql prints what the proof's query never would
        const fakePsql = `#!/bin/sh\ncat >/dev/null\nprintf '%s\\n' 'host 1 ok 1 2 2 1 4 4 1 -1 59 fork' 'host 2 ok 1 f[$(touch ${MARK})] 2 1 4 4 1 -1 59 fork' 'dispatchers 2'\n`;
        await docker.run(["rm", "-f", "hostile-psql"]);
        await docker.ok(["run", "--detach", "--name", "hostile-psql", appImage, "bash", "-c", `printf '%s' '${Buffer.from(fakePsql).toString("base64")}' | base64 -d > /usr/local/bin/psql; chmod +x /usr/local/bin/psql; exec sleep 3600`]);
        await new Promise((r) => setTimeout(r, 1000));
        const r = await proof({ CONTAINER: "hostile-psql" });
        await docker.run(["rm", "-f", "hostile-psql"]);
        expect(fs.existsSync(MARK)).toBe(false);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/the proof query returned output it does not understand \(\d+ bytes\); not evaluated/);
        expect(r.stderr).not.toContain("touch");
    });
});

describe("jobs-proof.sh: polling and parameters", () => {
    test("a start time of 'unknown' (jobs-start's output was not passed on) is refused: without a lower bound an earlier container's rows would count", async () => {
        await healthyJobs(JOBS_1, { createdAgo: 900, beatAgo: 30 });
        const r = await proof({ JOBS_HOSTS: `${JOBS_1},unknown` });
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`JOBS_HOSTS item '${JOBS_1},unknown': SINCE must be a docker time in UTC`);
    });

    test("passes once the workers register and beat while it polls", async () => {
        // Register only after the proof's first query ran (bounded wait), so it has to poll again:
        // its psql session's end shows in the queue database's session count.
        const sessions = () => pg.psql(`SELECT sessions FROM pg_stat_database WHERE datname = '${QUEUE_DB}'`);
        const before = Number(await sessions());
        const running = proof({ JOBS_HOSTS: `${JOBS_1},${startedAt()}`, TIMEOUT_SECONDS: 15, INTERVAL_SECONDS: 1 });
        for (let i = 0; i < 100 && Number(await sessions()) <= before; i++) await new Promise((resolve) => setTimeout(resolve, 100));
        await healthyJobs(JOBS_1);
        const r = await running;
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/after \d+s \(([2-9]|\d\d) attempt\(s\)\)/);
    });

    test("a queue database without Solid Queue's tables: the psql error and the db:schema:load:queue hint", async () => {
        await pg.createDatabase("empty_queue").catch(() => undefined);
        const r = await proof({ QUEUE_DB: "empty_queue" });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/relation "solid_queue_processes" does not exist/);
        expect(r.stderr).toContain("bin/rails db:schema:load:queue");
    });

    test("refuses malformed numbers, host lists and start times without querying", async () => {
        for (const [over, message] of [
            [{ TIMEOUT_SECONDS: "soon" }, /TIMEOUT_SECONDS must be a whole number, got 'soon'/],
            [{ JOB_CONCURRENCY: "2)); touch /tmp/x; ((1" }, /JOB_CONCURRENCY must be a whole number/],
            [{ JOBS_HOSTS: " " }, /JOBS_HOSTS is empty/],
            [{ JOBS_HOSTS: `${JOBS_1},yesterday` }, /SINCE must be a docker time in UTC/],
            [{ JOBS_HOSTS: `$(id),${startedAt()}` }, /must be HOSTNAME,SINCE with a valid container hostname/],
        ] as const) {
            const r = await proof(over as ScriptParams);
            expect(r.code).toBe(2);
            expect(r.stderr).toMatch(message);
        }
        expect(await engineState()).toBe(stateBefore);
    });
});
