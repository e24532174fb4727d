/**
 * A private Docker engine for integration tests, and the locally built test images.
 * API summary (details in tests/support/README.md):
 *
 *     const docker = await startDocker({ addresses: ["10.0.0.3/32"] });   // DOCKER_START_TIMEOUT_MS
 *     const pgRef = await docker.image("postgres");       // "postgres:15", built or loaded from cache
 *     await docker.ok(["run", "-d", "--name", "db", "-e", "POSTGRES_PASSWORD=x", pgRef]);
 *     const r = await docker.run(["inspect", "--format", "{{.State.Running}}", "db"]);
 *     const h = await docker.http("10.0.0.3", 80, "/up", { host: "shred.day" });  // inside the daemon's netns
 *     await docker.stop();                                 // also runs on exit, failure and signals
 *
 * Each startDocker() is one Debian dockerd 20.10 (`--storage-driver overlay2`, vfs on overlayfs; `--iptables=false`, own
 * --data-root/--exec-root/--pidfile/socket) in its OWN network namespace, run and torn down by
 * dockerd-session.sh: bridges, published ports (docker-proxy) and container addresses stay in
 * that namespace, so parallel test files may all publish 80 or 10.0.0.3:5432. Clients reach it
 * through DOCKER_HOST=unix://<dir>/docker.sock (`docker.env`; startSshd passes it to sessions).
 *
 * Images are built once per machine and cached by content hash OUTSIDE the repo, in
 * $SHRED_DAY_IMAGE_CACHE (default /var/cache/shred-day-test-images): rootfs-<hash>.tar (the
 * debootstrap --variant=minbase root filesystem, images/rootfs.sh) and <image>-<hash>.tar
 * (`docker save` of the built image). Files are written under a temporary name and renamed,
 * and a lock directory per artifact keeps parallel runs from building the same thing twice.
 * Every build or load prints one line with its time on stderr.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { onCleanup } from "./cleanup";
import { execLocal, ExecResult, testSshAccount } from "./integration";

/** Give beforeAll this timeout when it starts a daemon and loads images (a cold build takes minutes). */
export const DOCKER_START_TIMEOUT_MS = 15 * 60_000;

/** Debian's docker.io client (20.10, the daemon's release). /usr/local/bin/docker on this machine is another (28.x). */
export const DOCKER_CLI = "/usr/bin/docker";
const DOCKERD = "/usr/sbin/dockerd";
const SESSION_SCRIPT = path.join(__dirname, "dockerd-session.sh");
const IMAGES_DIR = path.join(__dirname, "images");

/** The test images: what each is, and the tag it gets in a daemon. */
export type TestImage = "postgres" | "app" | "kamal-proxy";

export interface DockerRunOptions {
    stdin?: string;
    /** Default 120 s. */
    timeoutMs?: number;
    /** Added to the client's environment. */
    env?: Record<string, string>;
}

