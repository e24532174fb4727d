/**
 * Issue 11 over a real sshd (tests/support/integration.ts): the scripts bound every wait
 * (point 9), never let a value be read as an option (point 8), keep no registry token on the
 * host (point 6) and report the content they pulled (point 10).
 *
 * What is tested here is what the scripts pass to `docker` (a value that looks like an option,
 * an image refused before any docker call, a pinned digest the host's image does not match) and
 * how long they wait for a db:prepare or a database that never ends: `docker` is a small
 * recording stub on the session's PATH (defined below). Against a real engine: login, pull, a
 * hung registry, the throwaway DOCKER_CONFIG and the content digest in registry-pull (a real
 * registry); the rest in release-rollout, postgres-scripts and security-postgres.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_REMOTE_PATH, HARNESS_START_TIMEOUT_MS, ScriptRun, SshServer, startSshd, testScratchDir, testSshAccount } from "../support/integration";
import { spawnSync } from "child_process";
import { cloudConfig } from "../../components/cloudConfig";
import { scriptCommand, ScriptParams } from "../../components/remote";

const IMAGE = "ghcr.io/shred-day/shred-day:v2";
const REGISTRY_PASSWORD = "ghp_SECURITYTEST0123456789";

/** The recording `docker` stub: each call's argv, one line, fields split by \x1f; `respond "$@"` answers. */
const STUB = `#!/bin/bash
{ printf '%s\\x1f' "$@"; printf '\\n'; } >> "$STUB_DIR/calls"
if [ -f "$STUB_DIR/respond.sh" ]; then . "$STUB_DIR/respond.sh"; respond "$@"; exit $?; fi
exit 0
`;

let sshd: SshServer;
let scratch: string;
let stubDir: string;
let fakeBin: string;
let home: string;

const docker = {
    get dir() {
        return stubDir;
    },
    calls: (): string[][] => {
        const f = path.join(stubDir, "calls");
        if (!fs.existsSync(f)) return [];
        return fs.readFileSync(f, "utf8").split("\n").filter((l) => l !== "").map((l) => l.split("\x1f").slice(0, -1));
    },
    respond: (body: string) => {
        fs.writeFileSync(path.join(stubDir, "respond.sh"), `respond() {\n${body}\n}\n`, { mode: 0o644 });
    },
    reset: () => {
        for (const f of fs.readdirSync(stubDir)) if (f !== "bin") fs.rmSync(path.join(stubDir, f), { recursive: true, force: true });
    },
};

beforeAll(async () => {
    // the sessions run as the unprivileged sshd user: its dirs are its own
    scratch = testScratchDir("security-scripts", { forSessions: true });
    const { uid, gid } = testSshAccount();
    stubDir = path.join(scratch, "stub");
    fakeBin = path.join(scratch, "fakebin");
    home = path.join(scratch, "home");
    for (const d of [stubDir, path.join(stubDir, "bin"), fakeBin, home]) {
        fs.mkdirSync(d);
        fs.chownSync(d, uid, gid);
    }
    fs.writeFileSync(path.join(stubDir, "bin", "docker"), STUB, { mode: 0o755 });
    sshd = await startSshd({
        env: { STUB_DIR: stubDir, FAKE_DIR: scratch, HOME: home, TMPDIR: scratch, PATH: `${path.join(stubDir, "bin")}:${fakeBin}:${DEFAULT_REMOTE_PATH}` },
    });
}, HARNESS_START_TIMEOUT_MS);

afterAll(async () => {
    await sshd?.stop();
});

beforeEach(() => {
    docker.reset();
    for (const f of fs.readdirSync(fakeBin)) fs.rmSync(path.join(fakeBin, f));
});

