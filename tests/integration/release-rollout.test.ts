/**
 * The release's remote scripts (host-ready, env-file, image-pull, web-rollout, jobs-start,
 * jobs-proof, jobs-retire), run for real: the exact command text the command provider sends
 * (scriptCommand), over a real sshd on 127.0.0.1 (an unprivileged user), against a private
 * Docker engine (tests/support/docker.ts) with the Postgres container and the stand-in images:
 * the app (tests/support/images/app: bin/jobs registers in solid_queue_processes, the web
 * answers /up) and kamal-proxy (tests/support/images/kamal-proxy). Tests assert on the
 * engine's real state (docker ps/inspect, HTTP through the proxy) and on the database.
 *
 * No registry is reachable: the app image is the stand-in tagged with the release's
 * reference, so a "pull" of a present image is a no-op and a pull or login that needs the
 * network fails the way it fails on a host without one.
 *
 * Every test ends by checking that no secret value appears in any command text sent over SSH.
 */
import * as fs from "fs";
import * as path from "path";
import { jobsStartFacts } from "../../components/release";
import { ScriptParams } from "../../components/remote";
import { SECRETS } from "../support/fixtures";
import { TestDocker } from "../support/docker";
import { ContainerPostgres, HARNESS_START_TIMEOUT_MS, RemoteHost, ScriptRun, startRemoteHost, TEST_SSH_USER, testScratchDir, testSshAccount } from "../support/integration";

jest.setTimeout(120_000);

const SERVICE = "shred-day";
const IMAGE = "ghcr.io/shred-day/shred-day:v2";
const RELEASE = "4f2a9c01de";
const OLD_RELEASE = "0b1c2d3e4f";
const PROXY_IMAGE = "basecamp/kamal-proxy:v0.9.0";
const APP_HOST = "shred.day";
const POSTGRES = "shred-day-postgres";
const QUEUE_DB = "shred_day_production_queue";

let host: RemoteHost;
let pg: ContainerPostgres;
let docker: TestDocker;
let scratch: string;
let appImage: string;
let proxyImage: string;
/** Fakes of host tools other than docker (cloud-init, sysctl); tests add and remove them. */
let fakeBin: string;
/** Every command text sent over SSH in the current test. */
let sent: string[] = [];

/** The stack fixtures' secrets, as the env files and the registry login carry them; the DB password is the container's. */
const SECRET = {
    registry: SECRETS.registryPassword,
    masterKey: SECRETS.appSecrets.RAILS_MASTER_KEY,
    aws: SECRETS.appSecrets.AWS_SECRET_ACCESS_KEY,
};
const secretValues = () => [...Object.values(SECRET), pg.password];

const ENV_TEXT = (role: "web" | "jobs", extra: string[] = []) =>
    [
        `AWS_SECRET_ACCESS_KEY=${SECRET.aws}`,
        "DB_HOST=10.0.0.3",
        `DATABASE_URL=postgres://shred_day:${pg.password}@10.0.0.3:5432/shred_day_production`,
        ...(role === "jobs" ? ["JOB_CONCURRENCY=2", "STANDIN_HEARTBEAT_SECONDS=1"] : []),
        `QUEUE_DATABASE_URL=postgres://shred_day:${pg.password}@10.0.0.3:5432/${QUEUE_DB}`,
        `RAILS_MASTER_KEY=${SECRET.masterKey}`,
        ...(role === "web" ? ["WEB_CONCURRENCY=2"] : []),
        ...extra,
        "",
    ].join("\n");

beforeAll(async () => {
    scratch = testScratchDir("release", { forSessions: true });
    fakeBin = path.join(scratch, "fakebin");
    fs.mkdirSync(fakeBin);
    host = await startRemoteHost({
        env: (base) => ({ ...base, FAKE_DIR: scratch, PATH: `${fakeBin}:${base.PATH}` }),
        queueDatabase: QUEUE_DB,
    });
    ({ pg, docker } = host);
    appImage = await docker.image("app");
    proxyImage = await docker.image("kamal-proxy");
    await docker.tag(appImage, IMAGE);
    await docker.tag(proxyImage, PROXY_IMAGE);
    await pg.createDatabase("shred_day_production");
}, HARNESS_START_TIMEOUT_MS);

afterAll(async () => {
    await host?.stop(); // scratch: testScratchDir removes it
});

beforeEach(() => {
    sent = [];
    for (const f of fs.readdirSync(fakeBin)) fs.rmSync(path.join(fakeBin, f));
});

afterEach(() => {
    // No secret in any command text (the provider quotes it in errors).
    for (const secret of secretValues()) for (const command of sent) expect(command).not.toContain(secret);
});

async function run(name: string, params: ScriptParams, stdin?: string): Promise<ScriptRun> {
    const r = await host.runScript(name, params, { stdin, timeoutMs: 110_000 });
    sent.push(r.command);
    return r;
}

/** An env file the scripts can read (written as the ssh user would: 0600, owned by it). */
function envFile(name: string, text: string): string {
    const file = path.join(scratch, name);
    fs.writeFileSync(file, text, { mode: 0o600 });
    const { uid, gid } = testSshAccount();
    fs.chownSync(file, uid, gid);
    return file;
}