export interface TestDocker {
    /** The session dir (data root, exec root, socket, dockerd.log). Removed by stop(). */
    dir: string;
    /** Path of the daemon's unix socket. */
    socket: string;
    /** `DOCKER_HOST` for clients: unix://<socket>. */
    host: string;
    /** { DOCKER_HOST }: pass to startSshd({ env }) or to execLocal's env. */
    env: { DOCKER_HOST: string };
    /** Name of the network namespace dockerd runs in (/var/run/netns/<netns>). */
    netns: string;
    /** `docker ARGS` against this daemon (Debian's CLI); never throws on a non-zero exit. */
    run(args: string[], opts?: DockerRunOptions): Promise<ExecResult>;
    /** `docker ARGS`, throwing with the output on a non-zero exit; returns stdout without its last newline. */
    ok(args: string[], opts?: DockerRunOptions): Promise<string>;
    /** Run a program inside the daemon's network namespace (e.g. curl to a published address). */
    inNetns(file: string, args: string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult>;
    /** One HTTP GET from inside the namespace (curl, 5 s bound); status 0 when nothing answered. */
    http(address: string, port: number, urlPath: string, opts?: { host?: string }): Promise<{ status: number; body: string }>;
    /** Make a test image present in this daemon (build or load from the cache); returns its reference. */
    image(name: TestImage): Promise<string>;
    /** `docker tag SOURCE TARGET` (tests give the stand-ins the names the scripts expect). */
    tag(source: string, target: string): Promise<void>;
    /** The daemon's log so far. */
    log(): string;
    /** Remove every container, network and volume, stop the daemon, unmount, delete the netns and dir. */
    stop(): Promise<void>;
}

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
    return { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C", ...extra };
}

function requireFile(file: string, pkg: string): void {
    if (!fs.existsSync(file)) {
        throw new Error(`integration tests need ${file} (Debian package ${pkg}; .ci/run installs it: apt-get install -y ${pkg})`);
    }
}

/**
 * Start a private dockerd. `addresses` (CIDR, e.g. "10.0.0.3/32") are put on a dummy interface
 * in the daemon's namespace, so a script can publish on the host's private IP.
 */
export async function startDocker(opts: { addresses?: string[] } = {}): Promise<TestDocker> {
    requireFile(DOCKERD, "docker.io");
    requireFile(DOCKER_CLI, "docker.io");
    if (process.getuid?.() !== 0) throw new Error("startDocker: dockerd needs root (run the tests as root, as .ci/run does)");
    for (const a of opts.addresses ?? []) {
        if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(a)) throw new Error(`startDocker: address ${JSON.stringify(a)} is not IPv4 CIDR`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-docker-"));
    const netns = `sdd-${process.pid}-${crypto.randomBytes(3).toString("hex")}`;
    const socket = path.join(dir, "docker.sock");
    const host = `unix://${socket}`;

    const child: ChildProcess = spawn("bash", [SESSION_SCRIPT, dir, netns, String(process.pid), ...(opts.addresses ?? [])], {
        detached: true, // its own process group: a Ctrl-C on the terminal reaches it only through us
        stdio: ["ignore", "pipe", "pipe"],
        env: env({}),
    });
    let sessionErr = "";
    child.stderr!.on("data", (d) => (sessionErr += d));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const unregister = onCleanup(() => {
        // the session tears everything down itself on TERM; give it the time it needs
        try {
            process.kill(child.pid!, "SIGTERM");
        } catch {
            return;
        }
        // until its teardown removed the dir, or it exited (a zombie: we cannot reap it while blocked here), 90 s at most
        spawnSync(
            "bash",
            ["-c", 'for i in $(seq 1 900); do [ -d "$1" ] || exit 0; read -r _ _ st _ < "/proc/$2/stat" 2>/dev/null || exit 0; [ "$st" = Z ] && exit 0; sleep 0.1; done', "wait", dir, String(child.pid)],
            { stdio: "ignore" },
        );
    });

    await new Promise<void>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`private dockerd did not start within 90 s:\n${sessionErr}`)), 90_000);
        child.stdout!.on("data", (d) => {
            out += d;
            if (out.includes("READY")) {
                clearTimeout(timer);
                resolve();
            }
        });
        child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`private dockerd could not start (session exited ${code}):\n${sessionErr}`));
        });
    }).catch(async (err) => {
        if (child.exitCode === null) child.kill("SIGTERM");
        await exited;
        unregister();
        throw err;
    });

    // the test sshd's sessions run as an unprivileged user (TEST_SSH_USER): let it use this daemon's socket, only this one
    // (without that account the socket stays root's: a daemon for root's own use, as the rehearsal's
    // image build needs; startSshd refuses to start without it, naming SHRED_DAY_TEST_SSH_USER)
    let sessionUser: { uid: number; gid: number } | undefined;
    try {
        sessionUser = testSshAccount();
    } catch {
        sessionUser = undefined;
    }
    if (sessionUser) {
        fs.chmodSync(dir, 0o755);
        fs.chownSync(socket, sessionUser.uid, sessionUser.gid);
    }

    const clientEnv = env({ DOCKER_HOST: host, HOME: dir, DOCKER_CONFIG: path.join(dir, "client-config") });
    const run = (args: string[], o: DockerRunOptions = {}) =>
        execLocal(DOCKER_CLI, args, { env: { ...clientEnv, ...(o.env ?? {}) }, stdin: o.stdin, timeoutMs: o.timeoutMs ?? 120_000 });
    const ok = async (args: string[], o: DockerRunOptions = {}) => {
        const r = await run(args, o);
        if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
        return r.stdout.replace(/\n$/, "");
    };
    const inNetns = (file: string, args: string[], o: { stdin?: string; timeoutMs?: number } = {}) =>
        execLocal("nsenter", [`--net=/var/run/netns/${netns}`, "--", file, ...args], { env: env({}), stdin: o.stdin, timeoutMs: o.timeoutMs ?? 30_000 });

    let stopped = false;
    const docker: TestDocker = {
        dir,
        socket,
        host,
        env: { DOCKER_HOST: host },
        netns,
        run,
        ok,
        inNetns,
        async http(address, port, urlPath, o = {}) {
            const args = ["-s", "-m", "5", "--noproxy", "*", "-o", "-", "-w", "\n%{http_code}"];
            if (o.host) args.push("-H", `Host: ${o.host}`);
            args.push(`http://${address}:${port}${urlPath}`);
            const r = await inNetns("curl", args, { timeoutMs: 10_000 });
            const i = r.stdout.lastIndexOf("\n");
            return { status: Number(r.stdout.slice(i + 1)) || 0, body: r.stdout.slice(0, Math.max(i, 0)) };
        },
        image: (name) => ensureImage(docker, name),
        async tag(source, target) {
            await ok(["tag", source, target]);
        },
        log: () => {
            try {
                return fs.readFileSync(path.join(dir, "dockerd.log"), "utf8");
            } catch {
                return "";
            }
        },
        async stop() {
            if (stopped) return;
            stopped = true;
            if (child.exitCode === null && child.signalCode === null) {
                child.kill("SIGTERM");
                await exited;
            }
            unregister();
            if (fs.existsSync(dir)) throw new Error(`private dockerd's session left ${dir} behind:\n${sessionErr}`);
        },
    };
    return docker;
}

