/**
 * The integration harness itself: a real sshd on 127.0.0.1 (stock AcceptEnv, running as an
 * unprivileged user) whose sessions reach a private dockerd, the Postgres container and the
 * stand-in images, and the cleanup of all of it on exit, failure and signals. Plus shellcheck
 * over every remote script and every script of the harness.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readScript, SCRIPTS_DIR } from "../../components/remote";
import { startDocker, TestDocker, DOCKER_START_TIMEOUT_MS } from "../support/docker";
import {
    ContainerPostgres,
    execLocal,
    HARNESS_START_TIMEOUT_MS,
    RemoteHost,
    requireTool,
    SshServer,
    startRemoteHost,
    TEST_SSH_USER,
    testSshAccount,
} from "../support/integration";

jest.setTimeout(60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` every 250 ms until it returns true, at most `ms`. */
async function eventually(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
        if (await check()) return true;
        if (Date.now() > deadline) return false;
        await sleep(250);
    }
}

describe("integration harness", () => {
    let host: RemoteHost;
    let pg: ContainerPostgres;
    let docker: TestDocker;
    let ssh: SshServer;

    beforeAll(async () => {
        host = await startRemoteHost();
        ({ pg, docker, ssh } = host);
    }, HARNESS_START_TIMEOUT_MS);

    afterAll(() => host?.stop());

    test("requireTool finds every tool the integration tests need, and fails loudly on a missing one", () => {
        for (const tool of ["sshd", "ssh", "ssh-keygen", "psql", "shellcheck", "cloud-init"]) {
            expect(path.isAbsolute(requireTool(tool))).toBe(true);
        }
        expect(() => requireTool("no-such-tool-shred-day")).toThrow(/integration tests need `no-such-tool-shred-day`/);
    });

    test("a command over ssh runs as the unprivileged test user on 127.0.0.1 with key auth, never root", async () => {
        const r = await ssh.run("id -u; id -un; echo \"$SSH_CONNECTION\"");
        expect(r.code).toBe(0);
        const [uid, name, conn] = r.stdout.trim().split("\n");
        expect(uid).not.toBe("0");
        expect(name).toBe(TEST_SSH_USER);
        expect(conn).toMatch(new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${ssh.port}$`));
        // root is refused outright
        const args = ssh.sshArgs();
        args[args.length - 1] = "root@127.0.0.1";
        const asRoot = await execLocal(requireTool("ssh"), [...args, "--", "true"]);
        expect(asRoot.code).toBe(255);
    });

    test("the sshd process itself runs as the test user (its uid: ps cuts user names at 8 characters)", async () => {
        const r = await execLocal("ps", ["-o", "uid=,args=", "-C", "sshd"]);
        const ours = r.stdout.split("\n").filter((l) => l.includes(ssh.configFile));
        expect(ours.length).toBeGreaterThan(0);
        for (const line of ours) expect(Number(line.trim().split(/\s+/)[0])).toBe(testSshAccount().uid);
    });

    test("stdin reaches the remote command and the exit status comes back", async () => {
        const r = await ssh.run("IFS= read -r line; echo \"got:$line\"; exit 7", { stdin: "hello\n" });
        expect(r.code).toBe(7);
        expect(r.stdout).toBe("got:hello\n");
    });

    test("an unknown host key is refused (StrictHostKeyChecking=yes)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-kh-"));
        const empty = path.join(dir, "empty_known_hosts");
        fs.writeFileSync(empty, "");
        const r = await ssh.run("true", { sshOptions: ["-o", `UserKnownHostsFile=${empty}`] });
        fs.rmSync(dir, { recursive: true, force: true });
        expect(r.code).toBe(255);
        expect(r.stderr).toMatch(/Host key verification failed/);
    });

    test("stock AcceptEnv: a variable outside LANG/LC_* sent with SetEnv is refused, LANG is accepted", async () => {
        const r = await ssh.run('echo "FOO=${FOO-unset} LC_ALL=${LC_ALL-unset}"', { sshOptions: ["-o", "SetEnv=FOO=1 LC_ALL=C"] });
        expect(r.code).toBe(0);
        expect(r.stdout.trim()).toBe("FOO=unset LC_ALL=C");
    });

    test("the server's SetEnv gives sessions DOCKER_HOST: Debian's docker CLI reaches the private dockerd 20.10, not the machine's", async () => {
        const r = await ssh.run("command -v docker; echo \"$DOCKER_HOST\"; docker version --format '{{.Server.Version}}'; docker info --format '{{.Driver}} {{.DockerRootDir}}'");
        expect(r.stderr).toBe("");
        const [bin, dockerHost, version, info] = r.stdout.trim().split("\n");
        expect(bin).toBe("/usr/bin/docker");
        expect(dockerHost).toBe(docker.host);
        expect(version).toMatch(/^20\.10\./);
        // overlay2 unless the session dir is on overlayfs (a CI container), where it cannot stack: vfs
        const onOverlay = spawnSync("stat", ["-f", "-c", "%T", docker.dir], { encoding: "utf8" }).stdout.trim() === "overlayfs";
        expect(info).toBe(`${onOverlay ? "vfs" : "overlay2"} ${path.join(docker.dir, "data")}`);
    });

    test("Postgres container: runs as postgres, listens on 5432 published on the private IP only, PG_VERSION, pg_isready", async () => {
        // PID 1 is the server itself (the entrypoint execs it after dropping to postgres); names as the container knows them
        expect(await docker.ok(["exec", pg.container, "stat", "-c", "%U", "/proc/1"])).toBe("postgres");
        expect(await docker.ok(["exec", pg.container, "cat", "/proc/1/comm"])).toBe("postgres");
        expect(await docker.ok(["port", pg.container])).toBe(`5432/tcp -> ${host.privateIp}:5432`);
        expect(await docker.ok(["exec", pg.container, "cat", "/var/lib/postgresql/data/PG_VERSION"])).toBe(String(pg.major));
        expect(await docker.ok(["exec", pg.container, "printenv", "PG_MAJOR", "PGDATA"])).toBe(`${pg.major}\n/var/lib/postgresql/data`);
        expect(await docker.ok(["exec", pg.container, "printenv", "PG_VERSION"])).toMatch(new RegExp(`^${pg.major}\\.\\d+`));
        const ready = await docker.run(["exec", pg.container, "pg_isready", "-h", host.privateIp, "-p", "5432"]);
        expect(ready.stdout).toBe(`${host.privateIp}:5432 - accepting connections\n`);
        expect(pg.image).toBe(`postgres:${pg.major}`);
        expect(pg.major).toBe(15);
    });

    test("Postgres image contract: POSTGRES_PASSWORD_FILE from a root-only file, POSTGRES_DB, PGDATA; init only on an empty data dir", async () => {
        const image = pg.image;
        const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-pgpw-"));
        try {
            fs.writeFileSync(path.join(secretDir, "pw"), "first-secret\n", { mode: 0o600 });
            await docker.ok(["volume", "create", "contract-data"]);
            const runArgs = (pwFile: string) => [
                "run", "--detach", "--name", "contract", "--network", "bridge",
                "-v", "contract-data:/pgdata", "-v", `${secretDir}:/run/secrets:ro`,
                "-e", "PGDATA=/pgdata/cluster", "-e", "POSTGRES_USER=owner", "-e", `POSTGRES_PASSWORD_FILE=/run/secrets/${pwFile}`, "-e", "POSTGRES_DB=appdb",
                image,
            ];
            await docker.ok(runArgs("pw"));
            const ip = await docker.ok(["inspect", "--format", "{{.NetworkSettings.Networks.bridge.IPAddress}}", "contract"]);
            const login = (pw: string) =>
                docker.run(["exec", "-e", `PGPASSWORD=${pw}`, pg.container, "psql", "-X", "-At", "-h", ip, "-U", "owner", "-d", "appdb", "-c", "select current_database(), current_user"]);
            expect(await eventually(async () => (await login("first-secret")).code === 0, 60_000)).toBe(true);
            expect((await login("first-secret")).stdout).toBe("appdb|owner\n");
            expect((await login("wrong")).stderr).toMatch(/password authentication failed for user "owner"/);
            // the password is not in the container's environment
            expect(await docker.ok(["inspect", "--format", "{{json .Config.Env}}", "contract"])).not.toContain("first-secret");
            // a second container on the same (non-empty) data dir does not re-init: the first password still works
            await docker.ok(["rm", "-f", "contract"]);
            fs.writeFileSync(path.join(secretDir, "pw2"), "second-secret\n", { mode: 0o600 });
            await docker.ok(runArgs("pw2"));
            const ip2 = await docker.ok(["inspect", "--format", "{{.NetworkSettings.Networks.bridge.IPAddress}}", "contract"]);
            const login2 = (pw: string) =>
                docker.run(["exec", "-e", `PGPASSWORD=${pw}`, pg.container, "psql", "-X", "-At", "-h", ip2, "-U", "owner", "-d", "appdb", "-c", "select 1"]);
            expect(await eventually(async () => (await login2("first-secret")).code === 0, 60_000)).toBe(true);
            expect((await login2("second-secret")).code).not.toBe(0);
            expect(await docker.ok(["logs", "contract"])).toMatch(/Skipping initialization/);
        } finally {
            await docker.run(["rm", "-f", "contract"]);
            await docker.run(["volume", "rm", "contract-data"]);
            fs.rmSync(secretDir, { recursive: true, force: true });
        }
    });

    test("Postgres image: no password and an empty data dir is refused, as the official image does", async () => {
        const r = await docker.run(["run", "--rm", pg.image]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/Database is uninitialized and superuser password is not specified/);
    });

    test("pg helper: psql and createDatabase run in the container", async () => {
        await pg.createDatabase("harness_db");
        expect(await pg.psql("select current_database()", "harness_db")).toBe("harness_db");
        await expect(pg.psql("select nope")).rejects.toThrow(/psql on postgres failed/);
    });

    test("a second image request in the same daemon is answered from memory; the cache holds the images outside the repo", async () => {
        const t0 = Date.now();
        expect(await docker.image("postgres")).toBe(pg.image);
        expect(Date.now() - t0).toBeLessThan(1000);
        const cache = process.env.SHRED_DAY_IMAGE_CACHE ?? "/var/cache/shred-day-test-images";
        expect(fs.readdirSync(cache).filter((f) => /^postgres-[0-9a-f]{16}\.tar$/.test(f)).length).toBeGreaterThan(0);
        expect(path.relative(path.join(__dirname, "..", ".."), cache).startsWith("..")).toBe(true);
    });
});

describe("private dockerd lifecycle", () => {
    test("stop() removes every container, network, volume and mount it made, the netns and the dir; nothing of it keeps running", async () => {
        const d = await startDocker();
        const image = await d.image("app");
        await d.ok(["network", "create", "lifecycle-net"]);
        await d.ok(["volume", "create", "lifecycle-vol"]);
        await d.ok(["run", "-d", "--name", "lc", "--network", "lifecycle-net", "-v", "lifecycle-vol:/data", "--restart", "always", image, "sleep", "600"]);
        expect(await d.ok(["inspect", "--format", "{{.State.Running}}", "lc"])).toBe("true");
        const dir = d.dir;
        await d.stop();
        expect(fs.existsSync(dir)).toBe(false);
        expect((await execLocal("ip", ["netns", "list"])).stdout).not.toContain(d.netns);
        expect(fs.readFileSync("/proc/self/mounts", "utf8")).not.toContain(dir);
        expect((await execLocal("pgrep", ["-f", dir])).stdout).toBe("");
    }, DOCKER_START_TIMEOUT_MS);

    for (const how of ["SIGTERM", "SIGKILL"] as const) {
        // SIGKILL runs no handler: the daemon's session and sshd's parent-death signal clean up, but
        // the sshd's temp dir (keys, config) is left in /tmp
        test(`a test process that dies by ${how} leaves no daemon, container, netns or sshd behind${how === "SIGTERM" ? ", nor temp dirs" : ""}`, async () => {
            const child = spawn(
                process.execPath,
                [require.resolve("ts-node/dist/bin.js"), "-T", path.join(__dirname, "..", "support", "harness-child.ts")],
                { stdio: ["ignore", "pipe", "pipe"], cwd: path.join(__dirname, "..", "..") },
            );
            let out = "";
            let err = "";
            child.stdout!.on("data", (d) => (out += d));
            child.stderr!.on("data", (d) => (err += d));
            const started = await eventually(() => out.includes("\nREADY\n") || out.startsWith("READY"), 120_000);
            expect(started ? "" : `child did not start:\n${out}\n${err}`).toBe("");
            const info = JSON.parse(out.split("\n")[0]) as { dockerDir: string; netns: string; sshDir: string; sshPid: number };
            expect(fs.existsSync(info.dockerDir)).toBe(true);
            child.kill(how);
            const gone = await eventually(
                async () =>
                    !fs.existsSync(info.dockerDir) &&
                    !(await execLocal("ip", ["netns", "list"])).stdout.includes(info.netns) &&
                    (await execLocal("kill", ["-0", String(info.sshPid)])).code !== 0 &&
                    (how === "SIGKILL" || !fs.existsSync(info.sshDir)),
                60_000,
            );
            expect(gone).toBe(true);
            expect((await execLocal("pgrep", ["-f", info.dockerDir])).stdout).toBe("");
            fs.rmSync(info.sshDir, { recursive: true, force: true }); // what SIGKILL left: the test's own
        }, 180_000);
    }
});

describe("shellcheck", () => {
    const scripts = fs.existsSync(SCRIPTS_DIR)
        ? fs
              .readdirSync(SCRIPTS_DIR)
              .filter((f) => f.endsWith(".sh"))
              .sort()
              .map((f) => path.join(SCRIPTS_DIR, f))
        : [];

    test("components/scripts holds scripts", () => {
        expect(scripts.length).toBeGreaterThan(0);
    });

    const LIB_DIR = path.join(SCRIPTS_DIR, "lib");
    const libs = fs.existsSync(LIB_DIR) ? fs.readdirSync(LIB_DIR).filter((f) => f.endsWith(".sh")).sort().map((f) => path.join(LIB_DIR, f)) : [];

    test.each(scripts.filter((f) => /^# @include /m.test(fs.readFileSync(f, "utf8"))).map((f) => [path.basename(f), f]))(
        "%s with its includes inlined (the text a remote command runs) is shellcheck-clean",
        async (name, file) => {
            const inlined = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "inlined-")), name);
            fs.writeFileSync(inlined, readScript(path.basename(file, ".sh")));
            expect(fs.readFileSync(inlined, "utf8")).not.toMatch(/^# @include /m);
            const r = await execLocal(requireTool("shellcheck"), ["--shell=bash", "--severity=style", inlined]);
            expect(r.stdout + r.stderr).toBe("");
            expect(r.code).toBe(0);
        },
    );

    const SUPPORT = path.join(__dirname, "..", "support");
    const supportScripts = [
        path.join(SUPPORT, "dockerd-session.sh"),
        path.join(SUPPORT, "images", "rootfs.sh"),
        path.join(SUPPORT, "images", "postgres", "docker-entrypoint.sh"),
        ...["docker-entrypoint", "rails", "jobs", "standin-web", "standin-http"].map((f) => path.join(SUPPORT, "images", "app", "rails", "bin", f)),
        ...["kamal-proxy", "kamal-proxy-http"].map((f) => path.join(SUPPORT, "images", "kamal-proxy", f)),
    ];

    test.each([...scripts, ...libs, ...supportScripts].map((f) => [path.relative(path.join(__dirname, "..", ".."), f), f]))(
        "%s is shellcheck-clean",
        async (_name, file) => {
            const r = await execLocal(requireTool("shellcheck"), ["--shell=bash", "--severity=style", "--external-sources", file]);
            expect(r.stdout + r.stderr).toBe("");
            expect(r.code).toBe(0);
        },
    );

    test.each(scripts.map((f) => [path.basename(f), f]))("%s follows the script contract (bash, set -euo pipefail, params declared)", (_name, file) => {
        const text = fs.readFileSync(file, "utf8");
        expect(text.split("\n")[0]).toMatch(/^#!\/usr\/bin\/env bash$|^#!\/bin\/bash$/);
        expect(text).toMatch(/^set -euo pipefail$/m);
    });
});
