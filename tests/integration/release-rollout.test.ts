/**
 * The release's remote scripts (host-ready, env-file, image-pull, db-prepare, web-rollout,
 * jobs-start, jobs-retire, and the jobs rollout with the proof between start and retire), run
 * for real: the exact command text the command provider sends (scriptCommand), over a real
 * sshd on 127.0.0.1, against a real PostgreSQL with Solid Queue's tables.
 *
 * No Docker engine runs here. The docker test double records every call; for these tests it
 * also keeps a small model of the host (containers, images, networks) in its state dir, so
 * `docker run` makes a container that a later `docker container inspect` or `docker ps`
 * finds, `docker stop` stops it, and so on. Tests that rely on it say "(docker test double)".
 *
 * Every test ends by checking that no secret value appears in any recorded docker argv or in
 * any command text sent over SSH.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ScriptParams } from "../../components/remote";
import { SECRETS } from "../support/fixtures";
import { DockerDouble, HARNESS_START_TIMEOUT_MS, RemoteHost, ScriptRun, startRemoteHost, TestPostgres } from "../support/integration";

jest.setTimeout(30_000);

const SERVICE = "shred-day";
const IMAGE = "ghcr.io/shred-day/shred-day:v2";
const RELEASE = "4f2a9c01de";
const OLD_RELEASE = "0b1c2d3e4f";
const PROXY_IMAGE = "basecamp/kamal-proxy:v0.9.0";
const APP_HOST = "shred.day";
const POSTGRES = "shred-day-postgres";
const QUEUE_DB = "shred_day_production_queue";

/** The stack fixtures' secrets, as the env files and the registry login carry them. */
const SECRET = {
    registry: SECRETS.registryPassword,
    masterKey: SECRETS.appSecrets.RAILS_MASTER_KEY,
    pg: SECRETS.postgresPassword,
    aws: SECRETS.appSecrets.AWS_SECRET_ACCESS_KEY,
};
const SECRET_VALUES = Object.values(SECRET);

const ENV_TEXT = (role: "web" | "jobs") =>
    [
        `AWS_SECRET_ACCESS_KEY=${SECRET.aws}`,
        "DB_HOST=10.0.0.3",
        `DATABASE_URL=postgres://shred_day:${SECRET.pg}@10.0.0.3:5432/shred_day_production`,
        ...(role === "jobs" ? ["JOB_CONCURRENCY=2"] : []),
        `QUEUE_DATABASE_URL=postgres://shred_day:${SECRET.pg}@10.0.0.3:5432/shred_day_production_queue`,
        `RAILS_MASTER_KEY=${SECRET.masterKey}`,
        ...(role === "web" ? ["WEB_CONCURRENCY=2"] : []),
        "",
    ].join("\n");

let host: RemoteHost;
let pg: TestPostgres;
let docker: DockerDouble;
let scratch: string;
/** Fakes of host tools other than docker (cloud-init, sysctl); tests add and remove them. */
let fakeBin: string;
/** Every command text sent over SSH in the current test. */
let sent: string[] = [];

beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-release-"));
    fakeBin = path.join(scratch, "fakebin");
    fs.mkdirSync(fakeBin);
    host = await startRemoteHost({
        env: (dockerEnv) => ({ ...dockerEnv, FAKE_DIR: scratch, PATH: `${fakeBin}:${dockerEnv.PATH}` }),
        queueDatabase: QUEUE_DB,
    });
    ({ pg, docker } = host);
}, HARNESS_START_TIMEOUT_MS);