// ---------------------------------------------------------------------------------------
// images

/** Where built images are cached (outside the repo; survives between runs). */
export function imageCacheDir(): string {
    return process.env.SHRED_DAY_IMAGE_CACHE ?? "/var/cache/shred-day-test-images";
}

/** The machine's Debian mirror, from /etc/apt/sources.list and sources.list.d (deb822 or one-line), never the security suite. */
export function debianMirror(): string {
    const files = ["/etc/apt/sources.list"];
    const d = "/etc/apt/sources.list.d";
    if (fs.existsSync(d)) files.push(...fs.readdirSync(d).filter((f) => /\.(list|sources)$/.test(f)).map((f) => path.join(d, f)));
    for (const file of files) {
        if (!fs.existsSync(file)) continue;
        const text = fs.readFileSync(file, "utf8");
        const candidates = [
            ...[...text.matchAll(/^URIs:\s*(\S+)/gm)].map((m) => m[1]),
            ...[...text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/gm)].map((m) => m[1]),
        ];
        const mirror = candidates.find((u) => /\/debian\/?$/.test(u) && !/security/.test(u));
        if (mirror) return mirror.replace(/\/$/, "");
    }
    throw new Error("no Debian mirror for bookworm in /etc/apt/sources.list*: the test images are built with debootstrap from it");
}

function sha(parts: (string | Buffer)[]): string {
    const h = crypto.createHash("sha256");
    for (const p of parts) {
        h.update(String(Buffer.byteLength(p)));
        h.update(":");
        h.update(p);
    }
    return h.digest("hex").slice(0, 16);
}

