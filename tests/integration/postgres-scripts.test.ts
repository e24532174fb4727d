/**
 * The Postgres accessory's remote scripts, run for real: the exact command text the
 * command provider sends (scriptCommand), over a real sshd on 127.0.0.1, against a private
 * Docker engine (tests/support/docker.ts) running the Postgres container (the postgres:15 test
 * image, published on the private IP 10.0.0.3:5432 inside the engine's network namespace).
 * Tests assert on the engine's real state (docker ps/inspect) and on the database.
 */
import { scriptCommand, ScriptParams } from "../../components/remote";
import { TestDocker } from "../support/docker";
import { ContainerPostgres, HARNESS_START_TIMEOUT_MS, RemoteHost, ScriptRun, startRemoteHost } from "../support/integration";

jest.setTimeout(90_000);

const CONTAINER = "shred-day-postgres";
/** The host's private IP: on lo of the engine's namespace; the Postgres container is published there. */
const PRIVATE_IP = "10.0.0.3";

let host: RemoteHost;
let pg: ContainerPostgres;
let docker: TestDocker;
let appImage: string;

beforeAll(async () => {
    host = await startRemoteHost();
    ({ pg, docker } = host);
    appImage = await docker.image("app");
}, HARNESS_START_TIMEOUT_MS);

afterAll(async () => {
    await host?.stop();
});

function runScript(name: string, params: ScriptParams, stdin?: string): Promise<ScriptRun> {
    return host.runScript(name, params, { stdin, timeoutMs: 85_000 });
}

/** Every container (name, state, image) and network: compared before and after a step that must change nothing. */
async function engineState(): Promise<string> {
    const ps = await docker.ok(["ps", "-a", "--no-trunc", "--format", "{{.Names}} {{.State}} {{.Image}} {{.CreatedAt}}"]);
    const nets = await docker.ok(["network", "ls", "--format", "{{.Name}}"]);
    return [ps.split("\n").sort().join("\n"), nets.split("\n").sort().join("\n")].join("\n--\n");
}

/** Postgres logs to stderr: `docker logs` gives it on stderr too. */
async function pgLogs(): Promise<string> {
    const r = await docker.run(["logs", CONTAINER]);
    return r.stdout + r.stderr;
}

async function removeContainers(...names: string[]): Promise<void> {
    await docker.run(["rm", "-f", ...names]);
}

