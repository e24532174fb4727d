/**
 * `npm run ops` for real: the CLI's main() runs the local `ssh` against real OpenSSH servers
 * on 127.0.0.1 (one per host: the web host and a jobs host, the jobs host reached through
 * the web host with ProxyCommand as without the Pulumi CLI, or directly as with the stack
 * outputs). Each host has its own private Docker engine (tests/support/docker.ts): the web
 * host runs the web container (the app stand-in), kamal-proxy (its stand-in) and the Postgres
 * container holding Solid Queue's tables with a fixture of live, stale, claimed and failed
 * rows; the jobs host runs a jobs container. A third host on a closed 127.0.0.1 port stands
 * for one that does not answer.
 */
import * as fs from "fs";
import * as path from "path";
import { main, OpsIo } from "../../scripts/ops/main";
import { TestDocker } from "../support/docker";
import {
    ContainerPostgres,
    execLocal,
    freePort,
    HARNESS_START_TIMEOUT_MS,
    loadSolidQueueSchema,
    RemoteHost,
    SshServer,
    startRemoteHost,
    TEST_SSH_USER,
    testScratchDir,
} from "../support/integration";

jest.setTimeout(90_000);

const QUEUE_DB = "shred_day_production_queue";
const PRIMARY_DB = "shred_day_production";
const WEB = "shred-day-web";
const JOBS = "shred-day-jobs-ubuntu";
const JOBS2 = "shred-day-jobs-2";
const IMAGE = "ghcr.io/shred-day/shred-day:v2";
/** The container hostnames release.ts gives (`<host>-<release>`). */
const WEB_HOSTNAME = `${WEB}-0123456789`;
const JOBS_HOSTNAME = `${JOBS}-0123456789`;

let webHost: RemoteHost;
let jobsHost: RemoteHost;
let pg: ContainerPostgres;
let webDocker: TestDocker;
let jobsDocker: TestDocker;
let web: SshServer;
let jobs: SshServer;
let dir: string;
let closedPort: number;
let meminfo: string;

function stackFile(name: string, jobsHosts: { name: string; privateIp: string }[]): void {
    const hosts = jobsHosts.map((h) => `      - { name: ${h.name}, privateIp: ${h.privateIp} }`).join("\n");
    fs.writeFileSync(
        path.join(dir, `Pulumi.${name}.yaml`),
        `config:
  shred-day:location: fsn1
  shred-day:ssh: { user: ${TEST_SSH_USER}, keyNames: [shred-day-deploy], adminCidrs: [203.0.113.7/32] }
  shred-day:web: { name: ${WEB}, publicIp: 127.0.0.1, privateIp: 10.0.0.3, serverType: cpx21, image: ubuntu-24.04, appHost: shred.day }
  shred-day:jobs:
    serverType: cpx21
    image: ubuntu-24.04
    concurrency: 2
    hosts:
${hosts}
  shred-day:postgres:
    image: postgres:15
    dataDir: /var/lib/shred-day/postgres
    user: shred_day
    databases: [${PRIMARY_DB}, ${QUEUE_DB}]
  shred-day:postgresPassword: { secure: v1:abc }
`,
    );
}

