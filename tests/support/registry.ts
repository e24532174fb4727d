/**
 * A real image registry for a test's private dockerd: Debian's `docker-registry` (the
 * distribution/distribution 2.8 registry, the code Docker Hub and GHCR speak the protocol of)
 * serving HTTP on 127.0.0.1:5000 inside the daemon's network namespace, with htpasswd (bcrypt)
 * basic auth. The engine treats 127.0.0.0/8 registries as insecure, so login and pull go over
 * plain HTTP there and nothing leaves the namespace.
 *
 *     const registry = await startRegistry(docker, { user: "shred-day", password });
 *     await registry.push(appImage, "shred-day/app:v1");   // returns the manifest digest
 *     registry.requests();                                   // the registry's access log lines
 *
 * Its config, htpasswd and storage live under the daemon's session dir, so the session's
 * teardown (tests/support/dockerd-session.sh kills every process whose command line names that
 * dir) stops it even when the test process is killed; stop() stops it earlier.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { TestDocker } from "./docker";
import { execLocal } from "./integration";

/** Debian's docker-registry: installed, or unpacked by .ci/run (its package's postinst adds an account). */
const REGISTRY_BIN = process.env.SHRED_DAY_DOCKER_REGISTRY ?? "/usr/bin/docker-registry";
const HTPASSWD_BIN = "/usr/bin/htpasswd";

export interface TestRegistry {
    /** host:port as image references and `docker login` name it: 127.0.0.1:5000. */
    address: string;
    /** Tag SOURCE as address/REPOTAG, log in, push, log out, remove the local tag; returns the manifest digest (sha256:...). */
    push(source: string, repoTag: string): Promise<string>;
    /** The access log so far: one line per HTTP request the registry served. */
    requests(): string[];
    stop(): Promise<void>;
}

export async function startRegistry(docker: TestDocker, account: { user: string; password: string }): Promise<TestRegistry> {
    if (!fs.existsSync(REGISTRY_BIN)) {
        throw new Error(
            `this test needs Debian's docker-registry at ${REGISTRY_BIN}: .ci/run unpacks it (apt-get download docker-registry; dpkg-deb -x) and sets SHRED_DAY_DOCKER_REGISTRY; or apt-get install -y docker-registry`,
        );
    }
    if (!fs.existsSync(HTPASSWD_BIN)) throw new Error(`this test needs ${HTPASSWD_BIN} (Debian package apache2-utils; .ci/run installs it: apt-get install -y apache2-utils)`);
    const dir = path.join(docker.dir, "registry");
    fs.mkdirSync(path.join(dir, "data"), { recursive: true });
    // htpasswd -B (bcrypt, the only format the registry accepts), password on stdin (-i), never in argv
    const hash = await execLocal(HTPASSWD_BIN, ["-niB", account.user], { stdin: `${account.password}\n`, timeoutMs: 30_000 });
    if (hash.code !== 0) throw new Error(`htpasswd failed: ${hash.stderr}`);
    fs.writeFileSync(path.join(dir, "htpasswd"), hash.stdout, { mode: 0o600 });
    const address = "127.0.0.1:5000";
    // distribution/distribution configuration/configuration.go (version 0.1): storage, http, auth.htpasswd
    fs.writeFileSync(
        path.join(dir, "config.yml"),
        [
            "version: 0.1",
            "log: { level: info, accesslog: { disabled: false } }",
            `storage: { filesystem: { rootdirectory: ${path.join(dir, "data")} } }`,
            `http: { addr: "${address}", secret: "test-only-${path.basename(docker.dir)}" }`,
            `auth: { htpasswd: { realm: shred-day-test, path: ${path.join(dir, "htpasswd")} } }`,
            "",
        ].join("\n"),
    );
    const logFile = path.join(dir, "registry.log");
    const out = fs.openSync(logFile, "a");
    const child: ChildProcess = spawn("nsenter", [`--net=/var/run/netns/${docker.netns}`, "--", REGISTRY_BIN, "serve", path.join(dir, "config.yml")], {
        stdio: ["ignore", out, out],
    });
    fs.closeSync(out);
    const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "");
    const stop = async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        await new Promise<void>((resolve) => {
            const t = setTimeout(() => {
                child.kill("SIGKILL");
                resolve();
            }, 5_000);
            child.once("exit", () => {
                clearTimeout(t);
                resolve();
            });
        });
    };
    // Ready when /v2/ asks for credentials (401): at most 100 tries, 0.1 s apart.
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
        if (child.exitCode !== null) break;
        ready = (await docker.http("127.0.0.1", 5000, "/v2/")).status === 401;
        if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) {
        await stop();
        throw new Error(`docker-registry did not answer 401 on ${address}/v2/ within 10 s; its log:\n${log()}`);
    }
    return {
        address,
        async push(source, repoTag) {
            const ref = `${address}/${repoTag}`;
            await docker.tag(source, ref);
            // a client config of its own: the test's pushes never leave a token where the script looks
            const config = fs.mkdtempSync(path.join(dir, "client-"));
            try {
                const clientEnv = { DOCKER_CONFIG: config };
                await docker.ok(["login", "--username", account.user, "--password-stdin", address], { stdin: `${account.password}\n`, env: clientEnv });
                const pushed = await docker.ok(["push", ref], { env: clientEnv, timeoutMs: 120_000 });
                const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
                if (!digest) throw new Error(`docker push ${ref} printed no digest:\n${pushed}`);
                await docker.ok(["rmi", ref]);
                return digest;
            } finally {
                fs.rmSync(config, { recursive: true, force: true });
            }
        },
        requests: () => log().split("\n").filter((l) => / "(GET|HEAD|POST|PUT|PATCH|DELETE) \/v2\//.test(l)),
        stop,
    };
}

/**
 * A "registry" that accepts TCP connections on 127.0.0.1:PORT in the daemon's namespace and
 * never answers (a hung registry or a black-holed proxy), for LOGIN_TIMEOUT/PULL_TIMEOUT. It
 * lives at most `seconds`, and the daemon session's teardown kills it too (its command line
 * names the session dir).
 */
export async function startHangingRegistry(docker: TestDocker, port: number, seconds = 120): Promise<{ address: string; stop(): void }> {
    const marker = path.join(docker.dir, `hanging-registry-${port}`);
    const script = [
        "import socket, sys, time",
        "s = socket.socket()",
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
        `s.bind(("127.0.0.1", ${port}))`,
        "s.listen(64)",
        "print('listening', flush=True)",
        "held = []",
        "s.settimeout(0.5)",
        `end = time.time() + ${seconds}`,
        "while time.time() < end:",
        "    try:",
        "        held.append(s.accept()[0])",
        "    except socket.timeout:",
        "        pass",
    ].join("\n");
    const child = spawn("nsenter", [`--net=/var/run/netns/${docker.netns}`, "--", "python3", "-c", script, marker], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("the hanging registry did not start within 10 s")), 10_000);
        child.stdout!.once("data", () => {
            clearTimeout(t);
            resolve();
        });
        child.once("exit", (code) => reject(new Error(`the hanging registry exited (${code})`)));
    });
    return { address: `127.0.0.1:${port}`, stop: () => void child.kill("SIGKILL") };
}