/** name -> state of every container (docker ps -a). */
async function containerStates(): Promise<Record<string, string>> {
    const out = await docker.ok(["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    return Object.fromEntries(out.split("\n").filter(Boolean).map((l) => l.split(" ") as [string, string]));
}

/** Containers, images and networks: compared before and after a step that must change nothing. */
async function engineState(): Promise<string> {
    const ps = await docker.ok(["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.State}} {{.Image}}"]);
    const images = await docker.ok(["images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"]);
    const nets = await docker.ok(["network", "ls", "--format", "{{.Name}}"]);
    return [ps, images, nets].map((t) => t.split("\n").sort().join("\n")).join("\n--\n");
}

async function inspect(name: string, format: string): Promise<string> {
    return docker.ok(["inspect", "--format", format, name]);
}

/** Remove every container of the app and the proxy (not Postgres) and the kamal network: a fresh host. */
async function freshHost(): Promise<void> {
    const names = (await docker.ok(["ps", "-a", "--format", "{{.Names}}"])).split("\n").filter((n) => n && n !== POSTGRES);
    if (names.length) await docker.ok(["rm", "-f", "-v", ...names]);
    await docker.run(["network", "rm", "kamal"]);
    await docker.run(["volume", "rm", "kamal-proxy-config"]);
}

/** A web container of an older release as our rollout or Kamal's would have left it. */
async function oldWeb(name: string, hostname: string, release: string, file: string): Promise<void> {
    await docker.ok([
        "run", "--detach", "--name", name, "--hostname", hostname, "--network", "kamal", "--restart", "unless-stopped",
        "--env-file", file, "--label", `service=${SERVICE}`, "--label", "role=web", "--label", `release=${release}`, IMAGE,
    ]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
describe("host-ready.sh", () => {
    const fake = (name: string, body: string) => fs.writeFileSync(path.join(fakeBin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    const sysctlFile = () => path.join(scratch, "sysctl.d", "60-shred-day.conf");
    beforeEach(() => {
        fs.rmSync(path.join(scratch, "sysctl.d"), { recursive: true, force: true });
        fs.rmSync(path.join(scratch, "calls-host"), { force: true });
        fs.writeFileSync(path.join(scratch, "nonlocal"), "0\n");
        const { uid, gid } = testSshAccount();
        fs.chownSync(path.join(scratch, "nonlocal"), uid, gid);
        fake("sysctl", `echo "sysctl $*" >> "$FAKE_DIR/calls-host"
if [ "$1" = -n ]; then cat "$FAKE_DIR/nonlocal"; elif [ "$2" = -w ]; then echo 1 > "$FAKE_DIR/nonlocal"; fi`);
        // Always a fake: this machine has a real cloud-init (for the cloud-config tests).
        fake("cloud-init", `echo "cloud-init $*" >> "$FAKE_DIR/calls-host"; echo "status: done"`);
    });

    test("waits for cloud-init, sets ip_nonlocal_bind now and at boot, and reads the real engine's version; a re-run changes nothing", async () => {
        const r = await run("host-ready", { SYSCTL_FILE: sysctlFile() });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("host-ready: cloud-init is done");
        expect(r.stdout).toContain(`host-ready: wrote ${sysctlFile()}`);
        expect(r.stdout).toContain("host-ready: set net.ipv4.ip_nonlocal_bind=1");
        expect(r.stdout).toMatch(/host-ready: docker 20\.10\.\d+\S* is up/);
        expect(fs.readFileSync(sysctlFile(), "utf8")).toBe("net.ipv4.ip_nonlocal_bind = 1\n");
        expect(fs.readFileSync(path.join(scratch, "calls-host"), "utf8")).toMatch(/^cloud-init status --wait\n/);

        const again = await run("host-ready", { SYSCTL_FILE: sysctlFile() });
        expect(again.code).toBe(0);
        expect(again.stdout).not.toMatch(/wrote|set net/);
    });

    test("cloud-init done with recoverable errors (exit 2) is a warning, not a failure", async () => {
        fake("cloud-init", `echo "status: degraded done"; exit 2`);
        const r = await run("host-ready", { SYSCTL_FILE: sysctlFile() });
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("cloud-init is done, with recoverable errors");
    });

    test("cloud-init failed: exits 1 with its long status", async () => {
        fake("cloud-init", `if [ "$2" = --long ]; then echo "status: error"; echo "errors: package docker.io not found"; fi; exit 1`);
        const r = await run("host-ready", { SYSCTL_FILE: sysctlFile() });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("host-ready: cloud-init failed (exit 1); the server's first boot did not complete.");
        expect(r.stderr).toContain("errors: package docker.io not found");
        expect(r.stderr).toContain("/var/log/cloud-init-output.log");
    });

    test("a docker daemon that does not answer fails within DOCKER_WAIT_SECONDS, quoting the engine's client", async () => {
        const sock = path.join(scratch, "no-daemon.sock");
        const r = await run("host-ready", { SYSCTL_FILE: sysctlFile(), DOCKER_WAIT_SECONDS: 0, DOCKER_HOST: `unix://${sock}` });
        expect(r.code).toBe(1);
        // Debian's 20.10 client: `docker info --format` with no daemon fails on the template ("nil pointer ... Info"), the
        // "Cannot connect" line may not even reach the capture: the message carries whatever the client said
        expect(r.stderr).toMatch(/the docker daemon does not answer after 0s:\s*\S/);
        expect(r.stderr).toMatch(/Cannot connect to the Docker daemon|reflect: indirection through nil pointer/);
        expect(r.stderr).toContain("systemctl status docker");
    });
});

// ---------------------------------------------------------------------------------------
describe("env-file.sh", () => {
    let n = 0;
    const newDir = () => path.join(scratch, `env-${++n}`, "shred-day");
    const owner = () => ({ ENV_OWNER: TEST_SSH_USER }); // the test sshd's user (root on the servers, the default)

    test("writes ENV_DIR/ROLE.env from stdin, exactly, 0600 in a 0700 dir, printing names only; a re-run changes nothing", async () => {
        const dir = newDir();
        const r = await run("env-file", { ENV_DIR: dir, ROLE: "web", ...owner() }, ENV_TEXT("web"));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const file = path.join(dir, "web.env");
        expect(fs.readFileSync(file, "utf8")).toBe(ENV_TEXT("web"));
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        expect(fs.statSync(file).uid).toBe(testSshAccount().uid);
        expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
        expect(r.stdout).toBe(
            `env-file: wrote ${file}, root-only 0600 (6 variables: AWS_SECRET_ACCESS_KEY DB_HOST DATABASE_URL QUEUE_DATABASE_URL RAILS_MASTER_KEY WEB_CONCURRENCY)\n`,
        );
        for (const value of [...secretValues(), "10.0.0.3", "postgres://"]) expect(r.stdout + r.stderr).not.toContain(value);

        const before = fs.statSync(file);
        const again = await run("env-file", { ENV_DIR: dir, ROLE: "web", ...owner() }, ENV_TEXT("web"));
        expect(again.code).toBe(0);
        expect(again.stdout).toMatch(/^env-file: .*web\.env unchanged \(6 variables: /);
        const after = fs.statSync(file);
        expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
        expect(fs.readdirSync(dir)).toEqual(["web.env"]);
    });

    test("the file is what the real `docker run --env-file` reads: quotes kept literally, '=' in values, empty values", async () => {
        const dir = newDir();
        const text = ["QUOTED=\"in quotes\"", "SINGLE='x'", "WITH_EQUALS=a=b==c", "EMPTY=", "SPACES=  padded  ", ""].join("\n");
        const r = await run("env-file", { ENV_DIR: dir, ROLE: "web", ...owner() }, text);
        expect(r.code).toBe(0);
        const out = await docker.ok(["run", "--rm", "--env-file", path.join(dir, "web.env"), appImage, "bash", "-c", 'printf "%s|" "$QUOTED" "$SINGLE" "$WITH_EQUALS" "${EMPTY-unset}" "$SPACES"']);
        // docker takes values literally: the quotes stay, nothing is trimmed on the right, EMPTY is set and empty
        expect(out).toBe('"in quotes"|\'x\'|a=b==c||  padded  |');
    });

    test("a changed env replaces the file atomically (rename), still 0600; a loose dir mode is tightened", async () => {
        const dir = newDir();
        await run("env-file", { ENV_DIR: dir, ROLE: "jobs", ...owner() }, ENV_TEXT("jobs"));
        fs.chmodSync(dir, 0o755);
        const file = path.join(dir, "jobs.env");
        const before = fs.statSync(file).ino;
        const changed = ENV_TEXT("jobs").replace("JOB_CONCURRENCY=2", "JOB_CONCURRENCY=4");
        const r = await run("env-file", { ENV_DIR: dir, ROLE: "jobs", ...owner() }, changed);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("JOB_CONCURRENCY");
        expect(fs.readFileSync(file, "utf8")).toBe(changed);
        expect(fs.statSync(file).ino).not.toBe(before);
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    });

    test("refuses a malformed line, SOLID_QUEUE_IN_PUMA or an empty stdin without printing any value, and keeps the old file", async () => {
        const dir = newDir();
        await run("env-file", { ENV_DIR: dir, ROLE: "web", ...owner() }, ENV_TEXT("web"));
        const cases: [string, RegExp][] = [
            [`${ENV_TEXT("web")}${SECRET.masterKey}\n`, /line 7 of the web env on stdin is not NAME=value \(its content is not shown: it may be secret\); nothing was written/],
            [`${ENV_TEXT("web")}SOLID_QUEUE_IN_PUMA=false\n`, /the web env sets SOLID_QUEUE_IN_PUMA \(line 7\): any non-empty value starts Solid Queue inside Puma/],
            [`${ENV_TEXT("web")}RAILS_MASTER_KEY=${SECRET.masterKey}x\n`, /the web env sets RAILS_MASTER_KEY more than once; nothing was written/],
            ["", /the web env on stdin is empty; nothing was written/],
        ];
        for (const [stdin, message] of cases) {
            const r = await run("env-file", { ENV_DIR: dir, ROLE: "web", ...owner() }, stdin);
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(message);
            for (const value of secretValues()) expect(r.stdout + r.stderr).not.toContain(value);
            expect(fs.readFileSync(path.join(dir, "web.env"), "utf8")).toBe(ENV_TEXT("web"));
            expect(fs.readdirSync(dir)).toEqual(["web.env"]);
        }
        const role = await run("env-file", { ENV_DIR: dir, ROLE: "worker", ...owner() }, ENV_TEXT("web"));
        expect(role.code).toBe(1);
        expect(role.stderr).toMatch(/ROLE must be web or jobs, got 'worker'/);
    });
});

// ---------------------------------------------------------------------------------------
describe("image-pull.sh", () => {
    const REPO = "ghcr.io/shred-day/shred-day";
    const params = (overrides: ScriptParams = {}): ScriptParams => ({ IMAGE, REGISTRY_SERVER: "ghcr.io", REGISTRY_USER: "shred-day", KEEP_IMAGES: 3, ...overrides });
    const tagsOf = async (repo: string) => (await docker.ok(["images", "--format", "{{.Tag}}", repo])).split("\n").filter(Boolean).sort();

    /**
     * Distinct images (own IDs) REPO:tag, committed one after another so `docker images` lists the
     * last newest first. (BuildKit gives a metadata-only build the base's creation time, so
     * `docker images` would not order them by build.)
     */
    async function buildTags(repo: string, tags: string[]): Promise<void> {
        await docker.run(["rm", "-f", "tag-source"]);
        await docker.ok(["create", "--name", "tag-source", appImage, "true"]);
        for (const tag of tags) {
            await docker.ok(["commit", "--change", `LABEL org.shred-day.test-tag=${tag}`, "tag-source", `${repo}:${tag}`]);
            await sleep(1100); // image creation times are listed by the second
        }
        await docker.ok(["rm", "-f", "tag-source"]);
    }

    test("present image (a re-run, or a rollback to a kept tag): no login, no pull, stdin unread, nothing changes", async () => {
        const before = await engineState();
        const r = await run("image-pull", params(), `${SECRET.registry}\n`);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`image-pull: ${IMAGE} is already present; no pull`);
        expect(await engineState()).toBe(before);
    });

    test("image missing and the registry unreachable: docker login is refused with the engine's error; nothing is pulled, the password never shown", async () => {
        const missing = `${REPO}:v404`;
        const r = await run("image-pull", params({ IMAGE: missing }), `${SECRET.registry}\n`);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/docker login to ghcr\.io as shred-day failed; check shred-day:registryPassword/);
        expect(r.stderr).toMatch(/docker said: .*(Error response from daemon|error during connect|dial tcp|lookup ghcr\.io|no such host|network is unreachable)/s);
        expect(r.stdout + r.stderr).not.toContain(SECRET.registry);
        expect((await docker.run(["image", "inspect", missing])).code).toBe(1);
    });

    test("image missing without a registry login (a public image): docker pull fails with the engine's error", async () => {
        const missing = "shred-day-test/public:v404";
        const r = await run("image-pull", params({ IMAGE: missing, REGISTRY_SERVER: "", REGISTRY_USER: "" }), "");
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`docker pull ${missing} failed. Check that the tag was pushed and that the registry credentials can read it.`);
        expect(r.stderr).toMatch(/docker said: .*(Error response from daemon|dial tcp|lookup|no such host|network is unreachable)/s);
    });

    test("no password on stdin for an absent private image: refused before any login", async () => {
        const r = await run("image-pull", params({ IMAGE: `${REPO}:v405` }), "");
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/no registry password on stdin \(the first line must be shred-day:registryPassword\) for shred-day@ghcr.io/);
    });

    test("prunes the repository's images beyond KEEP_IMAGES, keeps the current one and any in use; a re-run prunes nothing", async () => {
        const repo = "registry.local:5000/shred-day/pruned";
        await buildTags(repo, ["v1", "v2", "v3", "v4", "v5", "v6"]);
        await docker.ok(["create", "--name", "uses-v3", `${repo}:v3`]); // a stopped container still uses v3
        const v3id = (await inspect("uses-v3", "{{.Id}}")).slice(0, 12);
        try {
            // rolling back to v2: present, so no pull; v6, v5, v4 are the 3 most recent
            const r = await run("image-pull", params({ IMAGE: `${repo}:v2`, REGISTRY_SERVER: "registry.local:5000", KEEP_IMAGES: 3 }), `${SECRET.registry}\n`);
            expect(r.stderr).toBe("");
            expect(r.code).toBe(0);
            expect(r.stdout).toMatch(new RegExp(`image-pull: keeping ${repo.replace(/[.]/g, "\\.")}:v3: used by container\\(s\\) ${v3id}`));
            expect(r.stdout).toContain(`image-pull: pruned ${repo}:v1`);
            expect(await tagsOf(repo)).toEqual(["v2", "v3", "v4", "v5", "v6"]);

            const before = await engineState();
            const again = await run("image-pull", params({ IMAGE: `${repo}:v2`, REGISTRY_SERVER: "registry.local:5000", KEEP_IMAGES: 3 }), `${SECRET.registry}\n`);
            expect(again.code).toBe(0);
            expect(again.stdout).toMatch(/pruned 0$/m);
            expect(await engineState()).toBe(before);
        } finally {
            await docker.run(["rm", "-f", "uses-v3"]);
        }
    });
});

// ---------------------------------------------------------------------------------------
describe("web-rollout.sh", () => {
    const NEW = `${SERVICE}-web-${RELEASE}`;
    const OURS_OLD = `${SERVICE}-web-${OLD_RELEASE}`;
    const KAMAL_OLD = `${SERVICE}-web-9c1e2f3a4b5c6d7e`; // Kamal 2's container of the old setup
    const params = (file: string, overrides: ScriptParams = {}): ScriptParams => ({
        SERVICE,
        IMAGE,
        ENV_FILE: file,
        RELEASE,
        APP_HOST,
        PROXY_IMAGE,
        CONTAINER_HOSTNAME: `shred-day-web-${RELEASE}`,
        STOP_TIMEOUT: 30,
        DEPLOY_TIMEOUT: 20,
        ...overrides,
    });
    /** What the proxy serves for APP_HOST on port 80 of the host (inside the engine's namespace). */
    const served = () => docker.http("127.0.0.1", 80, "/", { host: APP_HOST });

    beforeEach(() => freshHost());

    test("fresh host: creates the network and kamal-proxy (80/443, unless-stopped, state volume), starts the release with its env file and labels, and the proxy serves it", async () => {
        const file = envFile("web.env", ENV_TEXT("web"));
        const r = await run("web-rollout", params(file));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/done; shred-day-web-4f2a9c01de serves shred\.day, 0 old web container\(s\) retired/);

        expect(await inspect("kamal", "{{.Driver}}")).toBe("bridge");
        expect(await inspect("kamal-proxy", "{{.State.Running}} {{.HostConfig.RestartPolicy.Name}} {{.Config.Image}}")).toBe(`true unless-stopped ${PROXY_IMAGE}`);
        expect((await docker.ok(["port", "kamal-proxy"])).split("\n").sort()).toEqual(["443/tcp -> 0.0.0.0:443", "80/tcp -> 0.0.0.0:80"].concat(
            (await docker.ok(["port", "kamal-proxy"])).includes(":::") ? ["443/tcp -> :::443", "80/tcp -> :::80"] : [],
        ).sort());
        expect(await inspect("kamal-proxy", '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}')).toBe("volume kamal-proxy-config /home/kamal-proxy/.config/kamal-proxy");

        expect(await inspect(NEW, "{{.State.Running}} {{.Config.Hostname}} {{.HostConfig.RestartPolicy.Name}} {{.Config.StopTimeout}} {{.HostConfig.LogConfig.Config}}")).toBe(
            `true shred-day-web-${RELEASE} unless-stopped 30 map[max-size:10m]`,
        );
        expect(await inspect(NEW, '{{index .Config.Labels "service"}} {{index .Config.Labels "role"}} {{index .Config.Labels "release"}}')).toBe(`shred-day web ${RELEASE}`);
        expect(await inspect(NEW, "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}")).toBe("kamal");
        const env = JSON.parse(await inspect(NEW, "{{json .Config.Env}}")) as string[];
        expect(env).toEqual(expect.arrayContaining(ENV_TEXT("web").split("\n").filter(Boolean)));

        // kamal-proxy switched shred.day to the new container, which answers
        expect(await docker.ok(["exec", "kamal-proxy", "kamal-proxy", "list"])).toMatch(new RegExp(`shred-day-web\\s+shred\\.day\\s+${NEW}:80\\s+running\\s+yes`));
        const page = await served();
        expect(page).toEqual({ status: 200, body: `release=unknown host=shred-day-web-${RELEASE}\n` });
    });

    test("after a healthy deploy the old web containers (ours and Kamal's) are stopped and removed, other roles untouched; a re-run changes nothing", async () => {
        const file = envFile("web.env", ENV_TEXT("web"));
        await docker.ok(["network", "create", "kamal"]);
        await oldWeb(OURS_OLD, `shred-day-web-${OLD_RELEASE}`, OLD_RELEASE, file);
        await oldWeb(KAMAL_OLD, "91.99.62.190-a1b2c3d4e5f6", "", file);
        await docker.ok(["run", "--detach", "--name", `${SERVICE}-jobs-${OLD_RELEASE}`, "--label", `service=${SERVICE}`, "--label", "role=jobs", appImage, "sleep", "600"]);
        const r = await run("web-rollout", params(file, { STOP_TIMEOUT: 45 }));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("2 old web container(s) retired");
        expect(r.stdout).toContain("web-rollout: network kamal exists");
        const states = await containerStates();
        expect(states[OURS_OLD]).toBeUndefined();
        expect(states[KAMAL_OLD]).toBeUndefined();
        expect(states[`${SERVICE}-jobs-${OLD_RELEASE}`]).toBe("running");
        expect(states[NEW]).toBe("running");
        expect((await served()).body).toContain(`host=shred-day-web-${RELEASE}`);

        const before = await engineState();
        const again = await run("web-rollout", params(file, { STOP_TIMEOUT: 45 }));
        expect(again.code).toBe(0);
        expect(again.stdout).toContain(`web-rollout: ${NEW} is already running`);
        expect(await engineState()).toBe(before);
    });

    test("proxy deploy fails (never healthy on /up): kamal-proxy keeps serving the old one, nothing old is stopped, the new one is stopped and removed, logs shown redacted, exit 1", async () => {
        const oldFile = envFile("web-old.env", ENV_TEXT("web"));
        const first = await run("web-rollout", params(oldFile, { RELEASE: OLD_RELEASE, CONTAINER_HOSTNAME: `shred-day-web-${OLD_RELEASE}` }));
        expect(first.code).toBe(0);
        await oldWeb(KAMAL_OLD, "91.99.62.190-a1b2c3d4e5f6", "", oldFile);

        const badFile = envFile("web.env", ENV_TEXT("web", ["STANDIN_WEB=unhealthy"]));
        const r = await run("web-rollout", params(badFile, { DEPLOY_TIMEOUT: 4 }));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`web-rollout: FAILED: ${NEW} did not become healthy on /up within 4s, or kamal-proxy refused the deploy.`);
        expect(r.stderr).toContain("kamal-proxy said: Error: target failed to become healthy within configured timeout (4s)");
        expect(r.stderr).toContain(`kamal-proxy keeps serving shred.day from the previous container; no old container was stopped. ${NEW} was stopped and removed`);
        expect(r.stderr).toMatch(/standin-web: listening on 80/);
        for (const value of secretValues()) expect(r.stdout + r.stderr).not.toContain(value);
        const states = await containerStates();
        expect(states).toMatchObject({ "kamal-proxy": "running", [OURS_OLD]: "running", [KAMAL_OLD]: "running" });
        // Removed, not left stopped: a corrected up does not run the web step again (its inputs are the last good ones).
        expect(states[NEW]).toBeUndefined();
        expect((await served()).body).toContain(`host=shred-day-web-${OLD_RELEASE}`);
    });

    test("a container that exits at once fails the deploy the same way; the old release keeps serving", async () => {
        const oldFile = envFile("web-old.env", ENV_TEXT("web"));
        expect((await run("web-rollout", params(oldFile, { RELEASE: OLD_RELEASE, CONTAINER_HOSTNAME: `shred-day-web-${OLD_RELEASE}` }))).code).toBe(0);
        const crashFile = envFile("web.env", ENV_TEXT("web", ["STANDIN_WEB=crash"]));
        const r = await run("web-rollout", params(crashFile, { DEPLOY_TIMEOUT: 4 }));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("kamal-proxy said: Error: target failed to become healthy within configured timeout (4s)");
        expect(r.stderr).toContain("standin-web: told to crash");
        // restart unless-stopped kept restarting it until the script stopped and removed it: nothing of it is left.
        expect((await containerStates())[NEW]).toBeUndefined();
        expect((await served()).body).toContain(`host=shred-day-web-${OLD_RELEASE}`);
    });

    test("an existing proxy on another image is kept, with a note; a stopped one is started; a missing network is created and the proxy connected", async () => {
        await docker.tag(proxyImage, "basecamp/kamal-proxy:v0.9.1");
        await docker.ok(["network", "create", "other"]);
        await docker.ok(["create", "--name", "kamal-proxy", "--network", "other", "--publish", "80:80", "--label", "service=kamal-proxy", "basecamp/kamal-proxy:v0.9.1"]);
        const file = envFile("web.env", ENV_TEXT("web"));
        const r = await run("web-rollout", params(file));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("web-rollout: created network kamal");
        expect(r.stdout).toContain("note: kamal-proxy runs basecamp/kamal-proxy:v0.9.1, not basecamp/kamal-proxy:v0.9.0; it is kept");
        expect(await inspect("kamal-proxy", "{{.State.Running}} {{.Config.Image}}")).toBe("true basecamp/kamal-proxy:v0.9.1");
        expect((await inspect("kamal-proxy", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}")).trim().split(" ").sort()).toEqual(["kamal", "other"]);
        expect((await served()).body).toContain(`host=shred-day-web-${RELEASE}`);
        await docker.run(["rm", "-f", "kamal-proxy"]);
        await docker.run(["network", "rm", "other"]);
    });

    test("port 80 already taken on the host: the proxy cannot start, the script says so, and no app container is started", async () => {
        await docker.ok(["run", "--detach", "--name", "squatter", "--publish", "80:8080", appImage, "sleep", "600"]);
        const file = envFile("web.env", ENV_TEXT("web"));
        const r = await run("web-rollout", params(file));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`cannot start the proxy container kamal-proxy from ${PROXY_IMAGE} (are ports 80 and 443 free on this host?)`);
        expect(r.stderr).toMatch(/port is already allocated|address already in use/);
        const states = await containerStates();
        expect(states[NEW]).toBeUndefined();
        // the engine leaves the proxy created but not running: a re-run after freeing the port starts it
        expect(states["kamal-proxy"]).toBe("created");
        await docker.ok(["rm", "-f", "squatter"]);
        const again = await run("web-rollout", params(file));
        expect(again.stderr).toBe("");
        expect(again.code).toBe(0);
        expect(again.stdout).toContain("web-rollout: started the existing kamal-proxy");
    });

    test("refuses a stop timeout under 30 s before touching anything", async () => {
        const file = envFile("web.env", ENV_TEXT("web"));
        const before = await engineState();
        const r = await run("web-rollout", params(file, { STOP_TIMEOUT: 10 }));
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/STOP_TIMEOUT must be at least 30 seconds/);
        expect(await engineState()).toBe(before);
    });
});

// ---------------------------------------------------------------------------------------
describe("jobs rollout: jobs-start, jobs-proof, jobs-retire", () => {
    const HOSTNAME = `shred-day-jobs-ubuntu-${RELEASE}`;
    const NEW = `${SERVICE}-jobs-${RELEASE}`;
    const OLD = `${SERVICE}-jobs-${OLD_RELEASE}`;
    const startParams = (file: string, overrides: ScriptParams = {}): ScriptParams => ({
        SERVICE,
        IMAGE,
        ENV_FILE: file,
        RELEASE,
        CONTAINER_HOSTNAME: HOSTNAME,
        STOP_TIMEOUT: 30,
        ...overrides,
    });
    /**
     * jobs-start's facts line read as the release reads it (jobsStartFacts in components/release.ts): the
     * proof's lower bound is its `since`, retire takes STARTED_AT and RESTART_COUNT.
     */
    const facts = (out: string) => {
        const f = jobsStartFacts(out);
        if (f.startedAt === "unknown" || f.since === "unknown") throw new Error(`no facts line in: ${out}`);
        return f;
    };
    /** jobs-retire's params from the facts, as components/release.ts builds them. */
    const retireFacts = (f: ReturnType<typeof facts>) => ({ STARTED_AT: f.startedAt, RESTART_COUNT: f.restartCount });
    /** `since`: the facts' since, as components/release.ts builds JOBS_HOSTS (HOSTNAME,SINCE). */
    const proofParams = (since: string, overrides: ScriptParams = {}): ScriptParams => ({
        CONTAINER: POSTGRES,
        DB_USER: pg.user,
        QUEUE_DB,
        JOBS_HOSTS: `${HOSTNAME},${since}`,
        JOB_CONCURRENCY: 2,
        LIVE_SECONDS: 300,
        HEARTBEAT_SECONDS: 1,
        TIMEOUT_SECONDS: 60,
        INTERVAL_SECONDS: 2,
        ...overrides,
    });
    const processes = async () =>
        (await pg.psql("SELECT hostname || ' ' || kind FROM solid_queue_processes ORDER BY hostname, kind", QUEUE_DB)).split("\n").filter(Boolean);

    beforeEach(async () => {
        await freshHost();
        await pg.psql("TRUNCATE solid_queue_processes, solid_queue_jobs RESTART IDENTITY CASCADE;", QUEUE_DB);
    });

    async function startOld(file: string, command: string[] = ["bin/jobs"]): Promise<void> {
        await docker.ok([
            "run", "--detach", "--name", OLD, "--hostname", `shred-day-jobs-ubuntu-${OLD_RELEASE}`, "--restart", "unless-stopped",
            "--env-file", file, "--label", `service=${SERVICE}`, "--label", "role=jobs", "--label", `release=${OLD_RELEASE}`, IMAGE, ...command,
        ]);
    }

    test("start (old keeps running) -> proof on the real registrations -> retire stops the old release with its timeout", async () => {
        const file = envFile("jobs.env", ENV_TEXT("jobs"));
        // one engine plays the web and the jobs host here: a live old bin/jobs would be Solid Queue in a web-host container to the proof
        await startOld(file, ["sleep", "3600"]);

        const start = await run("jobs-start", startParams(file));
        expect(start.stderr).toBe("");
        expect(start.code).toBe(0);
        const f = facts(start.stdout);
        expect(f.startedAt).toBe(await inspect(NEW, "{{.State.StartedAt}}"));
        // never restarted: the proof's bound is the container's Created time (see jobs-start.sh)
        expect(f.restartCount).toBe("0");
        expect(f.since).toBe(await inspect(NEW, "{{.Created}}"));
        expect(await inspect(NEW, "{{.State.Running}} {{.Config.Hostname}} {{.HostConfig.RestartPolicy.Name}} {{.Config.StopTimeout}} {{json .Config.Cmd}}")).toBe(
            `true ${HOSTNAME} unless-stopped 30 ["bin/jobs"]`,
        );
        expect((await containerStates())[OLD]).toBe("running");

        const proof = await run("jobs-proof", proofParams(f.since));
        expect(proof.stderr).toBe("");
        expect(proof.code).toBe(0);
        // the stand-in registered a supervisor, JOB_CONCURRENCY workers and a dispatcher under the container's hostname
        expect((await processes()).filter((p) => p.startsWith(HOSTNAME))).toEqual([`${HOSTNAME} Dispatcher`, `${HOSTNAME} Supervisor`, `${HOSTNAME} Worker`, `${HOSTNAME} Worker`]);

        const retire = await run("jobs-retire", { SERVICE, RELEASE, STOP_TIMEOUT: 30, ...retireFacts(f) });
        expect(retire.stderr).toBe("");
        expect(retire.code).toBe(0);
        expect(retire.stdout).toContain(`jobs-retire: stopped (within 30s) and removed ${OLD}`);
        const states = await containerStates();
        expect(states[OLD]).toBeUndefined();
        expect(states[NEW]).toBe("running");

        // Both are idempotent: a second run of each changes nothing.
        const before = await engineState();
        expect((await run("jobs-start", startParams(file))).stdout).toContain(`jobs-start: ${NEW} is already running (hostname ${HOSTNAME}); nothing to do`);
        expect((await run("jobs-retire", { SERVICE, RELEASE, STOP_TIMEOUT: 30, ...retireFacts(f) })).stdout).toContain("0 old worker container(s) retired");
        expect(await engineState()).toBe(before);
    });

    test("the new worker runs jobs: a job enqueued in the queue database is claimed and finished", async () => {
        const file = envFile("jobs.env", ENV_TEXT("jobs"));
        expect((await run("jobs-start", startParams(file))).code).toBe(0);
        await pg.psql(
            `INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, created_at, updated_at) VALUES ('default', 'NoopJob', '1', now(), now());
             INSERT INTO solid_queue_ready_executions (job_id, queue_name, created_at) SELECT id, 'default', now() FROM solid_queue_jobs;`,
            QUEUE_DB,
        );
        let done = "";
        for (let i = 0; i < 60 && done !== "t"; i++) {
            await sleep(500);
            done = await pg.psql("SELECT finished_at IS NOT NULL FROM solid_queue_jobs", QUEUE_DB);
        }
        expect(done).toBe("t");
        expect(await docker.ok(["logs", NEW])).toMatch(/worker \d+ finished job 1/);
    });

    test("a worker that exits at once: the proof fails within its bound, retire stops nothing (the old worker keeps running)", async () => {
        const oldFile = envFile("jobs-old.env", ENV_TEXT("jobs"));
        await startOld(oldFile);
        const file = envFile("jobs.env", ENV_TEXT("jobs", ["STANDIN_JOBS=crash"]));
        const start = await run("jobs-start", startParams(file));
        expect(start.code).toBe(0);
        const f = facts(start.stdout);
        const proof = await run("jobs-proof", proofParams(f.since, { TIMEOUT_SECONDS: 6 }));
        expect(proof.code).not.toBe(0);
        const retire = await run("jobs-retire", { SERVICE, RELEASE, STOP_TIMEOUT: 30, ...retireFacts(f) });
        expect(retire.code).toBe(1);
        expect(retire.stderr).toContain(`the current worker ${NEW} restarted or stopped since jobs-start (a crash loop?), so the previous workers are kept (nothing was stopped) and the web is not switched.`);
        expect((await containerStates())[OLD]).toBe("running");
    });

    test("a restart loop: State.Running stays true while the engine restarts it, RestartCount climbs, fresh rows appear per start; retire refuses", async () => {
        const oldFile = envFile("jobs-old.env", ENV_TEXT("jobs"));
        await startOld(oldFile);
        const file = envFile("jobs.env", ENV_TEXT("jobs", ["STANDIN_JOBS=crashloop"]));
        const start = await run("jobs-start", startParams(file));
        expect(start.code).toBe(0);
        const f = facts(start.stdout);
        // watch the engine: Running true while Restarting, RestartCount going up
        const seen = new Set<string>();
        let count = 0;
        for (let i = 0; i < 300 && (count < 3 || !seen.has("true true")); i++) {
            await sleep(80);
            const [running, restarting, restarts] = (await inspect(NEW, "{{.State.Running}} {{.State.Restarting}} {{.RestartCount}}")).split(" ");
            seen.add(`${running} ${restarting}`);
            count = Number(restarts);
        }
        expect(count).toBeGreaterThanOrEqual(2);
        expect(seen.has("true true")).toBe(true); // what the double never showed: "running" during the restart
        expect(Number(await pg.psql(`SELECT count(*) FROM solid_queue_processes WHERE hostname = '${HOSTNAME}' AND kind = 'Supervisor'`, QUEUE_DB))).toBeGreaterThanOrEqual(2);
        const retire = await run("jobs-retire", { SERVICE, RELEASE, STOP_TIMEOUT: 30, ...retireFacts(f) });
        expect(retire.code).toBe(1);
        expect(retire.stderr).toContain("restarted or stopped since jobs-start (a crash loop?)");
        expect((await containerStates())[OLD]).toBe("running");
    });

    test("stop timeout reached: a worker busy past the timeout is killed (exit 137), its claimed job stays claimed, and retire still removes it", async () => {
        // the old worker runs a 60 s job and waits for it on TERM (shutdown timeout 60 s) longer than the stop timeout (10 s)
        const oldFile = envFile("jobs-old.env", ENV_TEXT("jobs", ["SOLID_QUEUE_SHUTDOWN_TIMEOUT=60"]));
        await startOld(oldFile);
        await pg.psql(
            `INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, created_at, updated_at) VALUES ('default', 'SlowJob', '60', now(), now());
             INSERT INTO solid_queue_ready_executions (job_id, queue_name, created_at) SELECT id, 'default', now() FROM solid_queue_jobs;`,
            QUEUE_DB,
        );
        let claimed = "0";
        for (let i = 0; i < 60 && claimed === "0"; i++) {
            await sleep(500);
            claimed = await pg.psql("SELECT count(*) FROM solid_queue_claimed_executions", QUEUE_DB);
        }
        expect(claimed).toBe("1");
        const file = envFile("jobs.env", ENV_TEXT("jobs"));
        const start = await run("jobs-start", startParams(file, { STOP_TIMEOUT: 10 }));
        expect(start.code).toBe(0);
        const t0 = Date.now();
        const retire = await run("jobs-retire", { SERVICE, RELEASE, STOP_TIMEOUT: 10, ...retireFacts(facts(start.stdout)) });
        const ms = Date.now() - t0;
        expect(retire.stderr).toBe("");
        expect(retire.code).toBe(0);
        expect(ms).toBeGreaterThanOrEqual(9_000); // docker stop waited the whole timeout, then killed
        expect(ms).toBeLessThan(40_000);
        expect((await containerStates())[OLD]).toBeUndefined();
        // killed, not shut down: the job is still claimed by a process whose row stays until Solid Queue prunes it
        expect(await pg.psql("SELECT count(*) FROM solid_queue_claimed_executions", QUEUE_DB)).toBe("1");
        expect(await pg.psql(`SELECT count(*) > 0 FROM solid_queue_processes WHERE hostname = 'shred-day-jobs-ubuntu-${OLD_RELEASE}'`, QUEUE_DB)).toBe("t");
    });

    test("retire also stops Kamal's `job` role containers, never other roles or services", async () => {
        const file = envFile("jobs.env", ENV_TEXT("jobs"));
        const start = await run("jobs-start", startParams(file));
        const sleeper = (name: string, labels: string[]) => docker.ok(["run", "--detach", "--name", name, ...labels.flatMap((l) => ["--label", l]), appImage, "sleep", "600"]);
        await sleeper(`${SERVICE}-job-abc123`, [`service=${SERVICE}`, "role=job"]);
        await sleeper(`${SERVICE}-web-${OLD_RELEASE}`, [`service=${SERVICE}`, "role=web"]);
        await sleeper("other-app-jobs-1", ["service=other-app", "role=jobs"]);
        const r = await run("jobs-retire", { SERVICE, RELEASE, STOP_TIMEOUT: 60, ...retireFacts(facts(start.stdout)) });
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`jobs-retire: stopped (within 60s) and removed ${SERVICE}-job-abc123`);
        expect(Object.keys(await containerStates()).sort()).toEqual([NEW, POSTGRES, `${SERVICE}-web-${OLD_RELEASE}`, "other-app-jobs-1"].sort());
    });

    test("start replaces a stopped leftover of the same release; refuses a jobs env without JOB_CONCURRENCY or a short stop timeout", async () => {
        const file = envFile("jobs.env", ENV_TEXT("jobs"));
        await docker.ok(["create", "--name", NEW, "--hostname", HOSTNAME, "--label", `service=${SERVICE}`, "--label", "role=jobs", IMAGE, "bin/jobs"]);
        const leftover = await inspect(NEW, "{{.Id}}");
        const r = await run("jobs-start", startParams(file));
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`jobs-start: removed the leftover ${NEW}`);
        expect(await inspect(NEW, "{{.Id}} {{.State.Running}}")).not.toBe(`${leftover} false`);
        expect(await inspect(NEW, "{{.State.Running}}")).toBe("true");

        const before = await engineState();
        const noConcurrency = await run("jobs-start", startParams(envFile("jobs-nc.env", ENV_TEXT("jobs").replace("JOB_CONCURRENCY=2\n", ""))));
        expect(noConcurrency.code).toBe(1);
        expect(noConcurrency.stderr).toMatch(/has no JOB_CONCURRENCY \(shred-day:jobs\.concurrency\)/);
        const short = await run("jobs-start", startParams(file, { STOP_TIMEOUT: 5 }));
        expect(short.code).toBe(1);
        expect(short.stderr).toMatch(/STOP_TIMEOUT must be 10\.\.3600 seconds \(shred-day:jobs\.stopTimeout/);
        expect(await engineState()).toBe(before);
    });
});
