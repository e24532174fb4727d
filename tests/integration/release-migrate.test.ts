/**
 * db-prepare.sh (the release's migrate step), run for real over sshd against a private Docker
 * engine (tests/support/docker.ts) with the Postgres container: which Rails task runs
 * (data_migrate detected in the image's Gemfile.lock or not), and the check that Solid Queue's
 * tables are in the queue database afterwards. The image is the app stand-in
 * (tests/support/images/app: its `bin/rails db:prepare` creates the databases and loads the
 * queue schema; STANDIN_DB_PREPARE=fail makes it fail), with or without a Gemfile.lock.
 * (Converted from the retired docker test double by i9, minimally.)
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TestDocker } from "../support/docker";
import { ContainerPostgres, HARNESS_START_TIMEOUT_MS, RemoteHost, ScriptRun, startRemoteHost, testSshAccount } from "../support/integration";

jest.setTimeout(90_000);

const IMAGE = "ghcr.io/shred-day/shred-day:v2";
const QUEUE_DB = "shred_day_production_queue";
const PG_CONTAINER = "shred-day-postgres";
const MASTER_KEY = "0123456789abcdef0123456789abcdef";

let host: RemoteHost;
let pg: ContainerPostgres;
let docker: TestDocker;
let scratch: string;
let envFile: string;
let appImage: string;

/** The env file the step reads (the docker CLI reads it as the ssh user). */
function writeEnv(file: string, opts: { queueDb?: string; extra?: string[] } = {}): string {
    fs.writeFileSync(
        file,
        [
            `RAILS_MASTER_KEY=${MASTER_KEY}`,
            `DATABASE_URL=postgres://shred_day:${pg.password}@10.0.0.3:5432/shred_day_production`,
            `QUEUE_DATABASE_URL=postgres://shred_day:${pg.password}@10.0.0.3:5432/${opts.queueDb ?? QUEUE_DB}`,
            ...(opts.extra ?? []),
            "",
        ].join("\n"),
        { mode: 0o600 },
    );
    const { uid, gid } = testSshAccount();
    fs.chownSync(file, uid, gid);
    return file;
}

beforeAll(async () => {
    host = await startRemoteHost();
    ({ pg, docker } = host);
    appImage = await docker.image("app");
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "i12-migrate-"));
    fs.chmodSync(scratch, 0o755);
    envFile = writeEnv(path.join(scratch, "web.env"));
    // A queue database where schema_migrations exists but Solid Queue's tables do not.
    await pg.createDatabase("half_queue");
    await pg.psql("CREATE TABLE schema_migrations (version varchar PRIMARY KEY); CREATE TABLE solid_queue_jobs (id bigserial PRIMARY KEY);", "half_queue");
}, HARNESS_START_TIMEOUT_MS);

