/**
 * The jobs rollout on a REAL Docker engine (tests/support/docker.ts: a private dockerd 20.10)
 * with the app stand-in's `bin/jobs` (tests/support/images/app: it registers a supervisor,
 * JOB_CONCURRENCY workers and a dispatcher in solid_queue_processes and heartbeats, as Solid
 * Queue does) and a Postgres container published on 10.0.0.3:5432 in the daemon's namespace:
 *
 *   jobs-start.sh -> jobs-proof.sh -> jobs-retire.sh
 *
 * run over a real sshd exactly as the command provider sends them. One engine plays the web
 * host (Postgres, web containers) and the jobs host (the proof skips the new jobs hostnames
 * when it lists the web host's containers). The stand-in heartbeats every 2 s here
 * (STANDIN_HEARTBEAT_SECONDS) and the proof is told so (HEARTBEAT_SECONDS), so a proof takes
 * seconds, not Solid Queue's 60 s.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { jobsStartFacts } from "../../components/release";
import { scriptCommand, ScriptParams } from "../../components/remote";
import { DOCKER_START_TIMEOUT_MS, startDocker, TestDocker } from "../support/docker";
import { ExecResult, SOLID_QUEUE_SCHEMA_FILE, SshServer, startSshd } from "../support/integration";

jest.setTimeout(120_000);

const IP = "10.0.0.3";
const PG = "shred-day-postgres";
const PG_USER = "shred_day";
const PG_PASSWORD = "TestPassword123";
const QUEUE_DB = "shred_day_production_queue";
const SERVICE = "shred-day";
const IMAGE = "ghcr.io/shred-day/shred-day:v2";

let docker: TestDocker;
let ssh: SshServer;
let scratch: string;

async function psql(sql: string, db = QUEUE_DB): Promise<string> {
    return docker.ok(["exec", "-i", PG, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", PG_USER, "-d", db, "-f", "-"], { stdin: sql });
}

beforeAll(async () => {
    docker = await startDocker({ addresses: [`${IP}/32`] });
    const pgImage = await docker.image("postgres");
    await docker.tag(await docker.image("app"), IMAGE);
    await docker.ok([
        "run", "--detach", "--name", PG, "--publish", `${IP}:5432:5432`,
        "--env", `POSTGRES_USER=${PG_USER}`, "--env", `POSTGRES_PASSWORD=${PG_PASSWORD}`, "--env", "POSTGRES_DB=postgres",
        pgImage, "postgres", "-c", "fsync=off", "-c", "max_connections=100",
    ]);
    for (let i = 0; ; i++) {
        const r = await docker.run(["exec", PG, "pg_isready", "-h", IP, "-U", PG_USER, "-t", "2"], { timeoutMs: 10_000 });
        if (r.code === 0) break;
        if (i > 150) throw new Error(`Postgres did not get ready: ${r.stdout}${r.stderr}`);
        await new Promise((res) => setTimeout(res, 300));
    }
    await psql(`CREATE DATABASE ${QUEUE_DB} OWNER ${PG_USER};`, "postgres");
    await psql(fs.readFileSync(SOLID_QUEUE_SCHEMA_FILE, "utf8"));
    ssh = await startSshd({ env: docker.env });
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "i12-engine-"));
    fs.chmodSync(scratch, 0o755); // the test sshd's sessions run as an unprivileged user (i9: issue 11.11)
}, DOCKER_START_TIMEOUT_MS);

afterAll(async () => {
    await ssh?.stop();
    await docker?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

async function run(name: string, params: ScriptParams, timeoutMs = 90_000): Promise<ExecResult> {
    return ssh.run(scriptCommand(name, params), { timeoutMs });
}

/** The jobs env file, with the stand-in's toggles. */
function envFile(release: string, extra: string[] = []): string {
    const file = path.join(scratch, `jobs-${release}.env`);
    fs.writeFileSync(
        file,
        [
            `QUEUE_DATABASE_URL=postgres://${PG_USER}:${PG_PASSWORD}@${IP}:5432/${QUEUE_DB}`,
            `DATABASE_URL=postgres://${PG_USER}:${PG_PASSWORD}@${IP}:5432/shred_day_production`,
            "JOB_CONCURRENCY=2",
            "STANDIN_HEARTBEAT_SECONDS=2",
            ...extra,
            "",
        ].join("\n"),
        { mode: 0o644 },
    );
    return file;
}

