/**
 * Shared harness for the integration tests: a real OpenSSH server on 127.0.0.1, a real
 * throwaway PostgreSQL cluster, and a recording test double for the `docker` CLI (no
 * Docker engine runs here).
 *
 * Typical use in a test file (each file starts its own servers; jest may run files in
 * parallel, so nothing here uses a fixed port or directory):
 *
 *     let host: RemoteHost;
 *     beforeAll(async () => { host = await startRemoteHost(); }, HARNESS_START_TIMEOUT_MS);
 *     afterAll(() => host?.stop());
 *     beforeEach(() => host.docker.reset());
 *
 *     const r = await host.runScript("postgres-databases", {...}, { stdin: "secret\n" });
 *
 * Tests run as root (CI and the dev machines both do). A missing tool is an error, never
 * a skip: `.ci/run` installs postgresql, openssh-server, shellcheck and cloud-init.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { scriptCommand, ScriptParams } from "../../components/remote";

/** The password of the `shred_day` superuser role in every TestPostgres cluster. */
export const TEST_PG_PASSWORD = "TestPassword123";
/** The role the clusters create for the scripts (a superuser, like the official image's POSTGRES_USER). */
export const TEST_PG_USER = "shred_day";
/** Give beforeAll this timeout when it starts a cluster and an sshd (jest's default is 5 s). */
export const HARNESS_START_TIMEOUT_MS = 60_000;