afterAll(async () => {
    await host?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

beforeEach(() => {
    docker.reset();
    docker.respond(HOST_MODEL);
    sent = [];
    for (const f of fs.readdirSync(fakeBin)) fs.rmSync(path.join(fakeBin, f));
});

afterEach(() => {
    // No secret in any docker argv, nor in any command text (the provider quotes it in errors).
    const argv = JSON.stringify(docker.calls());
    for (const secret of SECRET_VALUES) {
        expect(argv).not.toContain(secret);
        for (const command of sent) expect(command).not.toContain(secret);
    }
});

async function run(name: string, params: ScriptParams, stdin?: string): Promise<ScriptRun> {
    const r = await host.runScript(name, params, { stdin });
    sent.push(r.command);
    return r;
}

/**
 * A model of the host's Docker state for the double, kept in files in its dir:
 *   containers: NAME|RUNNING|HOSTNAME|SERVICE|ROLE|RELEASE|IMAGE|STOP_TIMEOUT
 *   images:     ID REPO:TAG (newest first), users: image ids a container uses
 *   networks:   one name a line; login-stdin: what `docker login` read on stdin
 * `exec kamal-proxy kamal-proxy deploy` succeeds unless the file deploy-fails exists.
 */
const HOST_MODEL = String.raw`
D="$DOCKER_DOUBLE_DIR"; C="$D/containers"; I="$D/images"; N="$D/networks"
touch "$C" "$I" "$N" "$D/users"
for last in "$@"; do :; done
field() { grep "^$1|" "$C" | cut -d'|' -f"$2"; }
setrun() { awk -F'|' -v OFS='|' -v n="$1" -v r="$2" '$1 == n { $2 = r } { print }' "$C" > "$C.new" && mv "$C.new" "$C"; }
case "$1" in
network)
  case "$2" in
  inspect) grep -qx "$last" "$N" || { echo "Error response from daemon: network $last not found" >&2; exit 1; } ;;
  create) echo "$last" >> "$N"; echo "f00d" ;;
  esac ;;
container)
  if [ "$2" = inspect ]; then
    grep -q "^$last|" "$C" || { echo "Error: No such container: $last" >&2; exit 1; }
    case "$4" in
    *State.Restarting*) echo "$(field "$last" 2) false 0 2026-01-01T00:00:00.000000001Z" ;;
    *State.StartedAt*) echo "2026-01-01T00:00:00.000000001Z 0" ;;
    *Config.Hostname*) echo "$(field "$last" 2)|$(field "$last" 3)" ;;
    *Config.Image*) echo "$(field "$last" 2)|$(field "$last" 7)|kamal " ;;
    *) field "$last" 2 ;;
    esac
  fi ;;
run)
  shift; name=""; host=""; svc=""; role=""; rel=""; stop=""; rm=no
  while [ $# -gt 0 ]; do
    case "$1" in
    --name) name=$2; shift 2 ;;
    --hostname) host=$2; shift 2 ;;
    --stop-timeout) stop=$2; shift 2 ;;
    --label)
      case "$2" in service=*) svc=$(echo "$2" | cut -d= -f2) ;; role=*) role=$(echo "$2" | cut -d= -f2) ;; release=*) rel=$(echo "$2" | cut -d= -f2) ;; esac
      shift 2 ;;
    --rm) rm=yes; shift ;;
    --detach|-d) shift ;;
    --) shift; break ;;
    --*) shift 2 ;;
    *) break ;;
    esac
  done
  img=$1
  if [ -f "$D/run-output" ]; then cat "$D/run-output"; fi
  if [ -f "$D/run-fails" ]; then exit "$(cat "$D/run-fails")"; fi
  if [ "$rm" = no ]; then
    if grep -q "^$name|" "$C"; then echo "docker: Error response from daemon: Conflict. The container name \"/$name\" is already in use." >&2; exit 125; fi
    echo "$name|true|$host|$svc|$role|$rel|$img|$stop" >> "$C"; echo "c0ffee$RANDOM"
  fi ;;
stop) setrun "$last" false ;;
start) setrun "$last" true ;;
rm) grep -v "^$last|" "$C" > "$C.new"; mv "$C.new" "$C" ;;
ps)
  shift; svc=""; role=""; fmt=""; anc=""
  while [ $# -gt 0 ]; do
    case "$1" in
    --filter)
      case "$2" in label=service=*) svc=$(echo "$2" | cut -d= -f3) ;; label=role=*) role=$(echo "$2" | cut -d= -f3) ;; ancestor=*) anc=$(echo "$2" | cut -d= -f2) ;; esac
      shift 2 ;;
    --format) fmt=$2; shift 2 ;;
    *) shift ;;
    esac
  done
  if [ -n "$anc" ]; then grep -qx "$anc" "$D/users" && echo "beefcafe"; exit 0; fi
  awk -F'|' -v s="$svc" -v r="$role" -v f="$fmt" '(s == "" || $4 == s) && (r == "" || $5 == r) { if (f ~ /Label/) print $1 "|" $5; else print $1 }' "$C" ;;
logs) echo "Puma starting in single mode..."; echo "ActiveRecord::ConnectionNotEstablished: connection to 10.0.0.3 failed (url postgres://shred_day:${SECRET.pg}@10.0.0.3:5432/shred_day_production)" ;;
exec)
  if [ "$3" = kamal-proxy ] && [ "$4" = deploy ]; then
    if [ -f "$D/deploy-fails" ]; then echo "Error: target failed to become healthy within configured timeout (60s)" >&2; exit 1; fi
    echo "deployed"
  fi ;;
image)
  case "$2" in
  inspect) ref=$last; id=$(awk -v r="$ref" '$2 == r { print $1; exit }' "$I"); [ -n "$id" ] || { echo "Error: No such image: $ref" >&2; exit 1; }; echo "$id" ;;
  ls) awk '{ split($2, a, ":"); print $1 " " a[length(a)] }' "$I" ;;
  rm) awk -v r="$last" '$2 != r && $1 != r' "$I" > "$I.new"; mv "$I.new" "$I"; echo "Untagged: $last" ;;
  esac ;;
login) cat > "$D/login-stdin"; echo "Login Succeeded" ;;
pull) { echo "sha256:pulled$RANDOM $last"; cat "$I"; } > "$I.new"; mv "$I.new" "$I"; echo "Status: Downloaded newer image for $last" ;;
info) echo "27.3.1" ;;
esac
exit 0
`;

const modelFile = (name: string) => path.join(docker.dir, name);
function containers(): { name: string; running: boolean; hostname: string; service: string; role: string; release: string; image: string; stopTimeout: string }[] {
    const file = modelFile("containers");
    if (!fs.existsSync(file)) return [];
    return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => {
            const [name, running, hostname, service, role, release, image, stopTimeout] = l.split("|");
            return { name, running: running === "true", hostname, service, role, release, image, stopTimeout };
        });
}
function addContainer(c: { name: string; running?: boolean; hostname?: string; service?: string; role: string; release?: string; image?: string }) {
    fs.appendFileSync(
        modelFile("containers"),
        [c.name, c.running ?? true, c.hostname ?? "", c.service ?? SERVICE, c.role, c.release ?? "", c.image ?? IMAGE, "30"].join("|") + "\n",
    );
}
/** Index of the first recorded call for which `pred` holds (-1 if none). */
function indexOfCall(pred: (c: string[]) => boolean): number {
    return docker.calls().findIndex(pred);
}
const MUTATING = new Set(["stop", "kill", "rm", "restart", "start", "run", "create", "pull", "login"]);
function mutatingCalls(): string[][] {
    return docker.calls().filter((c) => MUTATING.has(c[0]) || (["container", "network", "image"].includes(c[0]) && ["stop", "rm", "create", "prune", "connect"].includes(c[1])));
}

// ---------------------------------------------------------------------------------------
describe("host-ready.sh", () => {
    const fake = (name: string, body: string) => fs.writeFileSync(path.join(fakeBin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    const sysctlFile = () => path.join(scratch, "sysctl.d", "60-shred-day.conf");
    beforeEach(() => {
        fs.rmSync(path.join(scratch, "sysctl.d"), { recursive: true, force: true });
        fs.rmSync(path.join(scratch, "calls-host"), { force: true });
        fs.writeFileSync(path.join(scratch, "nonlocal"), "0\n");
        fake("sysctl", `echo "sysctl $*" >> "$FAKE_DIR/calls-host"
if [ "$1" = -n ]; then cat "$FAKE_DIR/nonlocal"; elif [ "$2" = -w ]; then echo 1 > "$FAKE_DIR/nonlocal"; fi`);
        // Always a fake: this machine has a real cloud-init (for the cloud-config tests).
        fake("cloud-init", `echo "cloud-init $*" >> "$FAKE_DIR/calls-host"; echo "status: done"`);
    });

    test("waits for cloud-init, sets ip_nonlocal_bind now and at boot, checks docker; a re-run changes nothing (docker test double)", async () => {
        const r = await run("host-ready", { SYSCTL_FILE: sysctlFile() });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("host-ready: cloud-init is done");
        expect(r.stdout).toContain(`host-ready: wrote ${sysctlFile()}`);
        expect(r.stdout).toContain("host-ready: set net.ipv4.ip_nonlocal_bind=1");
        expect(r.stdout).toContain("host-ready: docker 27.3.1 is up");
        expect(fs.readFileSync(sysctlFile(), "utf8")).toBe("net.ipv4.ip_nonlocal_bind = 1\n");
        expect(fs.readFileSync(path.join(scratch, "calls-host"), "utf8")).toMatch(/^cloud-init status --wait\n/);
        expect(docker.calls()).toEqual([["info", "--format", "{{.ServerVersion}}"]]);

        const again = await run("host-ready", { SYSCTL_FILE: sysctlFile() });
        expect(again.code).toBe(0);
        expect(again.stdout).not.toMatch(/wrote|set net/);
    });

    test("cloud-init done with recoverable errors (exit 2) is a warning, not a failure (docker test double)", async () => {
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
        expect(docker.calls()).toEqual([]);
    });

    test("a docker daemon that does not answer fails within DOCKER_WAIT_SECONDS (docker test double)", async () => {
        docker.respond(`[ "$1" = info ] && { echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1; }; exit 0`);
        const r = await run("host-ready", { SYSCTL_FILE: sysctlFile(), DOCKER_WAIT_SECONDS: 0 });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/the docker daemon does not answer after 0s: Cannot connect to the Docker daemon/);
        expect(r.stderr).toContain("systemctl status docker");
    });
});

// ---------------------------------------------------------------------------------------
describe("env-file.sh", () => {
    let n = 0;
    const newDir = () => path.join(scratch, `env-${++n}`, "shred-day");

    test("writes ENV_DIR/ROLE.env from stdin, exactly, 0600 in a 0700 dir, printing names only; a re-run changes nothing", async () => {
        const dir = newDir();
        const r = await run("env-file", { ENV_DIR: dir, ROLE: "web" }, ENV_TEXT("web"));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const file = path.join(dir, "web.env");
        expect(fs.readFileSync(file, "utf8")).toBe(ENV_TEXT("web"));
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        expect(fs.statSync(file).uid).toBe(0);
        expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
        expect(r.stdout).toBe(
            `env-file: wrote ${file}, root-only 0600 (6 variables: AWS_SECRET_ACCESS_KEY DB_HOST DATABASE_URL QUEUE_DATABASE_URL RAILS_MASTER_KEY WEB_CONCURRENCY)\n`,
        );
        for (const value of [...SECRET_VALUES, "10.0.0.3", "postgres://"]) expect(r.stdout + r.stderr).not.toContain(value);

        const before = fs.statSync(file);
        const again = await run("env-file", { ENV_DIR: dir, ROLE: "web" }, ENV_TEXT("web"));
        expect(again.code).toBe(0);
        expect(again.stdout).toMatch(/^env-file: .*web\.env unchanged \(6 variables: /);
        const after = fs.statSync(file);
        expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
        expect(fs.readdirSync(dir)).toEqual(["web.env"]); // no temp file left behind
    });

    test("a changed env replaces the file atomically (rename), still 0600; a loose dir mode is tightened", async () => {
        const dir = newDir();
        await run("env-file", { ENV_DIR: dir, ROLE: "jobs" }, ENV_TEXT("jobs"));
        fs.chmodSync(dir, 0o755);
        const file = path.join(dir, "jobs.env");
        const before = fs.statSync(file).ino;
        const changed = ENV_TEXT("jobs").replace("JOB_CONCURRENCY=2", "JOB_CONCURRENCY=4");
        const r = await run("env-file", { ENV_DIR: dir, ROLE: "jobs" }, changed);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("JOB_CONCURRENCY");
        expect(fs.readFileSync(file, "utf8")).toBe(changed);
        expect(fs.statSync(file).ino).not.toBe(before);
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    });

    test("refuses a malformed line, SOLID_QUEUE_IN_PUMA or an empty stdin without printing any value, and keeps the old file", async () => {
        const dir = newDir();
        await run("env-file", { ENV_DIR: dir, ROLE: "web" }, ENV_TEXT("web"));
        const cases: [string, RegExp][] = [
            [`${ENV_TEXT("web")}${SECRET.masterKey}\n`, /line 7 of the web env on stdin is not NAME=value \(its content is not shown: it may be secret\); nothing was written/],
            [`${ENV_TEXT("web")}SOLID_QUEUE_IN_PUMA=false\n`, /the web env sets SOLID_QUEUE_IN_PUMA \(line 7\): any non-empty value starts Solid Queue inside Puma/],
            [`${ENV_TEXT("web")}RAILS_MASTER_KEY=${SECRET.masterKey}x\n`, /the web env sets RAILS_MASTER_KEY more than once; nothing was written/],
            ["", /the web env on stdin is empty; nothing was written/],
        ];
        for (const [stdin, message] of cases) {
            const r = await run("env-file", { ENV_DIR: dir, ROLE: "web" }, stdin);
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(message);
            for (const value of SECRET_VALUES) expect(r.stdout + r.stderr).not.toContain(value);
            expect(fs.readFileSync(path.join(dir, "web.env"), "utf8")).toBe(ENV_TEXT("web"));
            expect(fs.readdirSync(dir)).toEqual(["web.env"]);
        }
        const role = await run("env-file", { ENV_DIR: dir, ROLE: "worker" }, ENV_TEXT("web"));
        expect(role.code).toBe(1);
        expect(role.stderr).toMatch(/ROLE must be web or jobs, got 'worker'/);
    });
});

// ---------------------------------------------------------------------------------------
describe("image-pull.sh", () => {
    const params = (overrides: ScriptParams = {}): ScriptParams => ({
        IMAGE,
        REGISTRY_SERVER: "ghcr.io",
        REGISTRY_USER: "shred-day",
        KEEP_IMAGES: 3,
        ...overrides,
    });
    const images = (lines: string[]) => fs.writeFileSync(modelFile("images"), lines.map((l) => `${l}\n`).join(""));
    const imageLines = () => fs.readFileSync(modelFile("images"), "utf8").split("\n").filter(Boolean);

    test("absent image: logs in with the password on stdin only (--password-stdin), pulls (docker test double)", async () => {
        images([]);
        const r = await run("image-pull", params(), `${SECRET.registry}\n`);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const calls = docker.calls();
        expect(calls).toContainEqual(["login", "--username", "shred-day", "--password-stdin", "--", "ghcr.io"]);
        expect(fs.readFileSync(modelFile("login-stdin"), "utf8")).toBe(`${SECRET.registry}\n`);
        expect(indexOfCall((c) => c[0] === "login")).toBeLessThan(indexOfCall((c) => c[0] === "pull"));
        expect(calls).toContainEqual(["pull", "--", IMAGE]);
        expect(r.stdout).toContain(`image-pull: pulled ${IMAGE}`);
        expect(r.stdout).not.toContain(SECRET.registry);
    });

    test("present image (a re-run, or a rollback to a kept tag): no login, no pull, stdin unread (docker test double)", async () => {
        images(["sha256:bbb ghcr.io/shred-day/shred-day:v2", "sha256:aaa ghcr.io/shred-day/shred-day:v1"]);
        const r = await run("image-pull", params(), `${SECRET.registry}\n`);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`image-pull: ${IMAGE} is already present; no pull`);
        expect(docker.calls().filter((c) => c[0] === "login" || c[0] === "pull")).toEqual([]);
        expect(fs.existsSync(modelFile("login-stdin"))).toBe(false);
        expect(mutatingCalls()).toEqual([]);
    });

    test("prunes the repository's images beyond KEEP_IMAGES, keeps the current one and any in use; a re-run prunes nothing (docker test double)", async () => {
        images([
            "sha256:v6 ghcr.io/shred-day/shred-day:v6",
            "sha256:v5 ghcr.io/shred-day/shred-day:v5",
            "sha256:v4 ghcr.io/shred-day/shred-day:v4",
            "sha256:v3 ghcr.io/shred-day/shred-day:v3",
            "sha256:v2 ghcr.io/shred-day/shred-day:v2",
            "sha256:v1 ghcr.io/shred-day/shred-day:v1",
        ]);
        fs.writeFileSync(modelFile("users"), "sha256:v3\n"); // a stopped container still uses v3
        // rolling back to v2: present, so no pull; v6, v5, v4 are the 3 most recent
        const r = await run("image-pull", params({ KEEP_IMAGES: 3 }), `${SECRET.registry}\n`);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(docker.calls().filter((c) => c[0] === "pull")).toEqual([]);
        expect(docker.calls().filter((c) => c[0] === "image" && c[1] === "rm")).toEqual([["image", "rm", "--", "ghcr.io/shred-day/shred-day:v1"]]);
        expect(r.stdout).toContain("image-pull: keeping ghcr.io/shred-day/shred-day:v3: used by container(s) beefcafe");
        expect(r.stdout).toContain("image-pull: pruned ghcr.io/shred-day/shred-day:v1");
        expect(imageLines().map((l) => l.split(":").pop())).toEqual(["v6", "v5", "v4", "v3", "v2"]);
        expect(docker.calls()).toContainEqual(["image", "ls", "--no-trunc", "--format", "{{.ID}} {{.Tag}}", "--", "ghcr.io/shred-day/shred-day"]);

        const left = imageLines();
        docker.reset();
        docker.respond(HOST_MODEL);
        images(left);
        fs.writeFileSync(modelFile("users"), "sha256:v3\n");
        const again = await run("image-pull", params({ KEEP_IMAGES: 3 }), `${SECRET.registry}\n`);
        expect(again.code).toBe(0);
        expect(mutatingCalls()).toEqual([]);
        expect(again.stdout).toMatch(/pruned 0$/m);
    });

    test("a registry with a port is not taken for a tag (docker test double)", async () => {
        images(["sha256:old registry.local:5000/shred-day:old"]);
        const r = await run("image-pull", params({ IMAGE: "registry.local:5000/shred-day:new", REGISTRY_SERVER: "registry.local:5000", KEEP_IMAGES: 1 }), `${SECRET.registry}\n`);
        expect(r.code).toBe(0);
        expect(docker.calls()).toContainEqual(["image", "ls", "--no-trunc", "--format", "{{.ID}} {{.Tag}}", "--", "registry.local:5000/shred-day"]);
        expect(docker.calls()).toContainEqual(["image", "rm", "--", "registry.local:5000/shred-day:old"]);
    });

    test("no password on stdin, or a failed login: exits 1 without pulling (docker test double)", async () => {
        images([]);
        const none = await run("image-pull", params(), "");
        expect(none.code).toBe(1);
        expect(none.stderr).toMatch(/no registry password on stdin \(the first line must be shred-day:registryPassword\) for shred-day@ghcr.io/);
        docker.respond(`[ "$1" = login ] && { cat >/dev/null; echo "Error response from daemon: Get \\"https://ghcr.io/v2/\\": denied: denied" >&2; exit 1; }
[ "$1" = image ] && [ "$2" = inspect ] && exit 1
exit 0`);
        const denied = await run("image-pull", params(), `${SECRET.registry}\n`);
        expect(denied.code).toBe(1);
        expect(denied.stderr).toMatch(/docker login to ghcr.io as shred-day failed; check shred-day:registryPassword/);
        expect(denied.stderr).toContain("denied: denied");
        expect(docker.calls().filter((c) => c[0] === "pull")).toEqual([]);
    });

    test("a public image (no registry): pulls without login (docker test double)", async () => {
        images([]);
        const r = await run("image-pull", params({ REGISTRY_SERVER: "", REGISTRY_USER: "" }), "");
        expect(r.code).toBe(0);
        expect(docker.calls().filter((c) => c[0] === "login")).toEqual([]);
        expect(docker.calls()).toContainEqual(["pull", "--", IMAGE]);
    });
});

// ---------------------------------------------------------------------------------------
// db-prepare.sh: tests/integration/release-migrate.test.ts (i12-release).

// ---------------------------------------------------------------------------------------
describe("web-rollout.sh", () => {
    let envFile: string;
    const NEW = `${SERVICE}-web-${RELEASE}`;
    const KAMAL_OLD = `${SERVICE}-web-9c1e2f3a4b5c6d7e`; // Kamal 2's container of the old setup
    const params = (overrides: ScriptParams = {}): ScriptParams => ({
        SERVICE,
        IMAGE,
        ENV_FILE: envFile,
        RELEASE,
        APP_HOST,
        PROXY_IMAGE,
        CONTAINER_HOSTNAME: `shred-day-web-${RELEASE}`,
        STOP_TIMEOUT: 30,
        ...overrides,
    });
    const isDeploy = (c: string[]) => c[0] === "exec" && c[3] === "deploy";
    beforeEach(() => {
        envFile = path.join(scratch, "web.env");
        fs.writeFileSync(envFile, ENV_TEXT("web"), { mode: 0o600 });
    });

    test("fresh host: creates the network and kamal-proxy (80/443, unless-stopped, state volume), starts the release, deploys it with TLS and /up (docker test double)", async () => {
        const r = await run("web-rollout", params());
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const calls = docker.calls();
        expect(calls).toContainEqual(["network", "create", "kamal"]);
        expect(calls).toContainEqual([
            "run", "--detach", "--name", "kamal-proxy", "--network", "kamal", "--restart", "unless-stopped",
            "--publish", "80:80", "--publish", "443:443", "--log-opt", "max-size=10m",
            "--volume", "kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy", "--label", "service=kamal-proxy", "--", PROXY_IMAGE,
        ]);
        expect(calls).toContainEqual([
            "run", "--detach", "--name", NEW, "--hostname", `shred-day-web-${RELEASE}`, "--network", "kamal",
            "--restart", "unless-stopped", "--stop-timeout", "30", "--env-file", envFile,
            "--label", "service=shred-day", "--label", "role=web", "--label", `release=${RELEASE}`,
            "--log-opt", "max-size=10m", "--", IMAGE,
        ]);
        expect(calls.filter(isDeploy)).toEqual([[
            "exec", "kamal-proxy", "kamal-proxy", "deploy", "shred-day-web", "--target", `${NEW}:80`, "--host", APP_HOST, "--tls",
            "--health-check-path", "/up", "--deploy-timeout", "60s", "--drain-timeout", "30s", "--buffer-requests", "--buffer-responses",
        ]]);
        expect(indexOfCall((c) => c[0] === "run" && c.includes(NEW))).toBeLessThan(indexOfCall(isDeploy));
        expect(r.stdout).toMatch(/done; shred-day-web-4f2a9c01de serves shred\.day, 0 old web container\(s\) retired/);
    });

    test("proxy deploy fails (never healthy): no old container is stopped, the new one is stopped, logs shown redacted, exit 1 (docker test double)", async () => {
        fs.writeFileSync(modelFile("networks"), "kamal\n");
        addContainer({ name: "kamal-proxy", role: "", service: "kamal-proxy", image: PROXY_IMAGE });
        addContainer({ name: KAMAL_OLD, role: "web", hostname: "91.99.62.190-a1b2c3d4e5f6" });
        addContainer({ name: `${SERVICE}-web-${OLD_RELEASE}`, role: "web", release: OLD_RELEASE });
        fs.writeFileSync(modelFile("deploy-fails"), "");
        const r = await run("web-rollout", params());
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`web-rollout: FAILED: ${NEW} did not become healthy on /up within 60s, or kamal-proxy refused the deploy.`);
        expect(r.stderr).toContain("kamal-proxy said: Error: target failed to become healthy");
        expect(r.stderr).toContain("kamal-proxy keeps serving shred.day from the previous container; no old container was stopped.");
        expect(r.stderr).toContain("[value of DATABASE_URL]");
        const stops = docker.calls().filter((c) => c[0] === "stop" || c[0] === "rm");
        expect(stops).toEqual([["stop", "--timeout", "30", NEW]]);
        const state = Object.fromEntries(containers().map((c) => [c.name, c.running]));
        expect(state).toEqual({ "kamal-proxy": true, [KAMAL_OLD]: true, [`${SERVICE}-web-${OLD_RELEASE}`]: true, [NEW]: false });
        expect(docker.calls().filter((c) => c[0] === "run" && c.includes("kamal-proxy"))).toEqual([]);
    });

    test("after a healthy deploy the old web containers (ours and Kamal's) are stopped (>= 30 s) and removed; a re-run changes nothing (docker test double)", async () => {
        fs.writeFileSync(modelFile("networks"), "kamal\n");
        addContainer({ name: "kamal-proxy", role: "", service: "kamal-proxy", image: PROXY_IMAGE });
        addContainer({ name: KAMAL_OLD, role: "web", hostname: "91.99.62.190-a1b2c3d4e5f6" });
        addContainer({ name: `${SERVICE}-web-${OLD_RELEASE}`, role: "web", release: OLD_RELEASE });
        addContainer({ name: `${SERVICE}-jobs-${OLD_RELEASE}`, role: "jobs", release: OLD_RELEASE }); // not web: untouched
        const r = await run("web-rollout", params({ STOP_TIMEOUT: 45 }));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const deploy = indexOfCall(isDeploy);
        for (const old of [KAMAL_OLD, `${SERVICE}-web-${OLD_RELEASE}`]) {
            const stop = indexOfCall((c) => c[0] === "stop" && c.includes(old));
            expect(docker.calls()[stop]).toEqual(["stop", "--timeout", "45", old]);
            expect(stop).toBeGreaterThan(deploy);
            expect(indexOfCall((c) => c[0] === "rm" && c.includes(old))).toBeGreaterThan(stop);
        }
        expect(containers().map((c) => c.name).sort()).toEqual(["kamal-proxy", `${SERVICE}-jobs-${OLD_RELEASE}`, NEW].sort());
        expect(r.stdout).toContain("2 old web container(s) retired");
        expect(docker.calls().filter((c) => c[0] === "network" && c[1] === "create")).toEqual([]);

        docker.reset();
        docker.respond(HOST_MODEL);
        fs.writeFileSync(modelFile("networks"), "kamal\n");
        addContainer({ name: "kamal-proxy", role: "", service: "kamal-proxy", image: PROXY_IMAGE });
        addContainer({ name: NEW, role: "web", release: RELEASE, hostname: `shred-day-web-${RELEASE}` });
        const again = await run("web-rollout", params({ STOP_TIMEOUT: 45 }));
        expect(again.code).toBe(0);
        expect(again.stdout).toContain(`web-rollout: ${NEW} is already running`);
        expect(mutatingCalls()).toEqual([]);
    });

    test("an existing proxy on another image is kept, with a note; a stopped one is started (docker test double)", async () => {
        fs.writeFileSync(modelFile("networks"), "kamal\n");
        addContainer({ name: "kamal-proxy", role: "", service: "kamal-proxy", image: "basecamp/kamal-proxy:v0.8.4", running: false });
        const r = await run("web-rollout", params());
        expect(r.code).toBe(0);
        expect(docker.calls()).toContainEqual(["start", "kamal-proxy"]);
        expect(r.stdout).toContain("note: kamal-proxy runs basecamp/kamal-proxy:v0.8.4, not basecamp/kamal-proxy:v0.9.0; it is kept");
        expect(docker.calls().filter((c) => c[0] === "run" && c.includes("kamal-proxy"))).toEqual([]);
    });

    test("refuses a stop timeout under 30 s before touching anything", async () => {
        const r = await run("web-rollout", params({ STOP_TIMEOUT: 10 }));
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/STOP_TIMEOUT must be at least 30 seconds/);
        expect(docker.calls()).toEqual([]);
    });
});

