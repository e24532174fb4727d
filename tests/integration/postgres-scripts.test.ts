/**
 * The Postgres accessory's remote scripts, run for real: the exact command text the
 * command provider sends (scriptCommand), over a real sshd on 127.0.0.1, against a real
 * PostgreSQL. Docker is absent: the docker test double records every call and forwards
 * `docker exec CONTAINER psql|pg_isready ...` to the local cluster; tests that rely on it
 * say "(docker test double)".
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptCommand, ScriptParams } from "../../components/remote";
import { DockerDouble, HARNESS_START_TIMEOUT_MS, RemoteHost, ScriptRun, startRemoteHost, TestPostgres } from "../support/integration";

jest.setTimeout(60_000);

const CONTAINER = "shred-day-postgres";
/** Scripts that connect use 127.0.0.1 as "the private IP": nothing here points anywhere else. */
const LOCAL_IP = "127.0.0.1";
/**
 * The preflight never connects anywhere: PRIVATE_IP is only compared with the `docker ps`
 * output the double prints, so it can be the production-like value.
 */
const PREFLIGHT_IP = "10.0.0.3";

let host: RemoteHost;
let pg: TestPostgres;
let docker: DockerDouble;
let scratch: string;

beforeAll(async () => {
    host = await startRemoteHost();
    ({ pg, docker } = host);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-pgscripts-"));
}, HARNESS_START_TIMEOUT_MS);

afterAll(async () => {
    await host?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

beforeEach(() => docker.reset());

function runScript(name: string, params: ScriptParams, stdin?: string): Promise<ScriptRun> {
    return host.runScript(name, params, { stdin, timeoutMs: 55_000 });
}

const MUTATING = new Set(["stop", "kill", "rm", "update", "restart", "pause", "start", "run", "create"]);
function mutatingCalls(calls: string[][]): string[][] {
    return calls.filter((c) => MUTATING.has(c[0]) || (c[0] === "container" && MUTATING.has(c[1])));
}

// ---------------------------------------------------------------------------------------
describe("postgres-wait-ready.sh", () => {
    const params = (timeout: number) => ({ CONTAINER, PRIVATE_IP: LOCAL_IP, DB_USER: pg.user, TIMEOUT_SECONDS: timeout });

    test("returns at once when Postgres accepts connections on the private IP (docker test double)", async () => {
        const r = await runScript("postgres-wait-ready", params(30));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/shred-day-postgres accepts connections on 127\.0\.0\.1:5432 \(after \d+s, 1 attempt\(s\)\)/);
        expect(docker.calls()).toEqual([["exec", CONTAINER, "pg_isready", "-h", LOCAL_IP, "-U", pg.user, "-t", "5"]]);
    });

    test("not ready, then ready: waits while the server is down and succeeds once it is up (docker test double)", async () => {
        await pg.stopServer();
        let restarted: Promise<void> | undefined;
        try {
            const running = runScript("postgres-wait-ready", params(40));
            await new Promise((resolve) => setTimeout(resolve, 2_500));
            restarted = pg.startServer();
            await restarted;
            const r = await running;
            expect(r.code).toBe(0);
            expect(r.stdout).toMatch(/accepts connections on 127\.0\.0\.1:5432 \(after \d+s, \d+ attempt\(s\)\)/);
            const probes = docker.calls().filter((c) => c[2] === "pg_isready");
            expect(probes.length).toBeGreaterThanOrEqual(2);
            expect(docker.calls().filter((c) => c[0] === "logs")).toEqual([]);
        } finally {
            if (!restarted) await pg.startServer();
        }
    });

    test("not ready, then ready: a server that rejects connections at first (docker test double)", async () => {
        // as during the image's first init: answers, but refuses connections for a while
        docker.respondExec(`
            n=$(cat "$DOCKER_DOUBLE_DIR/probes" 2>/dev/null || echo 0); echo $((n + 1)) > "$DOCKER_DOUBLE_DIR/probes"
            if [ "$n" -lt 2 ]; then echo "127.0.0.1:5432 - rejecting connections"; return 1; fi
            forward_exec "$@"`);
        const r = await runScript("postgres-wait-ready", params(30));
        expect(r.code).toBe(0);
        // two refused probes, then the third answers; the seconds depend on the machine's speed
        expect(r.stdout).toMatch(/\(after \d+s, 3 attempt\(s\)\): 127\.0\.0\.1:\d+ - accepting connections/);
    });

    test("timeout: exits 1 within the bound, with the wait, the last pg_isready output and docker logs (docker test double)", async () => {
        docker.respond(`
            if [ "$1" = logs ]; then
              echo "2025-01-01 00:00:00 UTC [1] LOG:  starting PostgreSQL 16"
              echo "2025-01-01 00:00:01 UTC [1] FATAL:  could not bind IPv4 address \\"10.0.0.3\\": Cannot assign requested address" >&2
            fi`);
        await pg.stopServer();
        let r: Awaited<ReturnType<typeof runScript>>;
        try {
            r = await runScript("postgres-wait-ready", params(3));
        } finally {
            await pg.startServer();
        }
        expect(r.code).toBe(1);
        expect(r.ms).toBeLessThan(3_000 + 6_000); // bounded: TIMEOUT_SECONDS plus one probe at most
        expect(r.ms).toBeGreaterThanOrEqual(2_500);
        expect(r.stderr).toMatch(/shred-day-postgres did not accept connections on 127\.0\.0\.1:5432 within 3s \(waited [3-8]s, \d+ attempt\(s\)\)/);
        expect(r.stderr).toMatch(/Last pg_isready output: 127\.0\.0\.1:\d+ - no response/);
        expect(r.stderr).toMatch(/--- docker logs --tail 50 shred-day-postgres ---\n.*starting PostgreSQL 16\n.*FATAL: {2}could not bind IPv4 address/);
        expect(docker.calls()).toContainEqual(["logs", "--tail", "50", CONTAINER]);
        expect(mutatingCalls(docker.calls())).toEqual([]);
    });

    test("refuses an unbounded or malformed TIMEOUT_SECONDS", async () => {
        for (const bad of ["0", "99999", "ten"]) {
            const r = await runScript("postgres-wait-ready", { ...params(1), TIMEOUT_SECONDS: bad });
            expect(r.code).toBe(2);
            expect(r.stderr).toMatch(/TIMEOUT_SECONDS must be a whole number of seconds from 1 to 3600/);
        }
        expect(docker.calls()).toEqual([]);
    });

    test("a missing parameter is named", async () => {
        const r = await runScript("postgres-wait-ready", { CONTAINER, PRIVATE_IP: LOCAL_IP, DB_USER: pg.user });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/TIMEOUT_SECONDS \(how long to wait, 1\.\.3600\) is required/);
    });
});