/** PATH of a root session on the test sshd (the double's bin dir is put in front of it). */
export const DEFAULT_REMOTE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const POSTGRES_TOOLS = new Set(["psql", "initdb", "pg_ctl", "pg_isready", "createdb", "postgres"]);
const DEBIAN_PACKAGE: Record<string, string> = {
    sshd: "openssh-server",
    ssh: "openssh-client",
    "ssh-keygen": "openssh-client",
    psql: "postgresql",
    initdb: "postgresql",
    pg_ctl: "postgresql",
    pg_isready: "postgresql",
    createdb: "postgresql",
    postgres: "postgresql",
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

/** Everything started by this process, stopped on exit if a test forgot (or jest was interrupted). */
const cleanups = new Set<() => void>();
let exitHookInstalled = false;
function onExit(fn: () => void): () => void {
    if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.once("exit", () => {
            for (const f of cleanups) {
                try {
                    f();
                } catch {
                    /* best effort */
                }
            }
        });
    }
    cleanups.add(fn);
    return () => cleanups.delete(fn);
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

export interface TestPostgres {
    /** TCP port on 127.0.0.1 (scram-sha-256 for every role). */
    port: number;
    /** Unix socket directory (trust for every role). */
    socketDir: string;
    /** "shred_day", a superuser. */
    user: string;
    /** TEST_PG_PASSWORD. */
    password: string;
    /** Major version of the local server (15 on Debian bookworm). */
    major: number;
    /** Run SQL (one or many statements, sent on stdin) as the bootstrap superuser over the socket; `psql -At` output. Throws on error. */
    psql(sql: string, db?: string): Promise<string>;
    /** CREATE DATABASE name OWNER shred_day. */
    createDatabase(name: string): Promise<void>;
    /** Stop the server but keep the cluster (for "not ready yet" scenarios); startServer() brings it back on the same port. */
    stopServer(): Promise<void>;
    startServer(): Promise<void>;
    /** Stop the server and delete the cluster. */
    stop(): Promise<void>;
}

function pgIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A throwaway cluster owned by OS user `postgres`, on a free 127.0.0.1 port, with its own
 * socket dir. pg_hba: `local all all trust`, `host all all 127.0.0.1/32 scram-sha-256`.
 */
export async function startPostgres(): Promise<TestPostgres> {
    const runuser = requireTool("runuser");
    const initdb = requireTool("initdb");
    const pgCtl = requireTool("pg_ctl");
    const psqlBin = requireTool("psql");
    const postgresBin = requireTool("postgres");

    const base = makeTempDir("pg");
    const dataDir = path.join(base, "data");
    const socketDir = path.join(base, "sock");
    const logFile = path.join(base, "server.log");
    fs.mkdirSync(socketDir);
    fs.chmodSync(base, 0o755);
    await execOk("chown", ["-R", "postgres:postgres", base]);

    const asPostgres = (file: string, args: string[]) =>
        execLocal(runuser, ["-u", "postgres", "--", file, ...args], { cwd: base, env: { PATH: DEFAULT_REMOTE_PATH, LANG: "C" } });

    const init = await asPostgres(initdb, ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    if (init.code !== 0) {
        fs.rmSync(base, { recursive: true, force: true });
        throw new Error(`initdb failed (${init.code}): ${init.stderr}${init.stdout}`);
    }
    fs.writeFileSync(
        path.join(dataDir, "pg_hba.conf"),
        ["# test cluster: trust on the socket, passwords over TCP", "local all all trust", "host all all 127.0.0.1/32 scram-sha-256", ""].join("\n"),
    );
    const version = (await execOk(postgresBin, ["--version"])).stdout; // "postgres (PostgreSQL) 15.x"
    const major = Number(/(\d+)(?:\.\d+)?/.exec(version)?.[1] ?? NaN);

    let port = 0;
    const startServer = async (): Promise<void> => {
        const options = [
            `-p ${port}`,
            `-k ${socketDir}`,
            "-c listen_addresses=127.0.0.1",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c shared_buffers=16MB",
            "-c max_connections=40",
        ].join(" ");
        const r = await asPostgres(pgCtl, ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "-o", options, "start"]);
        if (r.code !== 0) {
            const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "";
            throw new Error(`pg_ctl start on port ${port} failed (${r.code}): ${r.stderr}${r.stdout}\n${log}`);
        }
    };
    const stopServer = async (): Promise<void> => {
        await asPostgres(pgCtl, ["-D", dataDir, "-m", "fast", "-w", "-t", "60", "stop"]);
    };

    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
        port = await freePort();
        try {
            await startServer();
            lastError = undefined;
            break;
        } catch (err) {
            lastError = err; // most likely the port was taken meanwhile: try another
        }
    }
    if (lastError) {
        fs.rmSync(base, { recursive: true, force: true });
        throw lastError;
    }
    const unregister = onExit(() => {
        spawnSync(runuser, ["-u", "postgres", "--", pgCtl, "-D", dataDir, "-m", "immediate", "stop"], { stdio: "ignore", cwd: base });
        fs.rmSync(base, { recursive: true, force: true });
    });

    const psql = async (sql: string, db = "postgres"): Promise<string> => {
        const r = await execLocal(psqlBin, ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", socketDir, "-p", String(port), "-U", "postgres", "-d", db, "-f", "-"], {
            stdin: sql,
            env: { PATH: DEFAULT_REMOTE_PATH, LANG: "C" },
        });
        if (r.code !== 0) throw new Error(`psql on ${db} failed (${r.code}): ${r.stderr}\nSQL: ${sql}`);
        return r.stdout.replace(/\n$/, "");
    };

    await psql(`CREATE ROLE ${pgIdent(TEST_PG_USER)} WITH LOGIN SUPERUSER PASSWORD '${TEST_PG_PASSWORD}';`);

    let stopped = false;
    return {
        port,
        socketDir,
        user: TEST_PG_USER,
        password: TEST_PG_PASSWORD,
        major,
        psql,
        createDatabase: async (name: string) => {
            await psql(`CREATE DATABASE ${pgIdent(name)} OWNER ${pgIdent(TEST_PG_USER)};`);
        },
        stopServer,
        startServer,
        stop: async () => {
            if (stopped) return;
            stopped = true;
            await asPostgres(pgCtl, ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
            fs.rmSync(base, { recursive: true, force: true });
            unregister();
        },
    };
}

// ---------------------------------------------------------------------------------------
// docker test double

/**
 * The test double for the absent Docker engine: a fake `docker` on PATH that records every
 * call and forwards `docker exec [...] CONTAINER psql|pg_isready|createdb|... ARGS` to the
 * local PostgreSQL binaries against the TestPostgres (PGHOST = its socket dir unless the
 * command passes -h, PGPORT = its port; only the `-e` variables reach the command, as in a
 * container). Everything else is answered by respond.sh, or prints nothing and exits 0.
 */