// ---------------------------------------------------------------------------------------
describe("postgres-wait-ready.sh", () => {
    const params = (timeout: number, container = CONTAINER, ip = PRIVATE_IP) => ({ CONTAINER: container, PRIVATE_IP: ip, DB_USER: pg.user, TIMEOUT_SECONDS: timeout });

    test("returns at once when Postgres accepts connections on the private IP", async () => {
        const r = await runScript("postgres-wait-ready", params(30));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/shred-day-postgres accepts connections on 10\.0\.0\.3:5432 \(after \d+s, 1 attempt\(s\)\): 10\.0\.0\.3:5432 - accepting connections/);
    });

    test("not ready, then ready: waits while the container is stopped and succeeds once it is up", async () => {
        await pg.stopServer();
        let restarted: Promise<void> | undefined;
        try {
            const running = runScript("postgres-wait-ready", params(60));
            await new Promise((resolve) => setTimeout(resolve, 3_000));
            restarted = pg.startServer();
            await restarted;
            const r = await running;
            expect(r.code).toBe(0);
            expect(r.stdout).toMatch(/accepts connections on 10\.0\.0\.3:5432 \(after \d+s, (\d+) attempt\(s\)\)/);
            expect(Number(/(\d+) attempt/.exec(r.stdout)![1])).toBeGreaterThanOrEqual(2);
        } finally {
            if (!restarted) await pg.startServer();
        }
    });

    test("a brand-new container during its first init (socket only, TCP refused) is waited for, then accepted", async () => {
        // the official image's contract: the init server listens on the socket only, so TCP probes fail until init is done
        await docker.ok(["run", "--detach", "--name", "pg-fresh", "-e", "POSTGRES_USER=shred_day", "-e", "POSTGRES_PASSWORD=fresh", pg.image]);
        try {
            const r = await runScript("postgres-wait-ready", params(60, "pg-fresh", "127.0.0.1"));
            expect(r.stderr).toBe("");
            expect(r.code).toBe(0);
            expect(r.stdout).toMatch(/pg-fresh accepts connections on 127\.0\.0\.1:5432 \(after \d+s, \d+ attempt\(s\)\)/);
            expect(await docker.ok(["logs", "pg-fresh"])).toMatch(/PostgreSQL init process complete/);
        } finally {
            await removeContainers("pg-fresh");
        }
    });

    test("timeout: exits 1 within the bound, with the wait, the last probe's output (docker: the container is not running) and the real docker logs", async () => {
        await pg.stopServer();
        let r: ScriptRun;
        const before = await engineState();
        try {
            r = await runScript("postgres-wait-ready", params(3));
            expect(await engineState()).toBe(before); // the wait never starts anything
        } finally {
            await pg.startServer();
        }
        expect(r.code).toBe(1);
        expect(r.ms).toBeLessThan(3_000 + 8_000); // bounded: TIMEOUT_SECONDS plus one probe at most
        expect(r.ms).toBeGreaterThanOrEqual(2_500);
        expect(r.stderr).toMatch(/shred-day-postgres did not accept connections on 10\.0\.0\.3:5432 within 3s \(waited [3-9]s, \d+ attempt\(s\)\)/);
        // the real engine: docker exec into a stopped container fails (the double printed pg_isready's "no response")
        expect(r.stderr).toMatch(/Last pg_isready output: Error response from daemon: Container [0-9a-f]+ is not running/);
        expect(r.stderr).toMatch(/--- docker logs --tail 50 shred-day-postgres ---\n[\s\S]*database system is shut down[\s\S]*--- end of docker logs ---/);
    });

    test("refuses an unbounded or malformed TIMEOUT_SECONDS", async () => {
        for (const bad of ["0", "99999", "ten"]) {
            const r = await runScript("postgres-wait-ready", { ...params(1), TIMEOUT_SECONDS: bad });
            expect(r.code).toBe(2);
            expect(r.stderr).toMatch(/TIMEOUT_SECONDS must be a whole number of seconds from 1 to 3600/);
        }
    });

    test("a missing parameter is named", async () => {
        const r = await runScript("postgres-wait-ready", { CONTAINER, PRIVATE_IP, DB_USER: pg.user });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/TIMEOUT_SECONDS \(how long to wait, 1\.\.3600\) is required/);
    });
});

// ---------------------------------------------------------------------------------------
// postgres-preflight.sh: tests/integration/adoption-preflight.test.ts (i10-adopt), on the real engine.

describe("the engine: publishing 5432 on the private IP", () => {
    test("the engine itself refuses a second publish of 5432 on an address that is taken", async () => {
        const r = await docker.run(["run", "--detach", "--name", "taken", "-p", `${PRIVATE_IP}:5432:5432`, appImage, "sleep", "600"]);
        try {
            expect(r.code).not.toBe(0);
            expect(r.stderr).toMatch(/Bind for 10\.0\.0\.3:5432 failed: port is already allocated|address already in use/);
            expect(await docker.ok(["inspect", "--format", "{{.State.Status}}", "taken"])).toBe("created");
        } finally {
            await removeContainers("taken");
        }
    });

});