/** Every file under dir (relative path, mode, content), sorted: the content hash of a build context. */
function treeParts(dir: string): (string | Buffer)[] {
    const out: (string | Buffer)[] = [];
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const r = path.join(rel, entry.name);
            if (entry.isDirectory()) walk(r);
            else {
                const full = path.join(dir, r);
                out.push(r, String(fs.statSync(full).mode & 0o777), fs.readFileSync(full));
            }
        }
    };
    walk("");
    return out;
}

function baseKey(): string {
    return sha(["rootfs-v3", debianMirror(), fs.readFileSync(path.join(IMAGES_DIR, "rootfs.sh"))]);
}

/** Files copied into a build context besides images/<name>/ (the app stand-in loads Solid Queue's real schema). */
function extraContext(name: TestImage): Record<string, string> {
    return name === "app" ? { "rails/db/queue_schema.sql": path.join(__dirname, "solid_queue_schema.sql") } : {};
}

function imageKey(name: TestImage): string {
    const extras = Object.entries(extraContext(name)).flatMap(([rel, file]) => [rel, fs.readFileSync(file)]);
    return sha([`image-v1-${name}`, baseKey(), ...treeParts(path.join(IMAGES_DIR, name)), ...extras]);
}

function note(line: string): void {
    process.stderr.write(`[test images] ${line}\n`);
    try {
        fs.appendFileSync(path.join(imageCacheDir(), "build-times.log"), `${new Date().toISOString()} ${line}\n`);
    } catch {
        /* the log is a convenience */
    }
}

function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** A lock directory with the holder's pid; a dead holder's lock is taken over. Waits up to 20 min. */
async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const lock = path.join(imageCacheDir(), `${name}.lock`);
    const deadline = Date.now() + 20 * 60_000;
    for (;;) {
        try {
            fs.mkdirSync(lock);
            fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
            break;
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
            let holder = NaN;
            try {
                holder = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
            } catch {
                /* being written, or gone */
            }
            if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) {
                fs.rmSync(lock, { recursive: true, force: true });
                continue;
            }
            if (Date.now() > deadline) throw new Error(`waited 20 min for ${lock} (held by pid ${holder}); remove it if that process is gone`);
            await new Promise((r) => setTimeout(r, 1000));
        }
    }
    const release = onCleanup(() => fs.rmSync(lock, { recursive: true, force: true }));
    try {
        return await fn();
    } finally {
        fs.rmSync(lock, { recursive: true, force: true });
        release();
    }
}