// ---------------------------------------------------------------------------------------
describe("postgres-preflight.sh", () => {
    // The container checks (docker inspect: mounts by source path, ports, labels) and INITIALIZE
    // run on a real engine in adoption-preflight.test.ts and adoption-takeover.test.ts (issue 10);
    // the data-directory checks below need no engine.
    let n = 0;
    const newDir = () => path.join(scratch, `data-${++n}`);
    function cluster(dir: string, relPath: string, version: string) {
        fs.mkdirSync(path.join(dir, path.dirname(relPath)), { recursive: true });
        fs.writeFileSync(path.join(dir, relPath), `${version}\n`);
        fs.writeFileSync(path.join(dir, path.dirname(relPath), "postgresql.conf"), "# marker\n");
    }
    const params = (dataDir: string, major: number) => ({ DATA_DIR: dataDir, PG_MAJOR: major, PRIVATE_IP: PREFLIGHT_IP, CONTAINER });

    test("an existing cluster of the configured major is reused, < 18 layout (docker test double)", async () => {
        const dir = newDir();
        cluster(dir, "PG_VERSION", "16");
        const before = fs.readdirSync(dir).sort();
        const r = await runScript("postgres-preflight", params(dir, 16));
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`${dir} holds an existing Postgres 16 cluster (${dir}/PG_VERSION): reused as is, never re-initialised (mounted at /var/lib/postgresql/data)`);
        expect(fs.readdirSync(dir).sort()).toEqual(before);
    });

    test("an existing cluster of the configured major is reused, 18+ layout (docker test double)", async () => {
        const dir = newDir();
        cluster(dir, "18/docker/PG_VERSION", "18");
        const r = await runScript("postgres-preflight", params(dir, 18));
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`holds an existing Postgres 18 cluster (${dir}/18/docker/PG_VERSION): reused as is, never re-initialised (mounted at /var/lib/postgresql)`);
    });

    test("version mismatch: a 15 cluster with a 16 image is refused, with how to upgrade (docker test double)", async () => {
        const dir = newDir();
        cluster(dir, "PG_VERSION", "15");
        const r = await runScript("postgres-preflight", { ...params(dir, 16), IMAGE: "postgres:16.4" });
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain("postgres-preflight: REFUSED.");
        expect(r.stderr).toContain(`postgres.dataDir ${dir} holds a Postgres 15 cluster (${dir}/PG_VERSION), but postgres.image is postgres:16.4, a Postgres 16 image.`);
        expect(r.stderr).toContain("pulumi config set --path postgres.image postgres:15");
        expect(r.stderr).toMatch(/pg_upgrade/);
        expect(r.stderr).toMatch(/pg_dumpall from the 15 server and restore/);
        expect(r.stderr).toContain("Nothing was changed on this host.");
        expect(fs.readFileSync(path.join(dir, "PG_VERSION"), "utf8")).toBe("15\n");
    });

    test("version mismatch: an 18-layout cluster with a 16 image is refused (docker test double)", async () => {
        const dir = newDir();
        cluster(dir, "18/docker/PG_VERSION", "18");
        const r = await runScript("postgres-preflight", params(dir, 16));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`holds a Postgres 18 cluster (${dir}/18/docker/PG_VERSION), but postgres.image is a Postgres 16 image.`);
        expect(r.stderr).toContain("postgres.image postgres:18");
    });

    test("version mismatch: a 16 cluster (pre-18 layout) with an 18 image is refused, not hidden by a new cluster (docker test double)", async () => {
        const dir = newDir();
        cluster(dir, "PG_VERSION", "16");
        const r = await runScript("postgres-preflight", params(dir, 18));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`holds a Postgres 16 cluster (${dir}/PG_VERSION), but postgres.image is a Postgres 18 image.`);
        expect(fs.existsSync(path.join(dir, "18"))).toBe(false);
    });

    test("data dir pointing at the parent of the old accessory's data is refused with the right path (docker test double)", async () => {
        const dir = newDir();
        cluster(dir, "data/PG_VERSION", "16");
        const r = await runScript("postgres-preflight", params(dir, 16));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`holds no cluster itself, but ${dir}/data does (Postgres 16)`);
        expect(r.stderr).toContain(`pulumi config set --path postgres.dataDir ${dir}/data`);
    });

    test("a non-empty dir without a cluster is refused for a pre-18 image (docker test double)", async () => {
        const dir = newDir();
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, "notes.txt"), "x");
        const r = await runScript("postgres-preflight", params(dir, 16));
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/is not empty but holds no Postgres cluster/);
    });

    test("bad parameters are refused", async () => {
        for (const [p, msg] of [
            [{ PG_MAJOR: "16.2" }, /PG_MAJOR must be the major version/],
            [{ DATA_DIR: "relative/dir" }, /must be an absolute path/],
            [{ DATA_DIR: "/var/lib/../etc" }, /without \. or \.\. components/],
        ] as const) {
            const r = await runScript("postgres-preflight", { ...params("/nonexistent-shred-day-test", 16), ...p });
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(msg);
        }
        expect(docker.calls()).toEqual([]);
    });
});