async function start(release: string, hostname: string, extra: string[] = []) {
    const r = await run("jobs-start", {
        SERVICE,
        IMAGE,
        ENV_FILE: envFile(release, extra),
        RELEASE: release,
        CONTAINER_HOSTNAME: hostname,
        STOP_TIMEOUT: 10,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const facts = jobsStartFacts(r.stdout);
    expect(facts.startedAt).not.toBe("unknown");
    return facts;
}

/** The proof as release.ts runs it: each host's container hostname with jobs-start's since= (its lower bound). */
function proof(hosts: { hostname: string; since: string }[], timeout = 30) {
    return run("jobs-proof", {
        CONTAINER: PG,
        DB_USER: PG_USER,
        QUEUE_DB,
        JOBS_HOSTS: hosts.map((h) => `${h.hostname},${h.since}`).join(" "),
        JOB_CONCURRENCY: 2,
        LIVE_SECONDS: 300,
        HEARTBEAT_SECONDS: 2,
        MAX_CLOCK_OFFSET_SECONDS: 30,
        TIMEOUT_SECONDS: timeout,
        INTERVAL_SECONDS: 1,
    });
}

function retire(release: string, facts: { startedAt: string; restartCount: string }) {
    return run("jobs-retire", { SERVICE, RELEASE: release, STOP_TIMEOUT: 10, STARTED_AT: facts.startedAt, RESTART_COUNT: facts.restartCount });
}

const names = async () => (await docker.ok(["ps", "-a", "--format", "{{.Names}}"])).split("\n").filter(Boolean).sort();

async function cleanJobs() {
    for (const n of await names()) if (n.startsWith(`${SERVICE}-jobs-`) || n.startsWith("web-")) await docker.run(["rm", "-f", n]);
    await psql("TRUNCATE solid_queue_processes RESTART IDENTITY;");
}

describe("jobs rollout on a real Docker engine (stand-in bin/jobs)", () => {
    beforeEach(cleanJobs);

    test("healthy: start -> proof (supervisor since the start, 2 beating workers, a dispatcher) -> retire stops the old worker with docker stop --timeout", async () => {
        // The previous release's worker, running (it registers nothing here, so it cannot be mistaken for the new one).
        const oldFacts = await start("0b1c2d3e4f", "shred-day-jobs-ubuntu-0b1c2d3e4f", ["STANDIN_JOBS=noregister"]);
        expect(oldFacts.restartCount).toBe("0");
        // A running web container on "the web host" whose hostname starts like the jobs host's (web.name shred-day).
        await docker.ok(["run", "--detach", "--name", "web-abc", "--hostname", "shred-day-4f2a9c01de", "--label", "service=shred-day", "--label", "role=web", IMAGE, "sleep", "600"]);

        const hostname = "shred-day-jobs-ubuntu-4f2a9c01de";
        const facts = await start("4f2a9c01de", hostname);
        const p = await proof([{ hostname, since: facts.since }]);
        console.log(`real engine, healthy release:\n${p.stdout}${p.stderr}`);
        expect(p.stderr).toBe("");
        expect(p.code).toBe(0);
        expect(p.stdout).toMatch(new RegExp(`${hostname}\\s+fork\\s+2/2\\s+1\\s+.*\\sok$`, "m"));
        expect(p.stdout).toContain("dispatchers: 1 live under proven supervisors");

        const r = await retire("4f2a9c01de", facts);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`jobs-retire: ${SERVICE}-jobs-4f2a9c01de running=true restarting=false restart_count=0 (at start: 0)`);
        expect(r.stdout).toContain(`jobs-retire: stopped (within 10s) and removed ${SERVICE}-jobs-0b1c2d3e4f`);
        expect(await names()).toEqual([PG, `${SERVICE}-jobs-4f2a9c01de`, "web-abc"].sort());
    });

    test("a supervisor that registered before Docker recorded State.StartedAt (moby sets it once containerd has started the process) is still this container's: the proof counts from jobs-start's since= (Created) and proves it", async () => {
        // The rehearsal caught this: the stand-in registers within tens of ms, Docker's StartedAt lags the process by
        // up to that under load, and the proof, bounded by StartedAt, never saw the supervisor and waited out its timeout.
        const release = "5a6b7c8d9e";
        const hostname = `shred-day-jobs-ubuntu-${release}`;
        const facts = await start(release, hostname);
        expect(facts.since).toBe((await docker.ok(["inspect", "--format", "{{.Created}}", `${SERVICE}-jobs-${release}`])).trim());
        // Every process of it registered (supervisor, 2 workers, dispatcher), then moved to where the race puts them:
        // after the container was created, before Docker wrote State.StartedAt.
        for (let i = 0; i < 100 && (await psql(`SELECT count(*) FROM solid_queue_processes WHERE hostname = '${hostname}'`)) !== "4"; i++) {
            await new Promise((res) => setTimeout(res, 100));
        }
        const between = `('${facts.since}'::timestamptz + ('${facts.startedAt}'::timestamptz - '${facts.since}'::timestamptz) / 2) AT TIME ZONE 'UTC'`;
        await psql(`UPDATE solid_queue_processes SET created_at = ${between} WHERE hostname = '${hostname}';`);
        expect(await psql(`SELECT count(*) FROM solid_queue_processes WHERE hostname = '${hostname}' AND created_at < ('${facts.startedAt}'::timestamptz AT TIME ZONE 'UTC')`)).toBe("4");

        const p = await proof([{ hostname, since: facts.since }]);
        expect(p.stderr).toBe("");
        expect(p.code).toBe(0);
        expect(p.stdout).toMatch(new RegExp(`${hostname}\\s+fork\\s+2/2\\s+1\\s+.*\\sok$`, "m"));
        // Bounded by State.StartedAt (the rule before), the same container is never proven.
        const before = await proof([{ hostname, since: facts.startedAt }], 4);
        expect(before.code).toBe(1);
        expect(before.stderr).toContain("MISSING: no live supervisor registered since the container started");
    });

    test("a crash-looping bin/jobs (restart policy): the proof fails, and retire stops nothing (restart count moved)", async () => {
        await start("0b1c2d3e4f", "shred-day-jobs-ubuntu-0b1c2d3e4f", ["STANDIN_JOBS=noregister"]);
        const hostname = "shred-day-jobs-ubuntu-4f2a9c01de";
        const facts = await start("4f2a9c01de", hostname, ["STANDIN_JOBS=crashloop"]);
        const p = await proof([{ hostname, since: facts.since }], 15);
        console.log(`real engine, crash-looping bin/jobs:\n${p.stdout}${p.stderr}`);
        expect(p.code).toBe(1);
        expect(p.stderr).toMatch(new RegExp(`${hostname}\\s.*(RESTARTED|WAITING|MISSING|WORKERS)`));
        const inspect = await docker.ok(["container", "inspect", "--format", "{{.RestartCount}}", `${SERVICE}-jobs-4f2a9c01de`]);
        expect(Number(inspect)).toBeGreaterThan(0);

        const r = await retire("4f2a9c01de", facts);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("restarted or stopped since jobs-start (a crash loop?), so the previous workers are kept (nothing was stopped)");
        expect(await names()).toContain(`${SERVICE}-jobs-0b1c2d3e4f`);
    });

    test("a bin/jobs that never registers: the proof fails within its bound saying so", async () => {
        const hostname = "shred-day-jobs-ubuntu-4f2a9c01de";
        const facts = await start("4f2a9c01de", hostname, ["STANDIN_JOBS=noregister"]);
        const p = await proof([{ hostname, since: facts.since }], 5);
        console.log(`real engine, never-registering bin/jobs:\n${p.stdout}${p.stderr}`);
        expect(p.code).toBe(1);
        expect(p.stderr).toMatch(new RegExp(`${hostname}\\s+fork\\s+0/2\\s+0\\s+-\\s+MISSING: no Solid Queue process ever registered with this hostname`));
    });

    test("a container restarted after jobs-start (docker restart): retire sees the new StartedAt and stops nothing", async () => {
        await start("0b1c2d3e4f", "shred-day-jobs-ubuntu-0b1c2d3e4f", ["STANDIN_JOBS=noregister"]);
        const facts = await start("4f2a9c01de", "shred-day-jobs-ubuntu-4f2a9c01de");
        await docker.ok(["restart", "--time", "1", `${SERVICE}-jobs-4f2a9c01de`]);
        const r = await retire("4f2a9c01de", facts);
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(/started_at=\S+ \(at start: \S+\)/);
        expect(r.stderr).toContain("so the previous workers are kept (nothing was stopped)");
        expect(await names()).toContain(`${SERVICE}-jobs-0b1c2d3e4f`);
    });
});

describe("db-prepare on a real Docker engine (stand-in bin/rails db:prepare, real Postgres)", () => {
    const webEnv = (queueDb: string) => {
        const file = path.join(scratch, `web-${queueDb}.env`);
        fs.writeFileSync(
            file,
            [
                `DATABASE_URL=postgres://${PG_USER}:${PG_PASSWORD}@${IP}:5432/shred_day_production`,
                `QUEUE_DATABASE_URL=postgres://${PG_USER}:${PG_PASSWORD}@${IP}:5432/${queueDb}`,
                "",
            ].join("\n"),
            { mode: 0o644 },
        );
        return file;
    };
    const migrate = (image: string, queueDb: string) =>
        run("db-prepare", { IMAGE: image, ENV_FILE: webEnv(queueDb), PG_CONTAINER: PG, DB_USER: PG_USER, QUEUE_DB: queueDb });

    test("an empty queue database: db:prepare loads the queue schema and the check finds the 11 tables", async () => {
        const r = await migrate(IMAGE, "fresh_queue");
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("cannot read Gemfile.lock in the image's working directory; assuming no data_migrate: bin/rails db:prepare");
        expect(r.stdout).toContain("Loaded db/queue_schema into fresh_queue");
        expect(r.stdout).toContain("db-prepare: Solid Queue's 11 tables are in fresh_queue");
    });

    test("a queue database with schema_migrations but no Solid Queue tables: db:prepare succeeds, the step fails naming db:schema:load:queue", async () => {
        await psql("CREATE DATABASE half_queue;", "postgres");
        await psql("CREATE TABLE schema_migrations (version varchar PRIMARY KEY);", "half_queue");
        const r = await migrate(IMAGE, "half_queue");
        console.log(`real engine, queue schema missing:\n${r.stdout}${r.stderr}`);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("bin/rails db:prepare succeeded, but the queue database half_queue lacks 11 of Solid Queue's tables");
        expect(r.stderr).toContain("bin/rails db:schema:load:queue");
    });

    test("an image whose Gemfile.lock has data_migrate runs db:prepare data:migrate", async () => {
        await docker.ok(["run", "--name", "gemfile", "--entrypoint", "/bin/sh", IMAGE, "-c", "printf 'GEM\\n  specs:\\n    data_migrate (11.3.0)\\n    rails (8.0.2)\\n' > /rails/Gemfile.lock"]);
        // keep the image's own entrypoint (the run above replaced it)
        const entrypoint = await docker.ok(["image", "inspect", "--format", "{{json .Config.Entrypoint}}", IMAGE]);
        await docker.ok(["commit", "--change", `ENTRYPOINT ${entrypoint}`, "gemfile", "ghcr.io/shred-day/shred-day:with-data"]);
        await docker.ok(["rm", "gemfile"]);
        const r = await migrate("ghcr.io/shred-day/shred-day:with-data", "fresh_queue");
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("the image's Gemfile.lock has data_migrate: bin/rails db:prepare data:migrate");
    });
});
