/**
 * db-prepare.sh (the release's migrate step), run for real over sshd against a real
 * PostgreSQL: which Rails task runs (data_migrate detected in the image's Gemfile.lock or
 * not), and the check that Solid Queue's tables are in the queue database afterwards. The
 * docker test double answers `docker image inspect` and `docker run` from files the test
 * writes, and forwards `docker exec ... psql` to the test cluster.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DockerDouble, HARNESS_START_TIMEOUT_MS, RemoteHost, ScriptRun, startRemoteHost, TestPostgres } from "../support/integration";

jest.setTimeout(30_000);

const IMAGE = "ghcr.io/shred-day/shred-day:v2";
const QUEUE_DB = "shred_day_production_queue";
const PG_CONTAINER = "shred-day-postgres";
const MASTER_KEY = "0123456789abcdef0123456789abcdef";
const PG_PASSWORD = "Sup3rSecretPgPassw0rd";

let host: RemoteHost;
let pg: TestPostgres;
let docker: DockerDouble;
let scratch: string;
let envFile: string;

beforeAll(async () => {
    host = await startRemoteHost({ queueDatabase: QUEUE_DB });
    ({ pg, docker } = host);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "i12-migrate-"));
    envFile = path.join(scratch, "web.env");
    fs.writeFileSync(envFile, `RAILS_MASTER_KEY=${MASTER_KEY}\nDATABASE_URL=postgres://shred_day:${PG_PASSWORD}@10.0.0.3:5432/shred_day_production\n`, { mode: 0o600 });
    // A queue database where schema_migrations exists but Solid Queue's tables do not.
    await pg.createDatabase("half_queue");
    await pg.psql("CREATE TABLE schema_migrations (version varchar PRIMARY KEY); CREATE TABLE solid_queue_jobs (id bigserial PRIMARY KEY);", "half_queue");
}, HARNESS_START_TIMEOUT_MS);

afterAll(async () => {
    await host?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
});

/**
 * The image: `grep -c` on its Gemfile.lock prints `gemfileCount` (exit 1 when 0, as grep does;
 * `undefined`: no Gemfile.lock, exit 2); `bin/rails ...` prints `railsOutput` and exits `railsCode`.
 */
function image(opts: { gemfileCount?: number; railsOutput?: string; railsCode?: number }) {
    docker.reset();
    const d = docker.dir;
    fs.writeFileSync(path.join(d, "rails-output"), opts.railsOutput ?? "");
    fs.writeFileSync(path.join(d, "rails-code"), String(opts.railsCode ?? 0));
    if (opts.gemfileCount === undefined) fs.rmSync(path.join(d, "gem-count"), { force: true });
    else fs.writeFileSync(path.join(d, "gem-count"), String(opts.gemfileCount));
    docker.respond(String.raw`
D="$DOCKER_DOUBLE_DIR"
case "$1" in
image) echo "sha256:v2" ;;
run)
  case " $* " in
  *" --entrypoint grep "*)
    [ -f "$D/gem-count" ] || { echo "grep: Gemfile.lock: No such file or directory" >&2; exit 2; }
    n=$(cat "$D/gem-count"); echo "$n"; [ "$n" -gt 0 ] || exit 1 ;;
  *) cat "$D/rails-output"; exit "$(cat "$D/rails-code")" ;;
  esac ;;
esac`);
}

function migrate(queueDb = QUEUE_DB): Promise<ScriptRun> {
    return host.runScript("db-prepare", { IMAGE, ENV_FILE: envFile, PG_CONTAINER, DB_USER: pg.user, QUEUE_DB: queueDb });
}

const runs = () => docker.calls().filter((c) => c[0] === "run");