beforeAll(async () => {
    dir = testScratchDir("ops");
    meminfo = path.join(dir, "meminfo");
    // 4 GiB, 1.5 GiB available (62% used), 1 GiB swap with 768 MiB free
    fs.writeFileSync(meminfo, "MemTotal:        4194304 kB\nMemFree:          524288 kB\nMemAvailable:    1572864 kB\nSwapTotal:       1048576 kB\nSwapFree:         786432 kB\n");
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(meminfo, 0o644);
    [webHost, jobsHost] = await Promise.all([
        startRemoteHost({ env: (base) => ({ ...base, MEMINFO: meminfo }) }),
        startRemoteHost({ postgres: false, env: (base) => ({ ...base, MEMINFO: meminfo }) }),
    ]);
    ({ pg, docker: webDocker, ssh: web } = webHost);
    ({ docker: jobsDocker, ssh: jobs } = jobsHost);
    await pg.createDatabase(PRIMARY_DB);
    await loadSolidQueueSchema(pg, QUEUE_DB);
    for (const d of [webDocker, jobsDocker]) await d.tag(await d.image("app"), IMAGE);
    await webDocker.tag(await webDocker.image("kamal-proxy"), "basecamp/kamal-proxy:v0.9.0");
    // One key for both hosts, as the deploy key is on every server.
    fs.appendFileSync(path.join(path.dirname(jobs.keyFile), "authorized_keys"), fs.readFileSync(`${web.keyFile}.pub`));
    fs.writeFileSync(path.join(dir, "known_hosts"), fs.readFileSync(web.knownHostsFile, "utf8") + fs.readFileSync(jobs.knownHostsFile, "utf8"));
    closedPort = await freePort();
    stackFile("ok", [{ name: JOBS, privateIp: "127.0.0.1" }]);
    stackFile("two", [
        { name: JOBS, privateIp: "127.0.0.1" },
        { name: JOBS2, privateIp: "10.0.0.4" },
    ]);
    stackFile("noqueue", [{ name: JOBS, privateIp: "127.0.0.1" }]);
    fs.writeFileSync(
        path.join(dir, "Pulumi.noqueue.yaml"),
        fs.readFileSync(path.join(dir, "Pulumi.noqueue.yaml"), "utf8").replace(`${QUEUE_DB}]`, "shred_day_missing_queue]"),
    );
    await webDocker.ok(["run", "--detach", "--name", "kamal-proxy", "--label", "service=kamal-proxy", "basecamp/kamal-proxy:v0.9.0"]);
}, HARNESS_START_TIMEOUT_MS);