// ---------------------------------------------------------------------------------------
describe("postgres-databases.sh", () => {
    const DBS = ["shred_day_production", "shred_day_production_queue", "shred_day_production_cache", "shred_day_production_cable"];
    const params = (dbs: string[]) => ({ CONTAINER, PRIVATE_IP: LOCAL_IP, DB_USER: pg.user, DATABASES: dbs.join(" ") });
    const listDbs = async () => (await pg.psql("SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE 'shred_day%' ORDER BY 1")).split("\n").filter(Boolean);

    function expectNoPassword(r: { command: string; stdout: string; stderr: string }) {
        expect(r.command).not.toContain(pg.password);
        expect(r.stdout).not.toContain(pg.password);
        expect(r.stderr).not.toContain(pg.password);
        expect(JSON.stringify(docker.calls())).not.toContain(pg.password);
    }

    test("creates the missing databases owned by the user over TCP, then a second run creates nothing (docker test double)", async () => {
        await pg.createDatabase("shred_day_production"); // the one the official image made
        const first = await runScript("postgres-databases", params(DBS), `${pg.password}\n`);
        expect(first.stderr).toBe("");
        expect(first.code).toBe(0);
        expect(first.stdout.split("\n")).toEqual([
            "postgres-databases: connected to 127.0.0.1:5432 as shred_day",
            "exists shred_day_production",
            "created shred_day_production_queue (owner shred_day)",
            "created shred_day_production_cache (owner shred_day)",
            "created shred_day_production_cable (owner shred_day)",
            "postgres-databases: 3 created, 1 already existed",
            "",
        ]);
        expect(await listDbs()).toEqual(DBS.map((d) => `${d}:shred_day`).sort());
        expectNoPassword(first);
        // over TCP to the private address, the password only by a bare -e PGPASSWORD
        for (const call of docker.calls()) {
            expect(call.slice(0, 5)).toEqual(["exec", "-i", "-e", "PGPASSWORD", CONTAINER]);
            expect(call).toEqual(expect.arrayContaining(["psql", "-h", LOCAL_IP, "-U", "shred_day", "-d", "postgres"]));
        }

        const oids = await pg.psql("SELECT string_agg(oid::text, ',' ORDER BY datname) FROM pg_database");
        docker.reset();
        const second = await runScript("postgres-databases", params(DBS), `${pg.password}\n`);
        expect(second.code).toBe(0);
        expect(second.stdout).not.toMatch(/^created/m);
        expect(second.stdout).toContain(DBS.map((d) => `exists ${d}`).join("\n"));
        expect(second.stdout).toContain("postgres-databases: 0 created, 4 already existed");
        expect(await pg.psql("SELECT string_agg(oid::text, ',' ORDER BY datname) FROM pg_database")).toBe(oids);
        expectNoPassword(second);
    });

    test("the password may come without a trailing newline (docker test double)", async () => {
        const r = await runScript("postgres-databases", params(["shred_day_nonl"]), pg.password);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("created shred_day_nonl");
    });

    test("an existing database owned by someone else is reported, not changed (docker test double)", async () => {
        await pg.psql(`CREATE ROLE other_owner; CREATE DATABASE "shred_day_foreign" OWNER other_owner;`);
        const r = await runScript("postgres-databases", params(["shred_day_foreign"]), `${pg.password}\n`);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("exists shred_day_foreign (owned by other_owner, not shred_day; left as is)");
    });

    test("names that need quoting are quoted as identifiers (docker test double)", async () => {
        const r = await runScript("postgres-databases", params(["Shred-Day_Mixed"]), `${pg.password}\n`);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("created Shred-Day_Mixed");
        expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'Shred-Day_Mixed'")).toBe("1");
    });

    test("wrong password: refused with what to set, nothing created, password unchanged (docker test double)", async () => {
        const wrong = "NotThePassword456";
        const r = await runScript("postgres-databases", params(["shred_day_never"]), `${wrong}\n`);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain("postgres-databases: Postgres at 127.0.0.1:5432 refused the password for role shred_day: shred-day:postgresPassword does not match the password the existing role already has.");
        expect(r.stderr).toContain("pulumi config set --secret shred-day:postgresPassword <the existing password>");
        expect(r.stderr).toContain("this step does not change it");
        expect(r.stderr).toMatch(/password authentication failed for user "shred_day"/);
        for (const s of [r.command, r.stdout, r.stderr, JSON.stringify(docker.calls())]) expect(s).not.toContain(wrong);
        expect(docker.calls()).toHaveLength(1);
        expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'shred_day_never'")).toBe("0");
        // the role still has its password
        const ok = await runScript("postgres-databases", params(["shred_day_production"]), `${pg.password}\n`);
        expect(ok.code).toBe(0);
    });

    test("no password on stdin is refused before connecting", async () => {
        const r = await runScript("postgres-databases", params(["shred_day_x"]), "");
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("no password on stdin");
        expect(docker.calls()).toEqual([]);
    });

    test("invalid database or role names are refused before connecting", async () => {
        for (const [p, msg] of [
            [params(["ok_name", "bad;name"]), /database name 'bad;name' is not valid/],
            [params(['x"; DROP DATABASE y; --']), /is not valid/],
            [params(["a".repeat(64)]), /is not valid/],
            [{ ...params(["ok"]), DB_USER: "1user" }, /DB_USER '1user' is not a valid role name/],
        ] as const) {
            const r = await runScript("postgres-databases", p, `${pg.password}\n`);
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(msg);
        }
        expect(docker.calls()).toEqual([]);
    });

    test("the password is not part of the command text the provider sends", () => {
        const command = scriptCommand("postgres-databases", params(DBS));
        expect(command).not.toContain(pg.password);
        // the parameters are the assignments before `bash -c '<script>'`: no PGPASSWORD among them
        const assignments = command.slice(0, command.indexOf(" bash -c "));
        expect(assignments).toBe("CONTAINER='shred-day-postgres' DATABASES='shred_day_production shred_day_production_queue shred_day_production_cache shred_day_production_cable' DB_USER='shred_day' PRIVATE_IP='127.0.0.1'");
    });
});
