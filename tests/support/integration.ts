/**
 * Shared harness for the integration tests: a real OpenSSH server on 127.0.0.1 whose sessions
 * talk to a private Docker engine (tests/support/docker.ts, DOCKER_HOST set server-side with
 * sshd's SetEnv), and a Postgres container in that engine (the test image built from Debian's
 * packages, published on the host's private IP, 10.0.0.3:5432, like the accessory).
 *
 * Typical use in a test file (each file starts its own servers; jest may run files in
 * parallel, so nothing here uses a fixed port, directory or daemon):
 *
 *     let host: RemoteHost;
 *     beforeAll(async () => { host = await startRemoteHost({ queueDatabase: "q" }); }, HARNESS_START_TIMEOUT_MS);
 *     afterAll(() => host?.stop());
 *
 *     const r = await host.runScript("postgres-databases", {...}, { stdin: "secret\n" });
 *     await host.docker.ok(["ps", "-a"]);  await host.pg.psql("SELECT 1", "q");
 *
 * The sshd runs as an unprivileged user (TEST_SSH_USER: .ci/run's throwaway `shred-day-ci`, or
 * Debian's `postgres`) and accepts only that user; root's account is never touched. Its
 * sessions may use the private dockerd's socket (chowned to that user). The test process itself
 * runs as root (dockerd, network namespaces). A missing tool is an error, never a skip.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { scriptCommand, ScriptParams } from "../../components/remote";
import { onCleanup } from "./cleanup";
import { startDocker, TestDocker, DOCKER_START_TIMEOUT_MS } from "./docker";
import { POSTGRES_LABELS } from "../../components/postgresAccessory";

/** The password of the `shred_day` superuser role (POSTGRES_USER) of every test Postgres container. */
export const TEST_PG_PASSWORD = "TestPassword123";
/** The role the clusters create for the scripts (a superuser, like the official image's POSTGRES_USER). */
export const TEST_PG_USER = "shred_day";
/** Give beforeAll this timeout when it starts a remote host (a cold image build takes minutes; jest's default is 5 s). */
export const HARNESS_START_TIMEOUT_MS = DOCKER_START_TIMEOUT_MS;

/** PATH of a session on the test sshd: Debian's /usr/bin/docker (20.10, the daemon's release) before /usr/local/bin (another docker CLI on this machine). */
export const DEFAULT_REMOTE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin";

const POSTGRES_TOOLS = new Set(["psql"]);
const DEBIAN_PACKAGE: Record<string, string> = {
    sshd: "openssh-server",
    ssh: "openssh-client",
    "ssh-keygen": "openssh-client",
    psql: "postgresql-client",
    shellcheck: "shellcheck",
    "cloud-init": "cloud-init",
    runuser: "util-linux",
    bash: "bash",
};

function isExecutable(file: string): boolean {
    try {
        const st = fs.statSync(file);
        if (!st.isFile()) return false;
        fs.accessSync(file, fs.constants.X_OK);
        return true;
    } catch {
        return false;
    }
}

/** Debian's server binaries: /usr/lib/postgresql/<major>/bin, newest major first. */
function postgresBinDirs(): string[] {
    const root = "/usr/lib/postgresql";
    if (!fs.existsSync(root)) return [];
    return fs
        .readdirSync(root)
        .filter((d) => /^\d+$/.test(d))
        .sort((a, b) => Number(b) - Number(a))
        .map((d) => path.join(root, d, "bin"));
}

/**
 * The absolute path of a tool the integration tests need. Postgres tools come from
 * Debian's versioned bin dir (not the pg_wrapper in /usr/bin), the rest from PATH or the
 * sbin dirs. Throws when it is missing: CI must fail, not skip.
 */
export function requireTool(name: string): string {
    const dirs: string[] = [];
    if (POSTGRES_TOOLS.has(name)) dirs.push(...postgresBinDirs());
    dirs.push(...(process.env.PATH ?? "").split(":").filter(Boolean));
    dirs.push("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin");
    for (const dir of dirs) {
        const candidate = path.join(dir, name);
        if (isExecutable(candidate)) return candidate;
    }
    const pkg = DEBIAN_PACKAGE[name];
    throw new Error(
        `integration tests need \`${name}\`, which is not installed` +
            (pkg ? ` (Debian package ${pkg}; .ci/run installs it: apt-get install -y ${pkg})` : "") +
            `. Looked in: ${[...new Set(dirs)].join(", ")}`,
    );
}

/** The dir holding the Postgres client/server binaries the harness uses. */
export function postgresBinDir(): string {
    return path.dirname(requireTool("psql"));
}