afterAll(async () => {
    await Promise.all([webHost?.stop(), jobsHost?.stop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});


/**
 * The containers each host runs, made real: the web host's web container (healthy, or
 * unhealthy: a HEALTHCHECK the engine runs every second), the jobs host's worker container
 * (a process that sleeps: it must not register in the queue fixture). Recreated only when the
 * wanted variant differs from what runs.
 */
async function dockerFixture(opts: { jobsContainer?: boolean; webHealth?: "healthy" | "unhealthy" } = {}): Promise<void> {
    const health = opts.webHealth ?? "healthy";
    const webName = "shred-day-web-0123456789";
    const current = await webDocker.run(["inspect", "--format", '{{index .Config.Labels "fixture-health"}}', webName]);
    if (current.code !== 0 || current.stdout.trim() !== health) {
        await webDocker.run(["rm", "-f", webName]);
        await webDocker.ok([
            "run", "--detach", "--name", webName, "--hostname", WEB_HOSTNAME, "--label", "service=shred-day", "--label", "role=web",
            "--label", `fixture-health=${health}`, "--health-cmd", health === "healthy" ? "true" : "false", "--health-interval", "1s", "--health-retries", "1",
            IMAGE,
        ]);
    }
    for (let i = 0; i < 40; i++) {
        if ((await webDocker.ok(["inspect", "--format", "{{.State.Health.Status}}", webName])) === health) break;
        await new Promise((r) => setTimeout(r, 250));
    }
    const jobsName = "shred-day-jobs-0123456789";
    const jobsState = await jobsDocker.run(["inspect", "--format", "{{.State.Running}}", jobsName]);
    if (jobsState.code === 0 && jobsState.stdout.trim() !== "true") await jobsDocker.ok(["rm", "-f", jobsName]);
    const haveJobs = jobsState.code === 0 && jobsState.stdout.trim() === "true";
    if (opts.jobsContainer === false && haveJobs) await jobsDocker.ok(["rm", "-f", jobsName]);
    if (opts.jobsContainer !== false && !haveJobs) {
        await jobsDocker.ok(["run", "--detach", "--name", jobsName, "--hostname", JOBS_HOSTNAME, "--label", "service=shred-day", "--label", "role=jobs", IMAGE, "bash", "-c", 'echo "jobs line 1"; echo "jobs line 2"; exec sleep 100000']);
    }
}


/**
 * The queue database fixture: on the jobs host's current release a live supervisor, two
 * workers and a dispatcher; a worker of the previous release with a 10-minute-old heartbeat
 * (stale); Kamal's old in-Puma supervisor on the web host, an hour stale. Jobs: 3 ready
 * (oldest 5m 30s), 2 scheduled (1 due 2 minutes ago), 2 claimed (1 by the stale worker),
 * 2 failed, 1 blocked.
 */
async function queueFixture(extraSql = ""): Promise<void> {
    const ago = (s: number) => `(now() AT TIME ZONE 'UTC') - interval '${s} seconds'`;
    await pg.psql(
        `TRUNCATE solid_queue_processes, solid_queue_jobs, solid_queue_ready_executions, solid_queue_scheduled_executions,
                  solid_queue_claimed_executions, solid_queue_failed_executions, solid_queue_blocked_executions, solid_queue_pauses RESTART IDENTITY CASCADE;
         INSERT INTO solid_queue_processes (id, kind, last_heartbeat_at, supervisor_id, pid, hostname, metadata, created_at, name) VALUES
           (1, 'Supervisor(fork)', ${ago(20)}, NULL, 1, '${JOBS_HOSTNAME}', '{}', ${ago(7400)}, 'supervisor-aaa'),
           (2, 'Worker', ${ago(20)}, 1, 11, '${JOBS_HOSTNAME}', '{"queues":"*"}', ${ago(7400)}, 'worker-bbb'),
           (3, 'Worker', ${ago(30)}, 1, 12, '${JOBS_HOSTNAME}', '{"queues":"*"}', ${ago(7400)}, 'worker-ccc'),
           (4, 'Dispatcher', ${ago(20)}, 1, 13, '${JOBS_HOSTNAME}', '{}', ${ago(7400)}, 'dispatcher-ddd'),
           (5, 'Worker', ${ago(600)}, NULL, 9, '${JOBS}-ffffffffff', '{}', ${ago(90000)}, 'worker-old'),
           (6, 'Supervisor(async)', ${ago(3600)}, NULL, 1, '10.0.0.3-1a2b3c4d5e6f', '{}', ${ago(900000)}, 'supervisor-puma');
         SELECT setval('solid_queue_processes_id_seq', 6);
         INSERT INTO solid_queue_jobs (id, queue_name, class_name, arguments, priority, created_at, updated_at, scheduled_at) VALUES
           (1, 'default', 'NotifyJob', '{}', 0, ${ago(330)}, ${ago(330)}, NULL),
           (2, 'default', 'NotifyJob', '{}', 0, ${ago(60)}, ${ago(60)}, NULL),
           (3, 'active_storage_transform', 'ActiveStorage::TransformJob', '{}', 0, ${ago(10)}, ${ago(10)}, NULL),
           (4, 'default', 'ReminderJob', '{}', 0, ${ago(900)}, ${ago(900)}, ${ago(120)}),
           (5, 'default', 'ReminderJob', '{}', 0, ${ago(900)}, ${ago(900)}, ${ago(-3600)}),
           (6, 'default', 'ImportJob', '{}', 0, ${ago(40)}, ${ago(40)}, NULL),
           (7, 'default', 'ImportJob', '{}', 0, ${ago(700)}, ${ago(700)}, NULL),
           (8, 'default', 'BrokenJob', '{}', 0, ${ago(5000)}, ${ago(5000)}, NULL),
           (9, 'default', 'BrokenJob', '{}', 0, ${ago(4000)}, ${ago(4000)}, NULL),
           (10, 'default', 'ExclusiveJob', '{}', 0, ${ago(30)}, ${ago(30)}, NULL);
         INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at) VALUES
           (1, 'default', 0, ${ago(330)}), (2, 'default', 0, ${ago(60)}), (3, 'active_storage_transform', 0, ${ago(10)});
         INSERT INTO solid_queue_scheduled_executions (job_id, queue_name, priority, scheduled_at, created_at) VALUES
           (4, 'default', 0, ${ago(120)}, ${ago(900)}), (5, 'default', 0, ${ago(-3600)}, ${ago(900)});
         INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at) VALUES (6, 2, ${ago(40)}), (7, 5, ${ago(700)});
         INSERT INTO solid_queue_failed_executions (job_id, error, created_at) VALUES
           (8, '{"exception_class":"RuntimeError","message":"boom"}', ${ago(5000)}), (9, '{"exception_class":"RuntimeError","message":"boom"}', ${ago(4000)});
         INSERT INTO solid_queue_blocked_executions (job_id, queue_name, priority, concurrency_key, expires_at, created_at) VALUES
           (10, 'default', 0, 'ExclusiveJob/1', ${ago(-600)}, ${ago(30)});
         ${extraSql}`,
        QUEUE_DB,
    );
}

beforeEach(async () => {
    await dockerFixture();
    await queueFixture();
});

interface Run {
    code: number;
    out: string;
    err: string;
}

/** main() in this process, with ssh pointed at the test servers: the key, their host keys, -F /dev/null. */
async function ops(args: string[], opts: { stdin?: string; jobsPort?: number; webPort?: number } = {}): Promise<Run> {
    let out = "";
    let err = "";
    const env = { ...process.env };
    delete env.SSH_AUTH_SOCK;
    const io: OpsIo = { out: (s) => (out += s), err: (s) => (err += s), env, inherit: false, isTTY: false, ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }) };
    const code = await main(
        [
            ...args,
            "--project-dir",
            dir,
            "--identity",
            web.keyFile,
            "--ssh-config",
            "/dev/null",
            "--ssh-option",
            `UserKnownHostsFile=${path.join(dir, "known_hosts")}`,
            "--ssh-option",
            "StrictHostKeyChecking=yes",
            "--ssh-option",
            "KexAlgorithms=curve25519-sha256",
            "--host-ip",
            `${WEB}=127.0.0.1:${opts.webPort ?? web.port}`,
            "--ssh-port",
            String(opts.jobsPort ?? jobs.port),
        ],
        io,
    );
    return { code, out, err };
}

