/**
 * The integration harness itself: a real sshd on 127.0.0.1 with stock AcceptEnv, a real
 * PostgreSQL, and the docker test double on the remote PATH. Plus shellcheck over every
 * remote script.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readScript, SCRIPTS_DIR } from "../../components/remote";
import {
    DockerDouble,
    execLocal,
    HARNESS_START_TIMEOUT_MS,
    RemoteHost,
    requireTool,
    SshServer,
    startRemoteHost,
    TestPostgres,
    DOCKER_DOUBLE_SCRIPT,
} from "../support/integration";

jest.setTimeout(30_000);

describe("integration harness", () => {
    let host: RemoteHost;
    let pg: TestPostgres;
    let docker: DockerDouble;
    let ssh: SshServer;

    beforeAll(async () => {
        host = await startRemoteHost();
        ({ pg, docker, ssh } = host);
    }, HARNESS_START_TIMEOUT_MS);

    afterAll(() => host?.stop());

    beforeEach(() => docker.reset());

    test("requireTool finds every tool the integration tests need, and fails loudly on a missing one", () => {
        for (const tool of ["sshd", "ssh", "ssh-keygen", "psql", "initdb", "pg_ctl", "shellcheck", "cloud-init"]) {
            expect(path.isAbsolute(requireTool(tool))).toBe(true);
        }
        expect(() => requireTool("no-such-tool-shred-day")).toThrow(/integration tests need `no-such-tool-shred-day`/);
    });

    test("a command over ssh runs as root on 127.0.0.1 with key auth", async () => {
        const r = await ssh.run("id -u; id -un; echo \"$SSH_CONNECTION\"");
        expect(r.code).toBe(0);
        const [uid, name, conn] = r.stdout.trim().split("\n");
        expect(uid).toBe("0");
        expect(name).toBe("root");
        expect(conn).toMatch(new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${ssh.port}$`));
    });

    test("stdin reaches the remote command and the exit status comes back", async () => {
        const r = await ssh.run("IFS= read -r line; echo \"got:$line\"; exit 7", { stdin: "hello\n" });
        expect(r.code).toBe(7);
        expect(r.stdout).toBe("got:hello\n");
    });

    test("an unknown host key is refused (StrictHostKeyChecking=yes)", async () => {
        const empty = path.join(docker.dir, "empty_known_hosts");
        fs.writeFileSync(empty, "");
        const r = await ssh.run("true", { sshOptions: ["-o", `UserKnownHostsFile=${empty}`] });
        expect(r.code).toBe(255);
        expect(r.stderr).toMatch(/Host key verification failed/);
    });

    test("stock AcceptEnv: a variable outside LANG/LC_* sent with SetEnv is refused, LANG is accepted", async () => {
        const r = await ssh.run('echo "FOO=${FOO-unset} LC_ALL=${LC_ALL-unset}"', { sshOptions: ["-o", "SetEnv=FOO=1 LC_ALL=C"] });
        expect(r.code).toBe(0);
        expect(r.stdout.trim()).toBe("FOO=unset LC_ALL=C");
    });

    test("the server's SetEnv puts the docker test double first on PATH", async () => {
        const r = await ssh.run("command -v docker; echo \"$DOCKER_DOUBLE_DIR\"");
        expect(r.code).toBe(0);
        expect(r.stdout.trim().split("\n")).toEqual([path.join(docker.binDir, "docker"), docker.dir]);
    });

    test("records a call and forwards `docker exec db psql -c 'select 1'` to the real PostgreSQL (docker test double)", async () => {
        const r = await ssh.run("docker exec db psql -U shred_day -d postgres -At -c 'select 1'");
        expect(r).toEqual({ code: 0, stdout: "1\n", stderr: "" });
        expect(docker.calls()).toEqual([["exec", "db", "psql", "-U", "shred_day", "-d", "postgres", "-At", "-c", "select 1"]]);
    });

    test("exec over TCP with -h uses the password from a bare `-e PGPASSWORD`, and nothing else of the caller's env (docker test double)", async () => {
        const ok = await ssh.run(
            'export PGPASSWORD; IFS= read -r PGPASSWORD; OTHER=x docker exec -i -e PGPASSWORD db psql -h 127.0.0.1 -U shred_day -d postgres -At -c "select current_user, inet_server_addr()"',
            { stdin: `${pg.password}\n` },
        );
        expect(ok.stderr).toBe("");
        expect(ok.stdout.trim()).toBe("shred_day|127.0.0.1");
        expect(docker.calls()[0]).toEqual(["exec", "-i", "-e", "PGPASSWORD", "db", "psql", "-h", "127.0.0.1", "-U", "shred_day", "-d", "postgres", "-At", "-c", "select current_user, inet_server_addr()"]);

        // without -e PGPASSWORD the tool does not see it, as in a real container
        const refused = await ssh.run("PGPASSWORD=TestPassword123 docker exec db psql -h 127.0.0.1 -U shred_day -d postgres -w -At -c 'select 1'");
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toMatch(/password/);
    });

    test("pg_isready answers through the double, and fails while the server is down (docker test double)", async () => {
        const ready = await ssh.run("docker exec db pg_isready -h 127.0.0.1 -U shred_day");
        expect(ready.code).toBe(0);
        await pg.stopServer();
        try {
            const down = await ssh.run("docker exec db pg_isready -h 127.0.0.1 -U shred_day");
            expect(down.code).toBe(2);
            expect(down.stdout).toMatch(/no response/);
        } finally {
            await pg.startServer();
        }
        expect((await ssh.run("docker exec db pg_isready -U shred_day")).code).toBe(0);
    });

    test("other calls are answered by the responder, or print nothing and exit 0 (docker test double)", async () => {
        expect(await ssh.run("docker ps --format '{{.Names}}'")).toEqual({ code: 0, stdout: "", stderr: "" });
        docker.respond(`
            case $1 in
              ps) printf 'one\\ntwo\\n' ;;
              logs) echo "boom" >&2; return 3 ;;
            esac`);
        expect(await ssh.run("docker ps --format '{{.Names}}'")).toEqual({ code: 0, stdout: "one\ntwo\n", stderr: "" });
        expect(await ssh.run("docker logs --tail 50 db")).toEqual({ code: 3, stdout: "", stderr: "boom\n" });
        expect(docker.calls()).toEqual([
            ["ps", "--format", "{{.Names}}"],
            ["ps", "--format", "{{.Names}}"],
            ["logs", "--tail", "50", "db"],
        ]);
    });

    test("respondExec can intercept a forwarded exec and fall through to forward_exec (docker test double)", async () => {
        docker.respondExec(`
            n=$(cat "$DOCKER_DOUBLE_DIR/n" 2>/dev/null || echo 0); echo $((n + 1)) > "$DOCKER_DOUBLE_DIR/n"
            if [ "$n" -lt 1 ]; then echo "127.0.0.1:5432 - rejecting connections"; return 1; fi
            forward_exec "$@"`);
        const first = await ssh.run("docker exec db pg_isready -U shred_day");
        expect(first.code).toBe(1);
        expect(first.stdout).toMatch(/rejecting connections/);
        const second = await ssh.run("docker exec db pg_isready -U shred_day");
        expect(second.code).toBe(0);
        expect(second.stdout).toMatch(/accepting connections/);
    });

    test("argv with quotes, backslashes, newlines and control characters is recorded exactly (docker test double)", async () => {
        const weird = 'a "q" \\ b\n\tc\u0001d é';
        const r = await ssh.run(`docker run --label "$(printf 'a "q" \\\\ b\\n\\tc\\001d é')"`);
        expect(r.code).toBe(0);
        expect(docker.calls()).toEqual([["run", "--label", weird]]);
    });

    test("TestPostgres: psql helper, createDatabase, password over TCP", async () => {
        await pg.createDatabase("harness_check");
        expect(await pg.psql("select datname from pg_database where datname = 'harness_check'")).toBe("harness_check");
        expect(await pg.psql("select current_database()", "harness_check")).toBe("harness_check");
        const psql = requireTool("psql");
        const tcp = await execLocal(psql, ["-h", "127.0.0.1", "-p", String(pg.port), "-U", pg.user, "-d", "postgres", "-w", "-At", "-c", "select rolsuper from pg_roles where rolname = current_user"], {
            env: { PATH: process.env.PATH, PGPASSWORD: pg.password },
        });
        expect(tcp.stdout.trim()).toBe("t");
        const wrong = await execLocal(psql, ["-h", "127.0.0.1", "-p", String(pg.port), "-U", pg.user, "-d", "postgres", "-w", "-c", "select 1"], {
            env: { PATH: process.env.PATH, PGPASSWORD: "wrong" },
        });
        expect(wrong.code).not.toBe(0);
        expect(wrong.stderr).toMatch(/password authentication failed/);
    });
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

    test.each([...scripts, ...libs, DOCKER_DOUBLE_SCRIPT].map((f) => [path.relative(path.join(__dirname, "..", ".."), f), f]))(
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