export interface ExecResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Run a local program, collect its output; never throws on a non-zero exit. */
export function execLocal(
    file: string,
    args: string[],
    opts: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, opts.timeoutMs ?? 60_000);
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            if (timedOut) {
                reject(new Error(`${file} ${args.join(" ")} timed out after ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
                return;
            }
            resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
        });
        child.stdin.on("error", () => undefined); // the child may exit before reading stdin
        if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
        else child.stdin.end();
    });
}

async function execOk(file: string, args: string[], opts: Parameters<typeof execLocal>[2] = {}): Promise<ExecResult> {
    const r = await execLocal(file, args, opts);
    if (r.code !== 0) {
        throw new Error(`${file} ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return r;
}

/** A port that was free on 127.0.0.1 a moment ago (callers retry if it is taken by the time they bind). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            const port = typeof addr === "object" && addr ? addr.port : 0;
            srv.close(() => resolve(port));
        });
    });
}

function makeTempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `shred-day-${prefix}-`));
}

/**
 * A scratch dir for a test file, removed at exit and on SIGINT/SIGTERM/SIGHUP too (cleanup.ts),
 * not only by the file's afterAll. `forSessions`: owned by TEST_SSH_USER, so the scripts run
 * over the test sshd can write in it.
 */
export function testScratchDir(prefix: string, opts: { forSessions?: boolean } = {}): string {
    const dir = makeTempDir(prefix);
    onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
    if (opts.forSessions) {
        const { uid, gid } = testSshAccount();
        fs.chownSync(dir, uid, gid);
    }
    return dir;
}

/** Everything started by this process is undone on exit, failure and signals (cleanup.ts). */
const onExit = onCleanup;

function pgIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

// ---------------------------------------------------------------------------------------
// sshd

export interface SshRunOptions {
    /** Written to the remote command's stdin, then EOF (like the command provider's `stdin`). */
    stdin?: string;
    /** Kill ssh and reject after this long (default 60 s). */
    timeoutMs?: number;
    /** Extra client options, e.g. ["-o", "SetEnv=FOO=1"]. */
    sshOptions?: string[];
}

export interface SshServer {
    host: "127.0.0.1";
    port: number;
    /** The unprivileged user sshd runs as and the only one it accepts (TEST_SSH_USER). */
    user: string;
    /** Private key the server accepts (authorized_keys). */
    keyFile: string;
    /** known_hosts holding the server's throwaway host key for [127.0.0.1]:port. */
    knownHostsFile: string;
    /** The sshd_config in use. */
    configFile: string;
    /** The client argv before the command (ssh path excluded): -F /dev/null -p PORT -i KEY -o ... USER@127.0.0.1 */
    sshArgs(): string[];
    /** `ssh ... USER@127.0.0.1 -- <command>`: the remote login shell runs `command` exactly as given. */
    run(command: string, opts?: SshRunOptions): Promise<ExecResult>;
    /** Pid of the listening sshd (undefined once stopped). */
    pid(): number | undefined;
    /** What sshd wrote to stderr so far (-e). */
    serverLog(): string;
    stop(): Promise<void>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The account the test sshd runs as and logs in: SHRED_DAY_TEST_SSH_USER (.ci/run makes a
 * throwaway `shred-day-ci` for its run and removes it after), else Debian's `postgres` (of the
 * postgresql package, shell /bin/bash). Not root: a non-root sshd can only log in itself, and
 * root's account is never touched.
 */
export const TEST_SSH_USER = process.env.SHRED_DAY_TEST_SSH_USER ?? "postgres";

function unprivilegedAccount(user: string): { uid: number; gid: number; home: string } {
    const r = spawnSync("getent", ["passwd", user], { encoding: "utf8" });
    const fields = (r.stdout ?? "").trim().split(":");
    if (r.status !== 0 || fields.length < 7) {
        throw new Error(`the test sshd runs as the unprivileged user ${user}, which does not exist (set SHRED_DAY_TEST_SSH_USER to an unprivileged account with a shell, as .ci/run does)`);
    }
    const uid = Number(fields[2]);
    if (uid === 0) throw new Error(`the test sshd must not run as root (${user} has uid 0)`);
    if (!/(bash|\/sh)$/.test(fields[6])) throw new Error(`${user}'s shell is ${fields[6]}: the test sshd's sessions need a real shell`);
    return { uid, gid: Number(fields[3]), home: fields[5] };
}

/** uid/gid of TEST_SSH_USER (to chown what its sessions must write). */
export function testSshAccount(): { uid: number; gid: number } {
    const a = unprivilegedAccount(TEST_SSH_USER);
    return { uid: a.uid, gid: a.gid };
}

/**
 * A real OpenSSH server on a free 127.0.0.1 port: throwaway host and client keys, key auth
 * only, root allowed (prohibit-password), the stock Ubuntu/Debian `AcceptEnv LANG LC_*`, and
 * `SetEnv` for opts.env (PATH defaults to DEFAULT_REMOTE_PATH, HOME to a private dir of the
 * server's). It runs as opts.user (TEST_SSH_USER), never root, and logs in only that user.
 */
export async function startSshd(opts: { env?: Record<string, string>; user?: string } = {}): Promise<SshServer> {
    const sshd = requireTool("sshd");
    const ssh = requireTool("ssh");
    const keygen = requireTool("ssh-keygen");

    const user = opts.user ?? TEST_SSH_USER;
    const account = unprivilegedAccount(user);

    const env: Record<string, string> = { PATH: DEFAULT_REMOTE_PATH, ...(opts.env ?? {}) };
    for (const [k, v] of Object.entries(env)) {
        if (!ENV_NAME.test(k)) throw new Error(`startSshd: bad env name ${JSON.stringify(k)}`);
        if (/["\\\n\r]/.test(v)) throw new Error(`startSshd: env ${k} holds a quote, backslash or newline, which sshd_config SetEnv cannot carry`);
    }

    const dir = makeTempDir("sshd");
    const home = path.join(dir, "home");
    fs.mkdirSync(home, { mode: 0o700 });
    fs.chownSync(home, account.uid, account.gid);
    if (!("HOME" in env)) env.HOME = home;
    const hostKey = path.join(dir, "ssh_host_ed25519_key");
    const keyFile = path.join(dir, "id_ed25519");
    const authorizedKeys = path.join(dir, "authorized_keys");
    const knownHostsFile = path.join(dir, "known_hosts");
    const configFile = path.join(dir, "sshd_config");

    await Promise.all([
        execOk(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", "test-host-key", "-f", hostKey]),
        execOk(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", "test-client-key", "-f", keyFile]),
    ]);
    fs.copyFileSync(`${keyFile}.pub`, authorizedKeys);
    fs.chmodSync(authorizedKeys, 0o600);
    // sshd runs as `user`: it reads its host key, config and authorized_keys; the client key stays root's
    for (const f of [dir, hostKey, `${hostKey}.pub`, authorizedKeys]) fs.chownSync(f, account.uid, account.gid);
    const hostPub = fs.readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");

    let child: ChildProcess | undefined;
    let log = "";
    let port = 0;

    const writeConfig = () =>
        fs.writeFileSync(
            configFile,
            [
                "# throwaway sshd for the integration tests",
                `ListenAddress 127.0.0.1:${port}`,
                `HostKey ${hostKey}`,
                "PidFile none",
                `AuthorizedKeysFile ${authorizedKeys}`,
                "StrictModes no", // the key files live under /tmp (world-writable)
                "PermitRootLogin no",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no", // PAM session modules (pam_loginuid) fail in containers
                "PrintMotd no",
                "X11Forwarding no",
                "# stock Ubuntu/Debian: the client may set only the locale",
                "AcceptEnv LANG LC_*",
                `SetEnv ${Object.entries(env)
                    .map(([k, v]) => `"${k}=${v}"`)
                    .join(" ")}`,
                "LogLevel INFO",
                "",
            ].join("\n"),
        );

    const launch = (): Promise<void> =>
        new Promise((resolve, reject) => {
            writeConfig();
            log = "";
            fs.chownSync(configFile, account.uid, account.gid);
            // not root: sshd can log in only the user it runs as, and changes no account;
            // --pdeathsig: it is killed with the test process, even one killed by SIGKILL
            const proc = spawn("setpriv", [`--reuid=${account.uid}`, `--regid=${account.gid}`, "--init-groups", "--pdeathsig=KILL", "--", sshd, "-D", "-e", "-f", configFile], {
                stdio: ["ignore", "ignore", "pipe"],
                cwd: dir,
            });
            child = proc;
            let settled = false;
            const timer = setTimeout(() => {
                if (settled) return;
                settled = true;
                proc.kill("SIGKILL");
                reject(new Error(`sshd did not start listening within 15 s:\n${log}`));
            }, 15_000);
            proc.stderr!.on("data", (d) => {
                log += d;
                if (!settled && log.includes("Server listening on")) {
                    settled = true;
                    clearTimeout(timer);
                    resolve();
                }
            });
            proc.on("error", (err) => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                reject(err);
            });
            proc.on("exit", (code) => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                reject(new Error(`sshd exited ${code} before listening:\n${log}`));
            });
        });

    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
        port = await freePort();
        try {
            await launch();
            lastError = undefined;
            break;
        } catch (err) {
            lastError = err; // most likely the port was taken meanwhile: try another
        }
    }
    if (lastError) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw lastError;
    }
    fs.writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostPub}\n`);
    const unregister = onExit(() => {
        child?.kill("SIGKILL");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const sshArgs = (): string[] => [
        "-F",
        "/dev/null",
        "-p",
        String(port),
        "-i",
        keyFile,
        "-o",
        `UserKnownHostsFile=${knownHostsFile}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "ConnectTimeout=10",
        // the provider's Go client negotiates curve25519 too; OpenSSH's default sntrup761 costs ~150 ms a connection
        "-o",
        "KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org",
        "-o",
        "LogLevel=ERROR",
        `${user}@127.0.0.1`,
    ];

    let stopped = false;
    return {
        host: "127.0.0.1",
        port,
        user,
        keyFile,
        knownHostsFile,
        configFile,
        sshArgs,
        serverLog: () => log,
        pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
        run: (command, runOpts = {}) => {
            const args = [...(runOpts.sshOptions ?? []), ...sshArgs(), "--", command];
            return execLocal(ssh, args, { stdin: runOpts.stdin ?? "", timeoutMs: runOpts.timeoutMs ?? 60_000 });
        },
        stop: async () => {
            if (stopped) return;
            stopped = true;
            const proc = child;
            if (proc && proc.exitCode === null && proc.signalCode === null) {
                await new Promise<void>((resolve) => {
                    proc.once("exit", () => resolve());
                    proc.kill("SIGTERM");
                });
            }
            fs.rmSync(dir, { recursive: true, force: true });
            unregister();
        },
    };
}