describe("db-prepare.sh: which task runs", () => {
    test("no data_migrate in the image: bin/rails db:prepare, then the queue tables are checked (docker test double)", async () => {
        image({ gemfileCount: 0, railsOutput: "== 20251101 AddShredsIndex: migrated (0.01s) ==\n" });
        const r = await migrate();
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("no data_migrate in the image's Gemfile.lock: bin/rails db:prepare");
        expect(runs()).toEqual([
            ["run", "--rm", "--pull", "never", "--entrypoint", "grep", IMAGE, "-c", "-E", "^    data_migrate( |$)", "Gemfile.lock"],
            ["run", "--rm", "--name", expect.stringMatching(/^db-prepare-\d+-\d+$/), "--pull", "never", "--env-file", envFile, IMAGE, "bin/rails", "db:prepare"],
        ]);
        expect(r.stdout).toContain(`db-prepare: Solid Queue's 11 tables are in ${QUEUE_DB}`);
    });

    test("data_migrate in the image: bin/rails db:prepare data:migrate (docker test double)", async () => {
        image({ gemfileCount: 1 });
        const r = await migrate();
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("the image's Gemfile.lock has data_migrate: bin/rails db:prepare data:migrate");
        expect(runs()[1]).toEqual(["run", "--rm", "--name", expect.stringMatching(/^db-prepare-\d+-\d+$/), "--pull", "never", "--env-file", envFile, IMAGE, "bin/rails", "db:prepare", "data:migrate"]);
    });

    test("no readable Gemfile.lock: says so and runs db:prepare (docker test double)", async () => {
        image({});
        const r = await migrate();
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("cannot read Gemfile.lock in the image's working directory; assuming no data_migrate");
        expect(runs()[1].slice(-2)).toEqual(["bin/rails", "db:prepare"]);
    });

    test("a failing task stops the step with its exit code, before the table check (docker test double)", async () => {
        image({ gemfileCount: 1, railsOutput: "bin/rails aborted!\nDataMigrate::Error\n", railsCode: 3 });
        const r = await migrate();
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("db-prepare: FAILED: bin/rails db:prepare data:migrate exited 3");
        expect(docker.calls().filter((c) => c[0] === "exec")).toEqual([]);
    });
});

describe("db-prepare.sh: failures (moved here from release-rollout.test.ts)", () => {
    test("a failed migration: its output with secrets redacted, the previous release kept (docker test double)", async () => {
        image({ gemfileCount: 0, railsCode: 1, railsOutput: `bin/rails aborted!\nconnection: postgres://shred_day:${PG_PASSWORD}@10.0.0.3:5432/shred_day_production\nkey ${MASTER_KEY}\n` });
        const r = await migrate();
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("db-prepare: FAILED: bin/rails db:prepare exited 1");
        expect(r.stderr).toContain("the previous web and jobs containers keep running the previous release");
        expect(r.stderr).toContain("connection: [value of DATABASE_URL]");
        expect(r.stderr).toContain("key [value of RAILS_MASTER_KEY]");
        expect(r.stdout + r.stderr).not.toContain(PG_PASSWORD);
        expect(r.stdout + r.stderr).not.toContain(MASTER_KEY);
    });

    test("a missing env file or image is named, and nothing runs (docker test double)", async () => {
        image({ gemfileCount: 0 });
        const noEnv = await host.runScript("db-prepare", { IMAGE, ENV_FILE: path.join(scratch, "nope.env"), PG_CONTAINER, DB_USER: pg.user, QUEUE_DB });
        expect(noEnv.code).toBe(1);
        expect(noEnv.stderr).toMatch(/env file .*nope\.env is missing: the release's env-file step writes it first/);
        docker.respond(`[ "$1" = image ] && exit 1; exit 0`);
        const noImage = await migrate();
        expect(noImage.code).toBe(1);
        expect(noImage.stderr).toMatch(/ghcr\.io\/shred-day\/shred-day:v2 is not on this host: the release's image-pull step pulls it first/);
        expect(runs()).toEqual([]);
    });
});

describe("db-prepare.sh: Solid Queue's tables", () => {
    test("db:prepare succeeded but the queue database has schema_migrations without the tables: fails naming db:schema:load:queue (docker test double)", async () => {
        image({ gemfileCount: 0 });
        const r = await migrate("half_queue");
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("lacks 10 of Solid Queue's tables: solid_queue_processes solid_queue_ready_executions");
        expect(r.stderr).toContain(`docker run --rm --env-file ${envFile} ${IMAGE} bin/rails db:schema:load:queue`);
        expect(r.stderr).toContain("No worker was started and the web was not switched");
    });

    test("a queue database that does not exist fails the step (docker test double)", async () => {
        image({ gemfileCount: 0 });
        const r = await migrate("no_such_queue");
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/cannot look up Solid Queue's tables in no_such_queue/);
    });
});
