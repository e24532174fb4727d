/**
 * `npm run ops` for real: the CLI's main() runs the local `ssh` against real OpenSSH servers
 * on 127.0.0.1 (one per host: the web host and a jobs host, the jobs host reached through
 * the web host with ProxyCommand as without the Pulumi CLI, or directly as with the stack
 * outputs), and the web host's status script queries a real PostgreSQL holding Solid Queue's
 * tables with a fixture of live, stale, claimed and failed rows. No Docker engine runs: each
 * host has its own recording docker test double that lists fixed containers and forwards
 * `docker exec shred-day-postgres psql ...` to the PostgreSQL; tests that rely on it say
 * "(docker test double)". A third host on a closed 127.0.0.1 port stands for one that does
 * not answer.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main, OpsIo } from "../../scripts/ops/main";
import {
    createDockerDouble,
    DockerDouble,
    execLocal,
    freePort,
    HARNESS_START_TIMEOUT_MS,
    loadSolidQueueSchema,
    SshServer,
    startPostgres,
    startSshd,
    TestPostgres,
} from "../support/integration";

jest.setTimeout(60_000);

const QUEUE_DB = "shred_day_production_queue";
const PRIMARY_DB = "shred_day_production";
const WEB = "shred-day-web";
const JOBS = "shred-day-jobs-ubuntu";
const JOBS2 = "shred-day-jobs-2";
const IMAGE = "ghcr.io/shred-day/shred-day:v2";
/** The container hostnames release.ts gives (`<host>-<release>`). */
const WEB_HOSTNAME = `${WEB}-0123456789`;
const JOBS_HOSTNAME = `${JOBS}-0123456789`;

let pg: TestPostgres;
let webDocker: DockerDouble;
let jobsDocker: DockerDouble;
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
  shred-day:ssh: { user: root, keyNames: [shred-day-deploy], adminCidrs: [203.0.113.7/32] }
  shred-day:web: { name: ${WEB}, publicIp: 127.0.0.1, privateIp: 10.0.0.3, serverType: cpx21, image: ubuntu-24.04, appHost: shred.day }
  shred-day:jobs:
    serverType: cpx21
    image: ubuntu-24.04
    concurrency: 2
    hosts:
${hosts}
  shred-day:postgres:
    image: postgres:16
    dataDir: /var/lib/shred-day/postgres
    user: shred_day
    databases: [${PRIMARY_DB}, ${QUEUE_DB}]
  shred-day:postgresPassword: { secure: v1:abc }
`,
    );
}

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-ops-"));
    meminfo = path.join(dir, "meminfo");
    // 4 GiB, 1.5 GiB available (62% used), 1 GiB swap with 768 MiB free
    fs.writeFileSync(meminfo, "MemTotal:        4194304 kB\nMemFree:          524288 kB\nMemAvailable:    1572864 kB\nSwapTotal:       1048576 kB\nSwapFree:         786432 kB\n");
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(meminfo, 0o644);
    pg = await startPostgres();
    await pg.createDatabase(PRIMARY_DB);
    await loadSolidQueueSchema(pg, QUEUE_DB);
    webDocker = createDockerDouble(pg);
    jobsDocker = createDockerDouble();
    [web, jobs] = await Promise.all([startSshd({ env: { ...webDocker.env, MEMINFO: meminfo } }), startSshd({ env: { ...jobsDocker.env, MEMINFO: meminfo } })]);
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
}, HARNESS_START_TIMEOUT_MS);

afterAll(async () => {
    await Promise.all([web?.stop(), jobs?.stop()]);
    webDocker?.dispose();
    jobsDocker?.dispose();
    await pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const iso = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString().replace("Z", "123Z");

/** What each host's docker lists: the web host runs web, proxy and Postgres; the jobs host a worker container. */
function dockerFixture(opts: { jobsContainer?: boolean; webHealth?: string } = {}): void {
    const up = iso(2 * 3600 + 5 * 60 + 30);
    const webRows = [
        ["/shred-day-web-0123456789", IMAGE, "running", up, opts.webHealth ?? "healthy", "0", WEB_HOSTNAME, "shred-day", "web"],
        ["/kamal-proxy", "basecamp/kamal-proxy:v0.9.0", "running", iso(12 * 86400 + 3 * 3600 + 60), "", "0", "3f2a9c1b7d0e", "", ""],
        ["/shred-day-postgres", "postgres:16", "running", iso(12 * 86400 + 3 * 3600), "healthy", "0", "9a8b7c6d5e4f", "shred-day", "postgres"],
    ];
    const jobsRows = opts.jobsContainer === false ? [] : [["/shred-day-jobs-0123456789", IMAGE, "running", iso(2 * 3600 + 3 * 60 + 10), "", "0", JOBS_HOSTNAME, "shred-day", "jobs"]];
    for (const [double, rows] of [
        [webDocker, webRows],
        [jobsDocker, jobsRows],
    ] as const) {
        fs.writeFileSync(path.join(double.dir, "inspect.txt"), rows.map((r) => r.join("\t")).join("\n") + (rows.length ? "\n" : ""));
        fs.writeFileSync(path.join(double.dir, "ids.txt"), rows.map((_, i) => `c0ffee${i}`).join("\n") + (rows.length ? "\n" : ""));
        fs.chmodSync(double.dir, 0o755);
        double.respond(`