/** The two base root filesystem tars in the cache, rootfs-<hash>/{postgres,slim}.tar (debootstrap when missing). */
async function ensureRootfs(): Promise<string> {
    const key = baseKey();
    const dir = path.join(imageCacheDir(), `rootfs-${key}`);
    const done = () => ["postgres.tar", "postgres.version", "slim.tar"].every((f) => fs.existsSync(path.join(dir, f)));
    if (done()) return dir;
    return withLock(`rootfs-${key}`, async () => {
        if (done()) return dir;
        requireFile("/usr/sbin/debootstrap", "debootstrap");
        const t0 = Date.now();
        const r = await execLocal("bash", [path.join(IMAGES_DIR, "rootfs.sh"), dir, debianMirror(), path.join(imageCacheDir(), "debs")], {
            env: env({}),
            timeoutMs: 15 * 60_000,
        });
        if (r.code !== 0) throw new Error(`building the test root filesystems failed (${r.code}):\n${r.stderr}${r.stdout}`);
        note(`rootfs-${key}: debootstrap --variant=minbase and trimming in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return dir;
    });
}

/** The imported bases: Postgres' (the whole rootfs) and the stand-ins' (slim). */
const BASE_REF = { postgres: "shred-day-test/base-postgres:latest", slim: "shred-day-test/base:latest" } as const;
const KEY_LABEL = "org.shred-day.test-image-key";

async function ensureBase(docker: TestDocker, which: keyof typeof BASE_REF): Promise<void> {
    const key = baseKey();
    const have = await docker.run(["image", "inspect", "--format", `{{index .Config.Labels "${KEY_LABEL}"}}`, BASE_REF[which]]);
    if (have.code === 0 && have.stdout.trim() === key) return;
    const dir = await ensureRootfs();
    const t0 = Date.now();
    await docker.ok(["import", "--change", `LABEL ${KEY_LABEL}=${key}`, "--change", 'CMD ["bash"]', path.join(dir, `${which}.tar`), BASE_REF[which]], {
        timeoutMs: 10 * 60_000,
    });
    note(`base ${BASE_REF[which]}: docker import in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** postgresql-15's Debian version in the Postgres base ("15.13-0+deb12u1"): the image's PG_VERSION and major tag. */
async function postgresPackageVersion(): Promise<string> {
    const v = fs.readFileSync(path.join(await ensureRootfs(), "postgres.version"), "utf8").trim();
    if (!/^\d+\.\d+/.test(v)) throw new Error(`cannot read the postgresql-15 package version of the test rootfs: ${JSON.stringify(v)}`);
    return v;
}

/** Refs built so far in each daemon (a daemon loads each image once). */
const loaded = new WeakMap<TestDocker, Map<TestImage, string>>();

async function ensureImage(docker: TestDocker, name: TestImage): Promise<string> {
    let map = loaded.get(docker);
    if (!map) loaded.set(docker, (map = new Map()));
    const known = map.get(name);
    if (known) return known;

    const key = imageKey(name);
    const tar = path.join(imageCacheDir(), `${name}-${key}.tar`);
    const refFile = `${tar}.ref`;
    fs.mkdirSync(imageCacheDir(), { recursive: true });

    const load = async (): Promise<string> => {
        const t0 = Date.now();
        await docker.ok(["load", "-q", "-i", tar], { timeoutMs: 10 * 60_000 });
        const ref = fs.readFileSync(refFile, "utf8").trim();
        note(`${name} (${ref}): loaded from cache ${path.basename(tar)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return ref;
    };

    let ref: string;
    if (fs.existsSync(tar) && fs.existsSync(refFile)) ref = await load();
    else {
        ref = await withLock(`${name}-${key}`, async () => {
            if (fs.existsSync(tar) && fs.existsSync(refFile)) return load();
            const t0 = Date.now();
            await ensureBase(docker, name === "postgres" ? "postgres" : "slim");
            const pgVersion = name === "postgres" ? await postgresPackageVersion() : "";
            const r = name === "postgres" ? `postgres:${pgVersion.split(".")[0]}` : `shred-day-test/${name}:latest`;
            const ctx = fs.mkdtempSync(path.join(os.tmpdir(), `shred-day-image-${name}-`));
            try {
                fs.cpSync(path.join(IMAGES_DIR, name), ctx, { recursive: true });
                for (const [rel, file] of Object.entries(extraContext(name))) {
                    fs.mkdirSync(path.dirname(path.join(ctx, rel)), { recursive: true });
                    fs.copyFileSync(file, path.join(ctx, rel));
                }
                const args = ["build", "-q", "--network", "none", "--label", `${KEY_LABEL}=${key}`, "-t", r];
                if (name === "postgres") args.push("--build-arg", `PG_MAJOR=${r.split(":")[1]}`, "--build-arg", `PG_VERSION=${pgVersion}`);
                // BuildKit: metadata steps (ENV, LABEL, CMD...) make no container; with vfs each container is a full copy
                await docker.ok([...args, ctx], { timeoutMs: 10 * 60_000, env: { DOCKER_BUILDKIT: "1" } });
            } finally {
                fs.rmSync(ctx, { recursive: true, force: true });
            }
            const part = `${tar}.${process.pid}.part`;
            await docker.ok(["save", "-o", part, r], { timeoutMs: 10 * 60_000 });
            fs.writeFileSync(`${refFile}.${process.pid}.part`, `${r}\n`);
            fs.renameSync(part, tar);
            fs.renameSync(`${refFile}.${process.pid}.part`, refFile);
            note(`${name} (${r}): built in ${((Date.now() - t0) / 1000).toFixed(1)} s, cached as ${path.basename(tar)}`);
            return r;
        });
    }
    map.set(name, ref);
    return ref;
}