export interface DockerDouble {
    /** The double's private dir (DOCKER_DOUBLE_DIR): calls.jsonl, respond.sh; responders may keep state files here. */
    dir: string;
    /** Dir holding the fake `docker`; put it first on PATH. */
    binDir: string;
    /** DOCKER_DOUBLE_DIR, DOCKER_DOUBLE_PGPORT, DOCKER_DOUBLE_PGHOST, DOCKER_DOUBLE_PGBIN and PATH (binDir first): pass to startSshd({ env }). */
    env: Record<string, string>;
    /** Every call so far, oldest first, as argv arrays (without the leading "docker"). */
    calls(): string[][];
    /**
     * Answer calls that are not forwarded to Postgres: writes `respond() { BODY }` into
     * respond.sh. BODY sees the call's argv as "$@" (e.g. `[[ $1 == ps ]] && printf ...`);
     * its exit status is docker's. Runs with `set +eu`.
     */
    respond(bashFunctionBody: string): void;
    /**
     * Intercept forwarded `docker exec ... psql|pg_isready|...` calls too: writes
     * `respond_exec() { BODY }`. BODY may call `forward_exec "$@"` to run the real tool.
     */
    respondExec(bashFunctionBody: string): void;
    /** Forget recorded calls and responders (and any state files in dir). */
    reset(): void;
    /** Delete the double's dir. */
    dispose(): void;
}

export const DOCKER_DOUBLE_SCRIPT = path.join(__dirname, "docker-double.sh");