/** Containers (id, state, start time) and images of a host: unchanged by a read-only command. */
async function engineState(d: TestDocker): Promise<string> {
    return [
        await d.ok(["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.State}}"]),
        await d.ok(["images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"]),
    ].map((t) => t.split("\n").sort().join("\n")).join("\n--\n");
}

/**
 * The report with what moves between runs made fixed: the ports of the test servers, ages up
 * to 9 s older than the fixture's (every fixture age is a multiple of 10 s), and the container
 * tables (real containers: their UP is how long ago the test started them) as
 * "NAME | IMAGE | STATE | UP | HEALTH" rows with UP replaced.
 */
function settle(out: string): string {
    const lines = out.split("\n");
    let inTable = false;
    const fixed = lines.map((line) => {
        if (line === "  containers:") {
            inTable = true;
            return line;
        }
        if (inTable && line.startsWith("    ")) {
            const cols = line.trim().split(/\s{2,}/);
            if (cols[0] !== "NAME") cols[3] = "UP";
            return `    ${cols.join(" | ")}`;
        }
        inTable = false;
        return line;
    });
    return fixed
        .join("\n")
        .replace(new RegExp(`127\\.0\\.0\\.1:${web.port}\\b`, "g"), "127.0.0.1:WEB_PORT")
        .replace(new RegExp(`127\\.0\\.0\\.1:${jobs.port}\\b`, "g"), "127.0.0.1:JOBS_PORT")
        .replace(/\b(\d+)s\b/g, (_, n) => `${Number(n) - (Number(n) % 10)}s`);
}