case "$1" in
  ps)
    if [ "$*" = "ps -q" ]; then cat "$DOCKER_DOUBLE_DIR/ids.txt"; return 0; fi
    # ps --filter label=service=shred-day --filter label=role=ROLE --format ...: the app container of that role
    role=""; for a in "$@"; do case $a in label=role=*) role=\${a#label=role=} ;; esac; done
    grep -F "$(printf '\\tshred-day\\t%s' "$role")" "$DOCKER_DOUBLE_DIR/inspect.txt" | while IFS=$'\\t' read -r name image _; do
      case "$*" in *'{{.Image}}'*) echo "$image" ;; *) echo "\${name#/}" ;; esac
    done
    return 0 ;;
  inspect)
    if [ "$2" = "--format" ] && [ "$3" = "{{.Name}}" ]; then
      n=$4; [ "$n" = "--" ] && n=$5
      grep -q "^/$n	" "$DOCKER_DOUBLE_DIR/inspect.txt" && { echo "/$n"; return 0; }
      echo "Error: No such object: $n" >&2; return 1
    fi
    cat "$DOCKER_DOUBLE_DIR/inspect.txt"; return 0 ;;
  logs)
    name=""; for a in "$@"; do name=$a; done
    printf '2024-05-01T10:00:00.000000000Z %s line 1\\n2024-05-01T10:00:01.000000000Z %s line 2\\n' "$name" "$name"
    return 0 ;;
  run) echo "Loading production environment (Rails 8.0.2)"; return 0 ;;
esac
return 0`);
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
    webDocker.reset();
    jobsDocker.reset();
    dockerFixture();
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

const MUTATING = new Set(["stop", "kill", "rm", "rmi", "update", "restart", "pause", "start", "run", "create", "pull", "prune"]);
const mutating = (calls: string[][]) => calls.filter((c) => MUTATING.has(c[0]) || MUTATING.has(c[1] ?? ""));

/**
 * The report with what moves between runs made fixed: the ports of the test servers, and
 * ages up to 9 s older than the fixture's (every fixture age is a multiple of 10 s).
 */
function settle(out: string): string {
    return out
        .replace(new RegExp(`127\\.0\\.0\\.1:${web.port}\\b`, "g"), "127.0.0.1:WEB_PORT")
        .replace(new RegExp(`127\\.0\\.0\\.1:${jobs.port}\\b`, "g"), "127.0.0.1:JOBS_PORT")
        .replace(/\b(\d+)s\b/g, (_, n) => `${Number(n) - (Number(n) % 10)}s`);
}

/** `ops status` on the fixture (ports and clock settled): the note's verbatim example. */
const FIXTURE_STATUS = `hosts from Pulumi.ok.yaml; queue database shred_day_production_queue in shred-day-postgres
note: jobs hosts are reached through shred-day-web at their private IPs (no public IPs without the stack outputs)

shred-day-web (web, 127.0.0.1:WEB_PORT, private 10.0.0.3)
  memory: 2.5 GiB of 4.0 GiB used (63%), swap 256.0 MiB of 1.0 GiB
  containers:
    NAME                      IMAGE                           STATE    UP      HEALTH
    kamal-proxy               basecamp/kamal-proxy:v0.9.0     running  12d 3h  -
    shred-day-postgres        postgres:16                     running  12d 3h  healthy
    shred-day-web-0123456789  ghcr.io/shred-day/shred-day:v2  running  2h 5m   healthy
  solid queue: 0 live, 1 stale
    KIND               HOSTNAME               PID  HEARTBEAT
    Supervisor(async)  10.0.0.3-1a2b3c4d5e6f  1    1h 0m ago (stale)