afterAll(async () => {
    await host?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

/** IMAGE := the app stand-in, plus a Gemfile.lock in /rails listing data_migrate or not (undefined: none). */
async function image(opts: { dataMigrate?: boolean }): Promise<void> {
    const ctx = fs.mkdtempSync(path.join(scratch, "ctx-"));
    let dockerfile = `FROM ${appImage}\n`;
    if (opts.dataMigrate !== undefined) {
        fs.writeFileSync(path.join(ctx, "Gemfile.lock"), `GEM\n  specs:\n    rails (8.0.2)\n${opts.dataMigrate ? "    data_migrate (11.2.0)\n" : ""}\nDEPENDENCIES\n  rails\n`);
        dockerfile += "COPY Gemfile.lock /rails/Gemfile.lock\n";
    }
    fs.writeFileSync(path.join(ctx, "Dockerfile"), dockerfile);
    await docker.ok(["build", "-q", "-t", IMAGE, ctx], { env: { DOCKER_BUILDKIT: "1" } });
}

function migrate(queueDb = QUEUE_DB): Promise<ScriptRun> {
    return host.runScript("db-prepare", { IMAGE, ENV_FILE: envFile, PG_CONTAINER, DB_USER: pg.user, QUEUE_DB: queueDb });
}

/** Solid Queue's tables in a database (what db:prepare loaded). */
const queueTables = async (db = QUEUE_DB) => Number(await pg.psql("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'solid_queue_%'", db));

describe("db-prepare.sh: which task runs", () => {
    test("no data_migrate in the image: bin/rails db:prepare, then the queue tables are checked", async () => {
        await image({ dataMigrate: false });
        const r = await migrate();
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("no data_migrate in the image's Gemfile.lock: bin/rails db:prepare");
        // the stand-in's db:prepare created the queue database and loaded the schema, as Rails does on an empty one
        expect(r.stdout).toContain(`Loaded db/queue_schema into ${QUEUE_DB}`);
        expect(await queueTables()).toBe(11);
        expect(r.stdout).toContain(`db-prepare: Solid Queue's 11 tables are in ${QUEUE_DB}`);
        // --rm: the one-off containers are gone
        expect(await docker.ok(["ps", "-a", "--filter", `ancestor=${IMAGE}`, "--format", "{{.Names}}"])).toBe("");
    });

    test("data_migrate in the image: bin/rails db:prepare data:migrate", async () => {
        await image({ dataMigrate: true });
        const r = await migrate();
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("the image's Gemfile.lock has data_migrate: bin/rails db:prepare data:migrate");
    });

    test("no readable Gemfile.lock: says so and runs db:prepare", async () => {
        await image({});
        const r = await migrate();
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("cannot read Gemfile.lock in the image's working directory; assuming no data_migrate");
    });

    test("a failing task stops the step with its exit code, before the table check", async () => {
        await image({ dataMigrate: true });
        const failing = writeEnv(path.join(scratch, "failing.env"), { queueDb: "never_prepared_queue", extra: ["STANDIN_DB_PREPARE=fail"] });
        const r = await host.runScript("db-prepare", { IMAGE, ENV_FILE: failing, PG_CONTAINER, DB_USER: pg.user, QUEUE_DB: "never_prepared_queue" });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("db-prepare: FAILED: bin/rails db:prepare data:migrate exited 1");
        expect(r.stderr).not.toMatch(/cannot look up Solid Queue's tables/);
    });
});

describe("db-prepare.sh: failures (moved here from release-rollout.test.ts)", () => {
    test("a failed migration: its output with secrets redacted, the previous release kept", async () => {
        await image({ dataMigrate: false });
        // the stand-in's failure quotes DATABASE_URL, as a Rails connection error can
        const failing = writeEnv(path.join(scratch, "failing.env"), { extra: ["STANDIN_DB_PREPARE=fail"] });
        const r = await host.runScript("db-prepare", { IMAGE, ENV_FILE: failing, PG_CONTAINER, DB_USER: pg.user, QUEUE_DB });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("db-prepare: FAILED: bin/rails db:prepare exited 1");
        expect(r.stderr).toContain("the previous web and jobs containers keep running the previous release");
        expect(r.stderr).toContain("DATABASE_URL=[value of DATABASE_URL]");
        expect(r.stdout + r.stderr).not.toContain(pg.password);
        expect(r.stdout + r.stderr).not.toContain(MASTER_KEY);
    });

    test("a missing env file or image is named, and nothing runs", async () => {
        await image({ dataMigrate: false });
        const noEnv = await host.runScript("db-prepare", { IMAGE, ENV_FILE: path.join(scratch, "nope.env"), PG_CONTAINER, DB_USER: pg.user, QUEUE_DB });
        expect(noEnv.code).toBe(1);
        expect(noEnv.stderr).toMatch(/env file .*nope\.env is missing: the release's env-file step writes it first/);
        const noImage = await host.runScript("db-prepare", { IMAGE: "ghcr.io/shred-day/shred-day:v404", ENV_FILE: envFile, PG_CONTAINER, DB_USER: pg.user, QUEUE_DB });
        expect(noImage.code).toBe(1);
        expect(noImage.stderr).toMatch(/ghcr\.io\/shred-day\/shred-day:v404 is not on this host: the release's image-pull step pulls it first/);
    });
});

describe("db-prepare.sh: Solid Queue's tables", () => {
    test("db:prepare succeeded but the queue database has schema_migrations without the tables: fails naming db:schema:load:queue", async () => {
        await image({ dataMigrate: false });
        const half = writeEnv(path.join(scratch, "half.env"), { queueDb: "half_queue" });
        const r = await host.runScript("db-prepare", { IMAGE, ENV_FILE: half, PG_CONTAINER, DB_USER: pg.user, QUEUE_DB: "half_queue" });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("lacks 10 of Solid Queue's tables: solid_queue_processes solid_queue_ready_executions");
        expect(r.stderr).toContain(`docker run --rm --env-file ${half} ${IMAGE} bin/rails db:schema:load:queue`);
        expect(r.stderr).toContain("No worker was started and the web was not switched");
    });

    test("a queue database that does not exist fails the step", async () => {
        await image({ dataMigrate: false });
        // the app's QUEUE_DATABASE_URL names the real queue database; the step is told another one
        const r = await migrate("no_such_queue");
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/cannot look up Solid Queue's tables in no_such_queue/);
    });
});