// ---------------------------------------------------------------------------------------
describe("postgres-databases.sh", () => {
    const DBS = ["shred_day_production", "shred_day_production_queue", "shred_day_production_cache", "shred_day_production_cable"];
    const params = (dbs: string[]) => ({ CONTAINER, PRIVATE_IP, DB_USER: pg.user, DATABASES: dbs.join(" ") });
    const listDbs = async () => (await pg.psql("SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE 'shred_day%' ORDER BY 1")).split("\n").filter(Boolean);

    function expectNoPassword(r: { command: string; stdout: string; stderr: string }): Promise<void> {
        expect(r.command).not.toContain(pg.password);
        expect(r.stdout).not.toContain(pg.password);
        expect(r.stderr).not.toContain(pg.password);
        // nor in the Postgres container's configuration (the script passes it to docker exec by a bare -e PGPASSWORD)
        return docker.ok(["inspect", "--format", "{{json .Config}}", CONTAINER]).then((cfg) => expect(cfg).not.toContain(`PGPASSWORD=${pg.password}`));
    }

    test("creates the missing databases owned by the user over TCP, then a second run creates nothing", async () => {
        await pg.createDatabase("shred_day_production"); // the one the official image made
        const first = await runScript("postgres-databases", params(DBS), `${pg.password}\n`);
        expect(first.stderr).toBe("");
        expect(first.code).toBe(0);
        expect(first.stdout.split("\n")).toEqual([
            "postgres-databases: connected to 10.0.0.3:5432 as shred_day",
            "exists shred_day_production",
            "created shred_day_production_queue (owner shred_day)",
            "created shred_day_production_cache (owner shred_day)",
            "created shred_day_production_cable (owner shred_day)",
            "postgres-databases: 3 created, 1 already existed",
            "",
        ]);
        expect(await listDbs()).toEqual(DBS.map((d) => `${d}:shred_day`).sort());
        await expectNoPassword(first);
        // over TCP to the private address: the server saw a scram login from outside the container (docker-proxy on 10.0.0.3)
        expect(await pgLogs()).not.toMatch(/password authentication failed/);

        const oids = await pg.psql("SELECT string_agg(oid::text, ',' ORDER BY datname) FROM pg_database");
        const second = await runScript("postgres-databases", params(DBS), `${pg.password}\n`);
        expect(second.code).toBe(0);
        expect(second.stdout).not.toMatch(/^created/m);
        expect(second.stdout).toContain(DBS.map((d) => `exists ${d}`).join("\n"));
        expect(second.stdout).toContain("postgres-databases: 0 created, 4 already existed");
        expect(await pg.psql("SELECT string_agg(oid::text, ',' ORDER BY datname) FROM pg_database")).toBe(oids);
        await expectNoPassword(second);
    });

    test("the password may come without a trailing newline", async () => {
        const r = await runScript("postgres-databases", params(["shred_day_nonl"]), pg.password);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("created shred_day_nonl");
    });

    test("an existing database owned by someone else is reported, not changed", async () => {
        await pg.psql(`CREATE ROLE other_owner; CREATE DATABASE "shred_day_foreign" OWNER other_owner;`);
        const r = await runScript("postgres-databases", params(["shred_day_foreign"]), `${pg.password}\n`);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("exists shred_day_foreign (owned by other_owner, not shred_day; left as is)");
    });

    test("names that need quoting are quoted as identifiers", async () => {
        const r = await runScript("postgres-databases", params(["Shred-Day_Mixed"]), `${pg.password}\n`);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("created Shred-Day_Mixed");
        expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'Shred-Day_Mixed'")).toBe("1");
    });

    test("wrong password: refused with what to set, nothing created, password unchanged", async () => {
        const wrong = "NotThePassword456";
        const r = await runScript("postgres-databases", params(["shred_day_never"]), `${wrong}\n`);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain("postgres-databases: Postgres at 10.0.0.3:5432 refused the password for role shred_day: shred-day:postgresPassword does not match the password the existing role already has.");
        expect(r.stderr).toContain("pulumi config set --secret shred-day:postgresPassword <the existing password>");
        expect(r.stderr).toContain("this step does not change it");
        expect(r.stderr).toMatch(/password authentication failed for user "shred_day"/);
        for (const s of [r.command, r.stdout, r.stderr]) expect(s).not.toContain(wrong);
        expect(await pgLogs()).toMatch(/FATAL: {2}password authentication failed for user "shred_day"/);
        expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'shred_day_never'")).toBe("0");
        // the role still has its password
        const ok = await runScript("postgres-databases", params(["shred_day_production"]), `${pg.password}\n`);
        expect(ok.code).toBe(0);
    });

    test("no password on stdin is refused before connecting", async () => {
        const r = await runScript("postgres-databases", params(["shred_day_x"]), "");
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("no password on stdin");
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
    });

    test("the password is not part of the command text the provider sends", () => {
        const command = scriptCommand("postgres-databases", params(DBS));
        expect(command).not.toContain(pg.password);
        // the parameters are the assignments before `bash -c '<script>'`: no PGPASSWORD among them
        const assignments = command.slice(0, command.indexOf(" bash -c "));
        expect(assignments).toBe("CONTAINER='shred-day-postgres' DATABASES='shred_day_production shred_day_production_queue shred_day_production_cache shred_day_production_cable' DB_USER='shred_day' PRIVATE_IP='10.0.0.3'");
    });
});