shred-day-jobs-ubuntu (jobs, 127.0.0.1:JOBS_PORT via shred-day-web, private 127.0.0.1)
  memory: 2.5 GiB of 4.0 GiB used (63%), swap 256.0 MiB of 1.0 GiB
  containers:
    NAME                       IMAGE                           STATE    UP     HEALTH
    shred-day-jobs-0123456789  ghcr.io/shred-day/shred-day:v2  running  2h 3m  -
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
    test("healthy stack: exact counts, processes per host, containers, web memory; exit 0 (docker test double)", async () => {
        const r = await ops(["status", "--stack", "ok", "--no-pulumi"]);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(settle(r.out)).toBe(FIXTURE_STATUS);
        expect(r.out).not.toContain("problem:");

        // read-only on both hosts: the web host listed, inspected and queried; the jobs host listed and inspected
        const webCalls = webDocker.calls();
        expect(webCalls[0]).toEqual(["ps", "-q"]);
        expect(webCalls[1].slice(0, 2)).toEqual(["inspect", "--format"]);
        expect(webCalls[2]).toEqual(
            expect.arrayContaining(["exec", "-i", "shred-day-postgres", "psql", "-U", "shred_day", "-d", QUEUE_DB, "-At"]),
        );
        expect(webCalls).toHaveLength(3);
        expect(jobsDocker.calls().map((c) => c[0])).toEqual(["ps", "inspect"]);
        expect(mutating([...webCalls, ...jobsDocker.calls()])).toEqual([]);
    });

    test("a host that does not answer is reported, the others are still shown; exit 1 (docker test double)", async () => {
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

    test("a live Solid Queue process on the web host (SOLID_QUEUE_IN_PUMA) is unhealthy; exit 1 (docker test double)", async () => {
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

    test("a jobs host whose workers went stale and whose container is gone is unhealthy; exit 1 (docker test double)", async () => {
        dockerFixture({ jobsContainer: false });
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

    test("an unhealthy container and an unreadable queue database are problems; exit 1 (docker test double)", async () => {
        dockerFixture({ webHealth: "unhealthy" });
        const r = await ops(["status", "--stack", "noqueue", "--no-pulumi"]);
        expect(r.code).toBe(1);
        expect(r.out).toContain("  problem: shred-day-web: container shred-day-web-0123456789 is unhealthy");
        expect(r.out).toMatch(/ {2}problem: queue database shred_day_missing_queue: not readable: .*database "shred_day_missing_queue" does not exist/);
        expect(r.out).toMatch(/queue shred_day_missing_queue: unknown \(.*does not exist\)/);
    });

    test("with the stack outputs the jobs hosts are reached directly at their public IP; --json gives the same report (docker test double)", async () => {
        const outputs = path.join(dir, "outputs.json");
        fs.writeFileSync(
            outputs,
            JSON.stringify({
                hosts: {
                    [WEB]: { role: "web", publicIp: "127.0.0.1", privateIp: "10.0.0.3", ssh: "ssh root@127.0.0.1" },
                    [JOBS]: { role: "jobs", publicIp: "127.0.0.1", privateIp: "10.0.0.2", ssh: "ssh root@127.0.0.1" },
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
    test("logs jobs: the newest jobs container on every jobs host; an unreachable one is reported; exit 1 (docker test double)", async () => {
        const r = await ops(["logs", "jobs", "--stack", "two", "--no-pulumi", "--host-ip", `${JOBS2}=127.0.0.1:${closedPort}`]);
        expect(r.code).toBe(1);
        expect(r.out).toContain(`== ${JOBS} ==\n2024-05-01T10:00:00.000000000Z shred-day-jobs-0123456789 line 1\n2024-05-01T10:00:01.000000000Z shred-day-jobs-0123456789 line 2\n== ${JOBS2} ==\n`);
        expect(r.err).toContain(`ops: ${JOBS2} did not answer: ssh: connect to host 127.0.0.1 port ${closedPort}: Connection refused`);
        expect(jobsDocker.calls()).toEqual([
            ["ps", "--filter", "label=service=shred-day", "--filter", "label=role=jobs", "--format", "{{.Names}}"],
            ["logs", "--timestamps", "--tail", "100", "--", "shred-day-jobs-0123456789"],
        ]);
    });

    test("logs jobs --follow on several hosts prefixes every line with its host (docker test double)", async () => {
        const r = await ops(["logs", "jobs", "--follow", "--since", "10m", "--stack", "two", "--no-pulumi", "--host-ip", `${JOBS2}=127.0.0.1:${closedPort}`]);
        expect(r.code).toBe(1);
        expect(r.out).toBe(`[${JOBS}] 2024-05-01T10:00:00.000000000Z shred-day-jobs-0123456789 line 1\n[${JOBS}] 2024-05-01T10:00:01.000000000Z shred-day-jobs-0123456789 line 2\n`);
        expect(r.err).toContain(`[${JOBS2}] did not answer`);
        expect(jobsDocker.calls()[1]).toEqual(["logs", "--timestamps", "--follow", "--since", "10m", "--", "shred-day-jobs-0123456789"]);
    });

    test("logs postgres and proxy: the fixed containers on the web host; logs web by label (docker test double)", async () => {
        const pgLogs = await ops(["logs", "postgres", "--tail", "5", "--stack", "ok", "--no-pulumi"]);
        expect(pgLogs.code).toBe(0);
        expect(pgLogs.out).toContain("shred-day-postgres line 1");
        const proxy = await ops(["logs", "proxy", "--stack", "ok", "--no-pulumi"]);
        expect(proxy.code).toBe(0);
        const webLogs = await ops(["logs", "web", "--stack", "ok", "--no-pulumi"]);
        expect(webLogs.out).toContain("shred-day-web-0123456789 line 2");
        expect(webDocker.calls().filter((c) => c[0] === "logs")).toEqual([
            ["logs", "--timestamps", "--tail", "5", "--", "shred-day-postgres"],
            ["logs", "--timestamps", "--tail", "100", "--", "kamal-proxy"],
            ["logs", "--timestamps", "--tail", "100", "--", "shred-day-web-0123456789"],
        ]);
        expect(jobsDocker.calls()).toEqual([]);
    });

    test("logs of a container that is not there: exit 1 with the reason (docker test double)", async () => {
        dockerFixture({ jobsContainer: false });
        const r = await ops(["logs", "jobs", "--stack", "ok", "--no-pulumi"]);
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/ops-logs: no shred-day jobs container on .*, running or stopped/);
    });

    test("console: a one-off container of the running jobs image with the jobs env file, on the jobs host (docker test double)", async () => {
        const r = await ops(["console", "--stack", "ok", "--no-pulumi"]);
        expect(r.code).toBe(0);
        expect(r.out).toContain("Loading production environment");
        const run = jobsDocker.calls().find((c) => c[0] === "run")!;
        expect(run.slice(0, 3)).toEqual(["run", "--rm", "-i"]);
        expect(run[3]).toBe("--name");
        expect(run[4]).toMatch(/^shred-day-console-\d+-\d+$/);
        expect(run.slice(5)).toEqual(["--env-file", "/etc/shred-day/jobs.env", "--", IMAGE, "bin/rails", "console"]);
        expect(webDocker.calls()).toEqual([]);
        // --image overrides the running container's image
        jobsDocker.reset();
        dockerFixture();
        const other = await ops(["console", "--image", "ghcr.io/shred-day/shred-day:v1", "--stack", "ok", "--no-pulumi"]);
        expect(other.code).toBe(0);
        expect(jobsDocker.calls().map((c) => c[0])).toEqual(["run"]);
        expect(jobsDocker.calls()[0]).toContain("ghcr.io/shred-day/shred-day:v1");
    });

    test("dbconsole --queue: psql in the Postgres container on the queue database, over the real PostgreSQL (docker test double)", async () => {
        const r = await ops(["dbconsole", "--queue", "--stack", "ok", "--no-pulumi"], { stdin: "SELECT count(*) FROM solid_queue_failed_executions;\n" });
        expect(r.code).toBe(0);
        expect(r.out.trim().split("\n")).toContain("     2");
        expect(webDocker.calls()).toEqual([["exec", "-i", "shred-day-postgres", "psql", "-U", "shred_day", "-d", QUEUE_DB]]);
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