// ---------------------------------------------------------------------------------------
// one remote host: a private dockerd with a Postgres container + sshd

/** Solid Queue's tables as Rails' db/queue_schema.rb creates them. */
export const SOLID_QUEUE_SCHEMA_FILE = path.join(__dirname, "solid_queue_schema.sql");

/** The remote host's private IP (web.privateIp in the fixtures): on lo of the dockerd's namespace. */
export const TEST_PRIVATE_IP = "10.0.0.3";
/** Name of the Postgres container startRemoteHost runs (the accessory's default name). */
export const TEST_PG_CONTAINER = "shred-day-postgres";

/** Anything with psql + createDatabase (the Postgres container). */
export interface SqlTarget {
    psql(sql: string, db?: string): Promise<string>;
    createDatabase(name: string): Promise<void>;
}

/** Create `database` and load Solid Queue's tables into it. */
export async function loadSolidQueueSchema(pg: SqlTarget, database: string): Promise<void> {
    await pg.createDatabase(database);
    await pg.psql(fs.readFileSync(SOLID_QUEUE_SCHEMA_FILE, "utf8"), database);
}

/** The Postgres container of a RemoteHost (the postgres:<major> test image, data in an anonymous volume). */
export interface ContainerPostgres extends SqlTarget {
    /** Container name (TEST_PG_CONTAINER). */
    container: string;
    /** Image reference, e.g. postgres:15. */
    image: string;
    /** The superuser the container was initialised with (POSTGRES_USER = TEST_PG_USER). */
    user: string;
    password: string;
    /** Major version of the server (the image's tag). */
    major: number;
    /** Published on TEST_PRIVATE_IP:5432 inside the dockerd's namespace. */
    host: string;
    /** Run SQL (sent on stdin) as `user` through the container's socket (`docker exec -i ... psql -At`). Throws on error. */
    psql(sql: string, db?: string): Promise<string>;
    /** CREATE DATABASE name OWNER user. */
    createDatabase(name: string): Promise<void>;
    /** docker stop (the server goes down; the container and its data stay). */
    stopServer(): Promise<void>;
    /** docker start, then wait until pg_isready answers on the private IP. */
    startServer(): Promise<void>;
}