const fake = (name: string, body: string) => fs.writeFileSync(path.join(fakeBin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
async function run(name: string, params: ScriptParams, stdin?: string, timeoutMs = 40_000): Promise<ScriptRun> {
    const command = scriptCommand(name, params);
    const t0 = Date.now();
    const r = await sshd.run(command, { stdin, timeoutMs });
    return { ...r, command, ms: Date.now() - t0 };
}

/** A docker double holding no image at first; `pull` makes IMAGE present, with a registry digest. */
const DIGEST = `sha256:${"ab".repeat(32)}`;
const ID = `sha256:${"cd".repeat(32)}`;
const REGISTRY_MODEL = `
D="$STUB_DIR"
for last in "$@"; do :; done
case "$1" in
image)
  case "$2" in
  inspect)
    [ -f "$D/pulled" ] || { echo "Error: No such image: $last" >&2; exit 1; }
    case "$4" in *RepoDigests*) echo "ghcr.io/shred-day/shred-day@${DIGEST}" ;; *) echo "${ID}" ;; esac ;;
  ls) [ -f "$D/pulled" ] && echo "${ID} v2" ;;
  esac ;;
login)
  cat > /dev/null
  echo "Login Succeeded" ;;
pull) touch "$D/pulled"; echo "Status: Downloaded newer image" ;;
esac
exit 0
`;
const pullParams = (o: ScriptParams = {}): ScriptParams => ({ IMAGE, REGISTRY_SERVER: "ghcr.io", REGISTRY_USER: "shred-day", KEEP_IMAGES: 3, ...o });

describe("bounded waits (point 9)", () => {
    test("host-ready: a cloud-init that never finishes fails after CLOUD_INIT_TIMEOUT, saying what it waited for", async () => {
        fake("cloud-init", `[ "$2" = --wait ] && exec sleep 600; echo "status: running"`);
        fake("sysctl", `[ "$1" = -n ] && echo 1; exit 0`);
        const t0 = Date.now();
        const r = await run("host-ready", { SYSCTL_FILE: path.join(scratch, "sysctl.conf"), CLOUD_INIT_TIMEOUT: 2 });
        expect(Date.now() - t0).toBeLessThan(20_000);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("cloud-init did not finish within 2s");
        expect(r.stderr).toContain("gave up waiting for cloud-init to finish the server's first boot");
    }, 45_000);

    test("db-prepare: a db:prepare that never ends fails after DB_PREPARE_TIMEOUT, and its container is removed", async () => {
        const envFile = path.join(scratch, "web.env");
        fs.writeFileSync(envFile, "# secret: RAILS_MASTER_KEY\nRAILS_MASTER_KEY=0123456789abcdef0123\n");
        docker.respond(`case "$1" in
image) echo "${ID}" ;;
run) case "$*" in *db:prepare*) exec sleep 600 ;; *) echo 0; exit 1 ;; esac ;;
esac
exit 0`);
        const t0 = Date.now();
        const r = await run("db-prepare", { IMAGE, ENV_FILE: envFile, PG_CONTAINER: "shred-day-postgres", DB_USER: "shred_day", QUEUE_DB: "q", DB_PREPARE_TIMEOUT: 2 });
        expect(Date.now() - t0).toBeLessThan(20_000);
        expect(r.code).toBe(124);
        expect(r.stderr).toContain("gave up waiting for bin/rails db:prepare after 2 s");
        const run_ = docker.calls().find((c) => c[0] === "run" && c.includes("db:prepare"))!;
        const name = run_[run_.indexOf("--name") + 1];
        expect(docker.calls()).toContainEqual(["rm", "-f", name]);
        expect(r.stderr).toContain(`its container ${name} was removed`);
    }, 45_000);

    test("ops-status: a queue database that does not answer is reported, not waited on for ever", async () => {
        docker.respond(`[ "$1" = exec ] && exec sleep 600; exit 0`);
        const t0 = Date.now();
        const r = await run("ops-status", { PG_CONTAINER: "shred-day-postgres", DB_USER: "shred_day", QUEUE_DB: "q", MEMINFO: "/dev/null", PSQL_TIMEOUT: 2 });
        expect(Date.now() - t0).toBeLessThan(20_000);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^queue-error\t.*gave up waiting for the queue database/m);
    }, 45_000);
});

describe("no value is read as an option (point 8)", () => {
    test("image-pull refuses IMAGE, REGISTRY_SERVER or REGISTRY_USER starting with '-' before calling docker", async () => {
        for (const bad of [{ IMAGE: "--config=/tmp/x" }, { REGISTRY_SERVER: "-H=tcp://203.0.113.9" }, { REGISTRY_USER: "--password=x" }] as ScriptParams[]) {
            docker.reset();
            const r = await run("image-pull", pullParams(bad), `${REGISTRY_PASSWORD}\n`);
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(/must not start with '-' \(it would be read as an option\)/);
            expect(docker.calls()).toEqual([]);
        }
    });

    test("image-pull puts `--` before the image and the registry on docker's command line", async () => {
        docker.respond(REGISTRY_MODEL);
        const r = await run("image-pull", pullParams(), `${REGISTRY_PASSWORD}\n`);
        expect(r.code).toBe(0);
        const calls = docker.calls();
        expect(calls).toContainEqual(["pull", "--", IMAGE]);
        expect(calls).toContainEqual(["login", "--username", "shred-day", "--password-stdin", "--", "ghcr.io"]);
        for (const c of calls) if (c.includes(IMAGE)) expect(c[c.indexOf(IMAGE) - 1]).toBe("--");
    });

    test("web-rollout refuses a proxy image, image or app host starting with '-' before calling docker", async () => {
        const envFile = path.join(scratch, "web.env");
        fs.writeFileSync(envFile, "RAILS_ENV=production\n");
        const base = { SERVICE: "shred-day", IMAGE, ENV_FILE: envFile, RELEASE: "0123456789", APP_HOST: "shred.day", PROXY_IMAGE: "basecamp/kamal-proxy:v0.9.0", CONTAINER_HOSTNAME: "web-0123456789" };
        for (const bad of [{ PROXY_IMAGE: "--privileged" }, { IMAGE: "-v=/:/host" }, { APP_HOST: "--tls=false" }] as ScriptParams[]) {
            docker.reset();
            const r = await run("web-rollout", { ...base, ...bad });
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(/must not start with '-'/);
            expect(docker.calls()).toEqual([]);
        }
    });

    test("ops-console: COMMAND is words, never globbed; an image from docker ps starting with '-' is refused", async () => {
        docker.respond(`[ "$1" = ps ] && echo "${IMAGE}"; exit 0`);
        const r = await run("ops-console", { SERVICE: "shred-day", ENV_FILE: "/etc/shred-day/jobs.env", COMMAND: "bin/rails runner /* $HOME" });
        expect(r.code).toBe(0);
        const runCall = docker.calls().find((c) => c[0] === "run")!;
        expect(runCall.slice(-6)).toEqual(["--", IMAGE, "bin/rails", "runner", "/*", "$HOME"]);

        docker.reset();
        docker.respond(`[ "$1" = ps ] && echo "--privileged"; exit 0`);
        const bad = await run("ops-console", { SERVICE: "shred-day", ENV_FILE: "/etc/shred-day/jobs.env" });
        expect(bad.code).toBe(2);
        expect(docker.calls().filter((c) => c[0] === "run")).toEqual([]);
    });
});

describe("one release = one image content (point 10)", () => {
    test("image-pull refuses :latest and an image without a tag, before calling docker", async () => {
        for (const image of ["ghcr.io/shred-day/shred-day:latest", "ghcr.io/shred-day/shred-day", "registry.local:5000/shred-day"]) {
            docker.reset();
            const r = await run("image-pull", pullParams({ IMAGE: image }), `${REGISTRY_PASSWORD}\n`);
            expect(r.code).toBe(1);
            expect(r.stderr).toContain("names no fixed content");
            expect(docker.calls()).toEqual([]);
        }
    });

    test("a digest-pinned image is accepted, even with the latest tag, and must match what the host has", async () => {
        docker.respond(REGISTRY_MODEL);
        const ok = await run("image-pull", pullParams({ IMAGE: `ghcr.io/shred-day/shred-day:latest@${DIGEST}` }), `${REGISTRY_PASSWORD}\n`);
        expect(ok.code).toBe(0);
        expect(ok.stdout).toContain(`image-pull: content ghcr.io/shred-day/shred-day@${DIGEST}`);
        docker.reset();
        docker.respond(REGISTRY_MODEL);
        const other = `sha256:${"ef".repeat(32)}`;
        const bad = await run("image-pull", pullParams({ IMAGE: `ghcr.io/shred-day/shred-day@${other}` }), `${REGISTRY_PASSWORD}\n`);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain(`is pinned to ${other}, but this host's image has ghcr.io/shred-day/shred-day@${DIGEST}`);
    });
});

describe("a new server's host key by cloud-init (point 2)", () => {
    test("the cloud-config with the program's host key is valid for `cloud-init schema`", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-hostkey-"));
        try {
            const key = path.join(dir, "k");
            expect(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key]).status).toBe(0);
            const text = cloudConfig({ privateKey: fs.readFileSync(key, "utf8"), publicKey: fs.readFileSync(`${key}.pub`, "utf8").trim() });
            fs.writeFileSync(path.join(dir, "user-data.yaml"), text);
            const r = spawnSync("cloud-init", ["schema", "--config-file", path.join(dir, "user-data.yaml")], { encoding: "utf8" });
            expect(`${r.stdout}${r.stderr}`).toContain("Valid cloud-config");
            expect(text).toContain("ssh_deletekeys: true");
            expect(text).toMatch(/ssh_keys:\n\s+ed25519_private: \|/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