/** `ops status` on the fixture (ports, clock and container ages settled). */
const FIXTURE_STATUS = `hosts from Pulumi.ok.yaml; queue database shred_day_production_queue in shred-day-postgres
note: jobs hosts are reached through shred-day-web at their private IPs (no public IPs without the stack outputs)

shred-day-web (web, 127.0.0.1:WEB_PORT, private 10.0.0.3)
  memory: 2.5 GiB of 4.0 GiB used (63%), swap 256.0 MiB of 1.0 GiB
  containers:
    NAME | IMAGE | STATE | UP | HEALTH
    kamal-proxy | basecamp/kamal-proxy:v0.9.0 | running | UP | -
    shred-day-postgres | postgres:15 | running | UP | -
    shred-day-web-0123456789 | ghcr.io/shred-day/shred-day:v2 | running | UP | healthy
  solid queue: 0 live, 1 stale
    KIND               HOSTNAME               PID  HEARTBEAT
    Supervisor(async)  10.0.0.3-1a2b3c4d5e6f  1    1h 0m ago (stale)

shred-day-jobs-ubuntu (jobs, 127.0.0.1:JOBS_PORT via shred-day-web, private 127.0.0.1)
  memory: 2.5 GiB of 4.0 GiB used (63%), swap 256.0 MiB of 1.0 GiB
  containers:
    NAME | IMAGE | STATE | UP | HEALTH
    shred-day-jobs-0123456789 | ghcr.io/shred-day/shred-day:v2 | running | UP | -
  solid queue: 4 live, 1 stale
    KIND              HOSTNAME                          PID  HEARTBEAT
    Supervisor(fork)  shred-day-jobs-ubuntu-0123456789  1    20s ago
    Worker            shred-day-jobs-ubuntu-0123456789  11   20s ago
    Worker            shred-day-jobs-ubuntu-0123456789  12   30s ago
    Dispatcher        shred-day-jobs-ubuntu-0123456789  13   20s ago
    Worker            shred-day-jobs-ubuntu-ffffffffff  9    10m 0s ago (stale)

queue shred_day_production_queue:
  ready 3 (oldest waiting 5m 30s), scheduled 2 (1 due, up to 2m 0s late), claimed 2 (1 by gone processes), failed 2, blocked 1
  ready by queue: active_storage_transform 1 (oldest 10s), default 2 (oldest 5m 30s)

healthy
  warning: 2 failed job(s) (solid_queue_failed_executions; those of pruned processes fail with SolidQueue::Processes::ProcessPrunedError): look at them, then retry (bin/rails runner 'SolidQueue::FailedExecution.retry_all(SolidQueue::FailedExecution.all.map(&:job))' via npm run ops -- console) or discard
  warning: the oldest ready job has waited 5m 30s: workers are behind or not taking this queue
  warning: 1 claimed job(s) held by processes that are gone; when Solid Queue prunes those processes (heartbeat older than 5 min) it marks these jobs FAILED (ProcessPrunedError), not released: retry them then
`;