async function startContainerPostgres(docker: TestDocker, privateIp: string): Promise<ContainerPostgres> {
    const image = await docker.image("postgres");
    const major = Number(image.split(":")[1]);
    await docker.ok([
        "run", "--detach", "--name", TEST_PG_CONTAINER, "--restart", "unless-stopped",
        "--publish", `${privateIp}:5432:5432`,
        // the program's own Postgres container is told apart by these labels, not by its name (issue 10)
        ...Object.entries(POSTGRES_LABELS).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
        "--env", `POSTGRES_USER=${TEST_PG_USER}`, "--env", `POSTGRES_PASSWORD=${TEST_PG_PASSWORD}`, "--env", "POSTGRES_DB=postgres",
        image, "postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=100",
    ]);
    const waitReady = async () => {
        const deadline = Date.now() + 90_000;
        for (;;) {
            const r = await docker.run(["exec", TEST_PG_CONTAINER, "pg_isready", "-h", privateIp, "-U", TEST_PG_USER, "-t", "2"], { timeoutMs: 10_000 });
            if (r.code === 0) return;
            if (Date.now() > deadline) {
                const logs = await docker.run(["logs", "--tail", "30", TEST_PG_CONTAINER]);
                throw new Error(`the Postgres container did not get ready on ${privateIp}:5432 within 90 s: ${r.stdout}${r.stderr}\n${logs.stdout}${logs.stderr}`);
            }
            await new Promise((res) => setTimeout(res, 300));
        }
    };
    await waitReady();
    const psql = async (sql: string, db = "postgres"): Promise<string> => {
        const r = await docker.run(["exec", "-i", TEST_PG_CONTAINER, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", TEST_PG_USER, "-d", db, "-f", "-"], {
            stdin: sql,
        });
        if (r.code !== 0) throw new Error(`psql on ${db} failed (${r.code}): ${r.stderr}\nSQL: ${sql.slice(0, 2000)}`);
        return r.stdout.replace(/\n$/, "");
    };
    return {
        container: TEST_PG_CONTAINER,
        image,
        user: TEST_PG_USER,
        password: TEST_PG_PASSWORD,
        major,
        host: privateIp,
        psql,
        createDatabase: async (name) => {
            await psql(`CREATE DATABASE ${pgIdent(name)} OWNER ${pgIdent(TEST_PG_USER)};`);
        },
        stopServer: async () => {
            await docker.ok(["stop", "--time", "10", TEST_PG_CONTAINER]);
        },
        startServer: async () => {
            await docker.ok(["start", TEST_PG_CONTAINER]);
            await waitReady();
        },
    };
}