// ---------------------------------------------------------------------------------------
describe("jobs rollout: jobs-start, jobs-proof, jobs-retire", () => {
    let envFile: string;
    const HOSTNAME = `shred-day-jobs-ubuntu-${RELEASE}`;
    const NEW = `${SERVICE}-jobs-${RELEASE}`;
    const OLD = `${SERVICE}-jobs-${OLD_RELEASE}`;
    const startParams = (overrides: ScriptParams = {}): ScriptParams => ({
        SERVICE,
        IMAGE,
        ENV_FILE: envFile,
        RELEASE,
        CONTAINER_HOSTNAME: HOSTNAME,
        STOP_TIMEOUT: 30,
        ...overrides,
    });
    const retireParams = (overrides: ScriptParams = {}): ScriptParams => ({
        SERVICE,
        RELEASE,
        STOP_TIMEOUT: 30,
        STARTED_AT: "2026-01-01T00:00:00.000000001Z",
        RESTART_COUNT: 0,
        ...overrides,
    });
    beforeEach(async () => {
        envFile = path.join(scratch, "jobs.env");
        fs.writeFileSync(envFile, ENV_TEXT("jobs"), { mode: 0o600 });
        await pg.psql("TRUNCATE solid_queue_processes RESTART IDENTITY;", QUEUE_DB);
    });

    test("start (old keeps running) -> proof -> retire stops only the old release, with a timeout >= 30 s (docker test double)", async () => {
        addContainer({ name: OLD, role: "jobs", release: OLD_RELEASE, hostname: `shred-day-jobs-ubuntu-${OLD_RELEASE}` });

        const start = await run("jobs-start", startParams());
        expect(start.stderr).toBe("");
        expect(start.code).toBe(0);
        expect(docker.calls().filter((c) => c[0] === "run")).toEqual([[
            "run", "--detach", "--name", NEW, "--hostname", HOSTNAME, "--restart", "unless-stopped", "--stop-timeout", "30",
            "--env-file", envFile, "--label", "service=shred-day", "--label", "role=jobs", "--label", `release=${RELEASE}`,
            "--log-opt", "max-size=10m", IMAGE, "bin/jobs",
        ]]);
        expect(docker.calls().filter((c) => c[0] === "stop" || c[0] === "rm")).toEqual([]);
        expect(containers().filter((c) => c.running).map((c) => c.name).sort()).toEqual([NEW, OLD].sort());

        // The new bin/jobs registers (as Solid Queue would, under the container's hostname).
        await pg.psql(
            `INSERT INTO solid_queue_processes (kind, last_heartbeat_at, supervisor_id, pid, hostname, metadata, created_at, name) VALUES
               ('Supervisor', now() AT TIME ZONE 'UTC', NULL, 1, '${HOSTNAME}', '{}', now() AT TIME ZONE 'UTC' - interval '70 seconds', 'supervisor-1'),
               ('Worker', now() AT TIME ZONE 'UTC', 1, 7, '${HOSTNAME}', '{}', now() AT TIME ZONE 'UTC' - interval '70 seconds', 'worker-1'),
               ('Dispatcher', now() AT TIME ZONE 'UTC', 1, 8, '${HOSTNAME}', '{}', now() AT TIME ZONE 'UTC' - interval '70 seconds', 'dispatcher-1');`,
            QUEUE_DB,
        );
        const proof = await run("jobs-proof", {
            CONTAINER: POSTGRES,
            DB_USER: pg.user,
            QUEUE_DB,
            JOBS_HOSTS: `${HOSTNAME},2026-01-01T00:00:00.000000001Z`,
            JOB_CONCURRENCY: 1,
            LIVE_SECONDS: 300,
            TIMEOUT_SECONDS: 5,
            INTERVAL_SECONDS: 1,
        });
        expect(proof.stderr).toBe("");
        expect(proof.code).toBe(0);

        const retire = await run("jobs-retire", retireParams());
        expect(retire.stderr).toBe("");
        expect(retire.code).toBe(0);
        expect(retire.stdout).toContain(`jobs-retire: stopped (within 30s) and removed ${OLD}`);

        // Recorded order: start the new one -> the proof's query -> stop and remove the old one.
        const runNew = indexOfCall((c) => c[0] === "run" && c.includes(NEW));
        const query = indexOfCall((c) => c[0] === "exec" && c.includes("psql"));
        const stopOld = indexOfCall((c) => c[0] === "stop");
        expect(runNew).toBeGreaterThanOrEqual(0);
        expect(query).toBeGreaterThan(runNew);
        expect(stopOld).toBeGreaterThan(query);
        expect(docker.calls().filter((c) => c[0] === "stop" || c[0] === "rm")).toEqual([
            ["stop", "--timeout", "30", OLD],
            ["rm", OLD],
        ]);
        expect(containers().map((c) => c.name)).toEqual([NEW]);

        // Both are idempotent: a second run of each changes nothing.
        const before = docker.calls().length;
        expect((await run("jobs-start", startParams())).stdout).toContain(`jobs-start: ${NEW} is already running (hostname ${HOSTNAME}); nothing to do`);
        expect((await run("jobs-retire", retireParams())).stdout).toContain("0 old worker container(s) retired");
        expect(docker.calls().slice(before).filter((c) => MUTATING.has(c[0]))).toEqual([]);
    });

    test("retire also stops Kamal's `job` role containers, never other roles or services (docker test double)", async () => {
        addContainer({ name: NEW, role: "jobs", release: RELEASE, hostname: HOSTNAME });
        addContainer({ name: `${SERVICE}-job-abc123`, role: "job" });
        addContainer({ name: `${SERVICE}-web-${OLD_RELEASE}`, role: "web" });
        addContainer({ name: "other-app-jobs-1", role: "jobs", service: "other-app" });
        const r = await run("jobs-retire", retireParams({ STOP_TIMEOUT: 60 }));
        expect(r.code).toBe(0);
        expect(docker.calls().filter((c) => c[0] === "stop")).toEqual([["stop", "--timeout", "60", `${SERVICE}-job-abc123`]]);
        expect(containers().map((c) => c.name).sort()).toEqual([NEW, `${SERVICE}-web-${OLD_RELEASE}`, "other-app-jobs-1"].sort());
    });

    test("retire stops nothing when the current worker is not running (docker test double)", async () => {
        addContainer({ name: OLD, role: "jobs", release: OLD_RELEASE });
        addContainer({ name: NEW, role: "jobs", release: RELEASE, running: false });
        const r = await run("jobs-retire", retireParams());
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`jobs-retire: the current worker ${NEW} restarted or stopped since jobs-start (a crash loop?), so the previous workers are kept (nothing was stopped) and the web is not switched.`);
        expect(mutatingCalls()).toEqual([]);
    });

    test("start replaces a stopped leftover of the same release; refuses a jobs env without JOB_CONCURRENCY or a short stop timeout (docker test double)", async () => {
        addContainer({ name: NEW, role: "jobs", release: RELEASE, hostname: HOSTNAME, running: false });
        const r = await run("jobs-start", startParams());
        expect(r.code).toBe(0);
        expect(docker.calls().filter((c) => MUTATING.has(c[0])).map((c) => c.slice(0, 2))).toEqual([["rm", "-f"], ["run", "--detach"]]);

        docker.reset();
        docker.respond(HOST_MODEL);
        fs.writeFileSync(envFile, ENV_TEXT("jobs").replace("JOB_CONCURRENCY=2\n", ""));
        const noConcurrency = await run("jobs-start", startParams());
        expect(noConcurrency.code).toBe(1);
        expect(noConcurrency.stderr).toMatch(/has no JOB_CONCURRENCY \(shred-day:jobs\.concurrency\)/);
        const short = await run("jobs-start", startParams({ STOP_TIMEOUT: 5 }));
        expect(short.code).toBe(1);
        expect(short.stderr).toMatch(/STOP_TIMEOUT must be 10\.\.3600 seconds \(shred-day:jobs\.stopTimeout/);
        expect(docker.calls()).toEqual([]);
    });
});