export function createDockerDouble(pg?: TestPostgres): DockerDouble {
    const dir = makeTempDir("docker-double");
    const binDir = path.join(dir, "bin");
    fs.mkdirSync(binDir);
    fs.chmodSync(dir, 0o755);
    fs.copyFileSync(DOCKER_DOUBLE_SCRIPT, path.join(binDir, "docker"));
    fs.chmodSync(path.join(binDir, "docker"), 0o755);
    const log = path.join(dir, "calls.jsonl");
    const responder = path.join(dir, "respond.sh");
    fs.writeFileSync(log, "");

    const env: Record<string, string> = {
        DOCKER_DOUBLE_DIR: dir,
        DOCKER_DOUBLE_PGBIN: postgresBinDir(),
        PATH: `${binDir}:${DEFAULT_REMOTE_PATH}`,
    };
    if (pg) {
        env.DOCKER_DOUBLE_PGPORT = String(pg.port);
        env.DOCKER_DOUBLE_PGHOST = pg.socketDir;
    }

    let respondBody: string | undefined;
    let respondExecBody: string | undefined;
    const writeResponder = () => {
        const parts: string[] = ["# written by createDockerDouble(); sourced by the fake docker"];
        if (respondBody !== undefined) parts.push(`respond() {\n${respondBody}\n}`);
        if (respondExecBody !== undefined) parts.push(`respond_exec() {\n${respondExecBody}\n}`);
        fs.writeFileSync(responder, parts.join("\n") + "\n");
    };

    const unregister = onExit(() => fs.rmSync(dir, { recursive: true, force: true }));

    return {
        dir,
        binDir,
        env,
        calls: () =>
            fs
                .readFileSync(log, "utf8")
                .split("\n")
                .filter((l) => l.trim() !== "")
                .map((l) => JSON.parse(l) as string[]),
        respond: (body) => {
            respondBody = body;
            writeResponder();
        },
        respondExec: (body) => {
            respondExecBody = body;
            writeResponder();
        },
        reset: () => {
            respondBody = undefined;
            respondExecBody = undefined;
            for (const entry of fs.readdirSync(dir)) {
                if (entry !== "bin") fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
            }
            fs.writeFileSync(log, "");
        },
        dispose: () => {
            fs.rmSync(dir, { recursive: true, force: true });
            unregister();
        },
    };
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
    user: "root";
    /** Private key the server accepts (authorized_keys). */
    keyFile: string;
    /** known_hosts holding the server's throwaway host key for [127.0.0.1]:port. */
    knownHostsFile: string;
    /** The sshd_config in use. */
    configFile: string;
    /** The client argv before the command (ssh path excluded): -F /dev/null -p PORT -i KEY -o ... root@127.0.0.1 */
    sshArgs(): string[];
    /** `ssh ... root@127.0.0.1 -- <command>`: the remote login shell runs `command` exactly as given. */
    run(command: string, opts?: SshRunOptions): Promise<ExecResult>;
    /** What sshd wrote to stderr so far (-e). */
    serverLog(): string;
    stop(): Promise<void>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A real OpenSSH server on a free 127.0.0.1 port: throwaway host and client keys, key auth
 * only, root allowed (prohibit-password), the stock Ubuntu/Debian `AcceptEnv LANG LC_*`, and
 * `SetEnv` for opts.env (PATH defaults to DEFAULT_REMOTE_PATH; a DockerDouble's env puts its
 * bin dir first).
 */
export async function startSshd(opts: { env?: Record<string, string> } = {}): Promise<SshServer> {
    const sshd = requireTool("sshd");
    const ssh = requireTool("ssh");
    const keygen = requireTool("ssh-keygen");

    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // privilege separation dir

    const env: Record<string, string> = { PATH: DEFAULT_REMOTE_PATH, ...(opts.env ?? {}) };
    for (const [k, v] of Object.entries(env)) {
        if (!ENV_NAME.test(k)) throw new Error(`startSshd: bad env name ${JSON.stringify(k)}`);
        if (/["\\\n\r]/.test(v)) throw new Error(`startSshd: env ${k} holds a quote, backslash or newline, which sshd_config SetEnv cannot carry`);
    }

    const dir = makeTempDir("sshd");
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
                "PermitRootLogin prohibit-password",
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
            const proc = spawn(sshd, ["-D", "-e", "-f", configFile], { stdio: ["ignore", "ignore", "pipe"] });
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
        "root@127.0.0.1",
    ];

    let stopped = false;
    return {
        host: "127.0.0.1",
        port,
        user: "root",
        keyFile,
        knownHostsFile,
        configFile,
        sshArgs,
        serverLog: () => log,
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
// one remote host: PostgreSQL + docker double + sshd

/** Solid Queue's tables as Rails' db/queue_schema.rb creates them. */
export const SOLID_QUEUE_SCHEMA_FILE = path.join(__dirname, "solid_queue_schema.sql");

/** Create `database` on the test cluster and load Solid Queue's tables into it. */
export async function loadSolidQueueSchema(pg: TestPostgres, database: string): Promise<void> {
    await pg.createDatabase(database);
    await pg.psql(fs.readFileSync(SOLID_QUEUE_SCHEMA_FILE, "utf8"), database);
}

export interface ScriptRun extends ExecResult {
    /** The exact command text sent over SSH (what the command provider would send). */
    command: string;
    /** Wall time of the whole SSH round trip. */
    ms: number;
}

/** A host as the remote scripts see it: sshd on 127.0.0.1, the docker double first on PATH, forwarding to a real PostgreSQL. */
export interface RemoteHost {
    pg: TestPostgres;
    docker: DockerDouble;
    ssh: SshServer;
    /** Run components/scripts/NAME.sh with `params` exactly as remoteStep() builds the command. */
    runScript(name: string, params: ScriptParams, opts?: { stdin?: string; timeoutMs?: number }): Promise<ScriptRun>;
    stop(): Promise<void>;
}

/**
 * Start one RemoteHost. `env` adds to the remote environment (it gets the double's env and
 * returns what sshd should set); `queueDatabase` creates it with Solid Queue's tables.
 */
export async function startRemoteHost(
    opts: { env?: (dockerEnv: Record<string, string>) => Record<string, string>; queueDatabase?: string } = {},
): Promise<RemoteHost> {
    const pg = await startPostgres();
    const docker = createDockerDouble(pg);
    let ssh: SshServer | undefined;
    try {
        ssh = await startSshd({ env: opts.env ? opts.env(docker.env) : docker.env });
        if (opts.queueDatabase) await loadSolidQueueSchema(pg, opts.queueDatabase);
    } catch (e) {
        await ssh?.stop();
        docker.dispose();
        await pg.stop();
        throw e;
    }
    const server = ssh;
    return {
        pg,
        docker,
        ssh: server,
        async runScript(name, params, runOpts = {}) {
            const command = scriptCommand(name, params);
            const t0 = Date.now();
            const r = await server.run(command, { stdin: runOpts.stdin, timeoutMs: runOpts.timeoutMs ?? 25_000 });
            return { ...r, command, ms: Date.now() - t0 };
        },
        async stop() {
            await server.stop();
            docker.dispose();
            await pg.stop();
        },
    };
}