export interface ScriptRun extends ExecResult {
    /** The exact command text sent over SSH (what the command provider would send). */
    command: string;
    /** Wall time of the whole SSH round trip. */
    ms: number;
}

/** A host as the remote scripts see it: sshd on 127.0.0.1 whose sessions use a private dockerd running a Postgres container. */
export interface RemoteHost {
    docker: TestDocker;
    /** The Postgres container (absent with { postgres: false }). */
    pg: ContainerPostgres;
    ssh: SshServer;
    /** TEST_PRIVATE_IP: on lo of the dockerd's namespace; Postgres is published there. */
    privateIp: string;
    /** Run components/scripts/NAME.sh with `params` exactly as remoteStep() builds the command. */
    runScript(name: string, params: ScriptParams, opts?: { stdin?: string; timeoutMs?: number }): Promise<ScriptRun>;
    stop(): Promise<void>;
}

/**
 * Start one RemoteHost. `env` adds to the remote environment (it gets the base env,
 * DOCKER_HOST and PATH, and returns what sshd should set); `queueDatabase` creates it with Solid
 * Queue's tables; `postgres: false` runs no Postgres container.
 */
export async function startRemoteHost(
    opts: { env?: (baseEnv: Record<string, string>) => Record<string, string>; queueDatabase?: string; postgres?: boolean } = {},
): Promise<RemoteHost> {
    const docker = await startDocker({ addresses: [`${TEST_PRIVATE_IP}/32`] });
    let ssh: SshServer | undefined;
    let pg: ContainerPostgres | undefined;
    try {
        if (opts.postgres !== false) pg = await startContainerPostgres(docker, TEST_PRIVATE_IP);
        const baseEnv = { ...docker.env, PATH: DEFAULT_REMOTE_PATH };
        ssh = await startSshd({ env: opts.env ? opts.env(baseEnv) : baseEnv });
        if (opts.queueDatabase && pg) await loadSolidQueueSchema(pg, opts.queueDatabase);
    } catch (e) {
        await ssh?.stop();
        await docker.stop();
        throw e;
    }
    const server = ssh;
    return {
        docker,
        pg: pg as ContainerPostgres,
        ssh: server,
        privateIp: TEST_PRIVATE_IP,
        async runScript(name, params, runOpts = {}) {
            const command = scriptCommand(name, params);
            const t0 = Date.now();
            const r = await server.run(command, { stdin: runOpts.stdin, timeoutMs: runOpts.timeoutMs ?? 60_000 });
            return { ...r, command, ms: Date.now() - t0 };
        },
        async stop() {
            await server.stop();
            await docker.stop();
        },
    };
}