describe("ops status", () => {
    test("healthy stack: exact counts, processes per host, containers as the engines list them, web memory; read-only; exit 0", async () => {
        const before = [await engineState(webDocker), await engineState(jobsDocker)];
        const r = await ops(["status", "--stack", "ok", "--no-pulumi"]);
        expect([await engineState(webDocker), await engineState(jobsDocker)]).toEqual(before);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(settle(r.out)).toBe(FIXTURE_STATUS);
        expect(r.out).not.toContain("problem:");

    });

    test("a host that does not answer is reported, the others are still shown; exit 1", async () => {
        const r = await ops(["status", "--stack", "two", "--no-pulumi", "--host-ip", `${JOBS2}=127.0.0.1:${closedPort}`]);
        expect(r.code).toBe(1);
        expect(r.out).toContain(`${JOBS2} (jobs, 127.0.0.1:${closedPort}, private 10.0.0.4)\n  did not answer: ssh: connect to host 127.0.0.1 port ${closedPort}: Connection refused\n`);
        expect(r.out).toContain(`  problem: ${JOBS2}: did not answer (ssh: connect to host 127.0.0.1 port ${closedPort}: Connection refused)`);
        // no processes of its own either
        expect(r.out).toContain(`  problem: ${JOBS2}: no live Solid Queue supervisor`);
        // the rest is all there
        expect(r.out).toContain("  solid queue: 4 live, 1 stale");
        expect(r.out).toMatch(/ready 3 .*, failed 2, blocked 1\n/);
        expect(r.out).toContain("UNHEALTHY: 3 problem(s)");
    });

    test("the web host does not answer: the jobs host behind it is not reached, the queue is unknown; exit 1", async () => {
        const r = await ops(["status", "--stack", "ok", "--no-pulumi"], { webPort: closedPort });
        expect(r.code).toBe(1);
        expect(r.out).toContain(`${WEB} (web, 127.0.0.1:${closedPort}, private 10.0.0.3)\n  did not answer: ssh: connect to host 127.0.0.1 port ${closedPort}: Connection refused\n`);
        expect(r.out).toContain(`${JOBS} (jobs, 127.0.0.1:${jobs.port} via ${WEB}, private 127.0.0.1)\n  did not answer: not reached: it is reached through ${WEB}, which did not answer\n`);
        expect(r.out).toContain(`queue ${QUEUE_DB}: unknown (ssh: connect to host 127.0.0.1 port ${closedPort}: Connection refused)`);
        expect(r.out).toContain("UNHEALTHY: 2 problem(s)");
    });

    test("a live Solid Queue process on the web host (SOLID_QUEUE_IN_PUMA) is unhealthy; exit 1", async () => {
        await pg.psql(
            `INSERT INTO solid_queue_processes (kind, last_heartbeat_at, supervisor_id, pid, hostname, metadata, created_at, name)
             VALUES ('Supervisor(async)', now() AT TIME ZONE 'UTC', NULL, 1, '${WEB_HOSTNAME}', '{}', now() AT TIME ZONE 'UTC', 'puma-sup')`,
            QUEUE_DB,
        );
        const r = await ops(["status", "--stack", "ok", "--no-pulumi"]);
        expect(r.code).toBe(1);
        expect(r.out).toContain(
            `  problem: ${WEB}: 1 live Solid Queue process(es) registered from the web host (Supervisor(async) ${WEB_HOSTNAME}): jobs must run on the jobs hosts only; is SOLID_QUEUE_IN_PUMA still set, or a Kamal container still running?`,
        );
    });

    test("a jobs host whose workers went stale and whose container is gone is unhealthy; exit 1", async () => {
        await dockerFixture({ jobsContainer: false });
        await pg.psql(`UPDATE solid_queue_processes SET last_heartbeat_at = last_heartbeat_at - interval '6 minutes' WHERE kind = 'Worker'`, QUEUE_DB);
        const r = await ops(["status", "--stack", "ok", "--no-pulumi"]);
        expect(r.code).toBe(1);
        expect(r.out).toContain(`${JOBS} (jobs, 127.0.0.1:${jobs.port} via ${WEB}, private 127.0.0.1)\n  memory:`);
        expect(r.out).toContain("  containers: none running\n");
        expect(r.out).toContain("  solid queue: 2 live, 3 stale");
        expect(r.out.split("\n").filter((l) => l.startsWith("  problem:"))).toEqual([
            `  problem: ${JOBS}: no shred-day jobs container is running`,
            `  problem: ${JOBS}: no live Solid Queue worker`,
        ]);
    });

    test("an unhealthy container and an unreadable queue database are problems; exit 1", async () => {
        await dockerFixture({ webHealth: "unhealthy" });
        const r = await ops(["status", "--stack", "noqueue", "--no-pulumi"]);
        expect(r.code).toBe(1);
        expect(r.out).toContain("  problem: shred-day-web: container shred-day-web-0123456789 is unhealthy");
        expect(r.out).toMatch(/ {2}problem: queue database shred_day_missing_queue: not readable: .*database "shred_day_missing_queue" does not exist/);
        expect(r.out).toMatch(/queue shred_day_missing_queue: unknown \(.*does not exist\)/);
    });

    test("with the stack outputs the jobs hosts are reached directly at their public IP; --json gives the same report", async () => {
        const outputs = path.join(dir, "outputs.json");
        fs.writeFileSync(
            outputs,
            JSON.stringify({
                hosts: {
                    [WEB]: { role: "web", publicIp: "127.0.0.1", privateIp: "10.0.0.3", ssh: `ssh ${TEST_SSH_USER}@127.0.0.1` },
                    [JOBS]: { role: "jobs", publicIp: "127.0.0.1", privateIp: "10.0.0.2", ssh: `ssh ${TEST_SSH_USER}@127.0.0.1` },
                },
                logs: {},
            }),
        );
        const r = await ops(["status", "--stack", "ok", "--outputs", outputs, "--json"]);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        const report = JSON.parse(r.out);
        expect(report.healthy).toBe(true);
        expect(report.hosts.map((h: any) => [h.name, h.address, h.via, h.reachable])).toEqual([
            [WEB, "127.0.0.1", null, true],
            [JOBS, "127.0.0.1", null, true],
        ]);
        expect(report.hosts[1].processes.map((p: any) => p.kind)).toEqual(["Supervisor(fork)", "Worker", "Worker", "Dispatcher", "Worker"]);
        expect(report.queue.jobs).toMatchObject({
            ready: { count: 3 },
            scheduled: { count: 2 },
            scheduled_due: { count: 1 },
            claimed: { count: 2 },
            claimed_orphaned: { count: 1 },
            failed: { count: 2 },
            blocked: { count: 1 },
        });
        expect(report.hosts[0].memory).toEqual({ total: 4294967296, available: 1610612736, swapTotal: 1073741824, swapFree: 805306368 });
    });
});

describe("ops logs, console, dbconsole", () => {
    test("logs jobs: the newest jobs container on every jobs host; an unreachable one is reported; exit 1", async () => {
        const r = await ops(["logs", "jobs", "--stack", "two", "--no-pulumi", "--host-ip", `${JOBS2}=127.0.0.1:${closedPort}`]);
        expect(r.code).toBe(1);
        expect(r.out).toMatch(new RegExp(`== ${JOBS} ==\\n\\S+Z jobs line 1\\n\\S+Z jobs line 2\\n== ${JOBS2} ==\\n`));
        expect(r.err).toContain(`ops: ${JOBS2} did not answer: ssh: connect to host 127.0.0.1 port ${closedPort}: Connection refused`);
    });

    test("logs jobs --follow on several hosts prefixes every line with its host (it follows until the container stops)", async () => {
        // on the real engine --follow lasts as long as the container: this one stops after a few seconds
        await jobsDocker.ok(["rm", "-f", "shred-day-jobs-0123456789"]);
        await jobsDocker.ok(["run", "--detach", "--name", "shred-day-jobs-0123456789", "--hostname", JOBS_HOSTNAME, "--label", "service=shred-day", "--label", "role=jobs", IMAGE, "bash", "-c", 'echo "jobs line 1"; echo "jobs line 2"; sleep 4']);
        const r = await ops(["logs", "jobs", "--follow", "--since", "10m", "--stack", "two", "--no-pulumi", "--host-ip", `${JOBS2}=127.0.0.1:${closedPort}`]);
        expect(r.code).toBe(1);
        expect(r.out).toMatch(new RegExp(`^\\[${JOBS}\\] \\S+Z jobs line 1\\n\\[${JOBS}\\] \\S+Z jobs line 2\\n`));
        expect(r.err).toContain(`[${JOBS2}] did not answer`);
    }, 120_000);

    test("logs postgres and proxy: the fixed containers on the web host; logs web by label", async () => {
        const pgLogs = await ops(["logs", "postgres", "--tail", "5", "--stack", "ok", "--no-pulumi"]);
        expect(pgLogs.code).toBe(0);
        // Postgres logs to stderr: ops passes both streams on
        expect(pgLogs.out + pgLogs.err).toMatch(/database system is ready to accept connections/);
        const proxy = await ops(["logs", "proxy", "--stack", "ok", "--no-pulumi"]);
        expect(proxy.code).toBe(0);
        expect(proxy.out + proxy.err).toContain("kamal-proxy (stand-in): serving on :80");
        const webLogs = await ops(["logs", "web", "--stack", "ok", "--no-pulumi"]);
        expect(webLogs.code).toBe(0);
        expect(webLogs.out + webLogs.err).toContain(`standin-web: listening on 80 as ${WEB_HOSTNAME}`);
    });

    test("logs of a container that is not there: exit 1 with the reason", async () => {
        await dockerFixture({ jobsContainer: false });
        const r = await ops(["logs", "jobs", "--stack", "ok", "--no-pulumi"]);
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/ops-logs: no shred-day jobs container on .*, running or stopped/);
    });

    test("console: a one-off container of the running jobs image with the jobs env file, on the jobs host: the real CLI reads the env file on the host, so a missing one stops it before anything runs", async () => {
        const before = await engineState(jobsDocker);
        const r = await ops(["console", "--stack", "ok", "--no-pulumi"]);
        expect(r.code).not.toBe(0);
        // ops-console.sh names the image it runs (the running jobs container's) and the env file before docker run
        expect(r.err).toMatch(new RegExp(`^ops-console: ${IMAGE.replace(/[.:/]/g, "\\$&")} on \\S+, env from /etc/shred-day/jobs\\.env$`, "m"));
        expect(r.err).toContain("open /etc/shred-day/jobs.env: no such file or directory");
        expect(await engineState(jobsDocker)).toBe(before);
        // --image overrides the running container's image
        const other = await ops(["console", "--image", "ghcr.io/shred-day/shred-day:v1", "--stack", "ok", "--no-pulumi"]);
        expect(other.code).not.toBe(0);
        expect(other.err).toMatch(/^ops-console: ghcr\.io\/shred-day\/shred-day:v1 on \S+, env from \/etc\/shred-day\/jobs\.env$/m);
        expect(other.err).not.toContain(`ops-console: ${IMAGE} `);
        expect(await engineState(jobsDocker)).toBe(before);
    });

    test("dbconsole --queue: psql in the Postgres container on the queue database", async () => {
        const r = await ops(["dbconsole", "--queue", "--stack", "ok", "--no-pulumi"], { stdin: "SELECT count(*) FROM solid_queue_failed_executions;\n" });
        expect(r.code).toBe(0);
        expect(r.out.trim().split("\n")).toContain("     2");
        const primary = await ops(["dbconsole", "--stack", "ok", "--no-pulumi"], { stdin: "SELECT current_database();\n" });
        expect(primary.out).toContain(PRIMARY_DB);
    });
});

describe("the ops entry point", () => {
    test("scripts/ops.ts sets the exit code: 2 on a usage error", async () => {
        const tsNode = path.join(__dirname, "..", "..", "node_modules", ".bin", "ts-node");
        const root = path.join(__dirname, "..", "..");
        const bad = await execLocal(tsNode, ["-T", "scripts/ops.ts", "logs", "db"], { cwd: root });
        expect(bad.code).toBe(2);
        expect(bad.stderr).toContain("ops: logs needs one of: web, jobs, postgres, proxy (got 'db')");
    });
});
