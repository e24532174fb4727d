/**
 * Issue 11 (security), on the program evaluated on Pulumi's mocks: what every remote command
 * keeps secret, logs and how long it may run.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { releaseId } from "../../components/appEnv";
import { fingerprint, PUBLIC_KEY } from "../../components/hostKeys";
import { privateDir } from "../../components/remote";
import { agreedContent, contentOf, runReference } from "../../components/imageContent";
import { Captured, evaluate, Evaluation, MOCK_DIGEST, valueOf } from "../../scripts/evaluate";
import { HOST_KEYS, productionConfig, SECRETS, withJobsHosts } from "../support/fixtures";

const COMMAND = "command:remote:Command";

function commands(resources: Captured[]): Captured[] {
    return resources.filter((r) => r.type === COMMAND);
}

describe("remote commands: state and log (issue 11 point 4)", () => {
    test("every remote command marks stdout and stderr secret and logs stderr only", async () => {
        const e = await evaluate(withJobsHosts(2));
        const all = commands(e.resources);
        expect(all.length).toBeGreaterThan(10);
        for (const c of all) {
            expect({ name: c.name, secret: [...c.additionalSecretOutputs].sort() }).toEqual({ name: c.name, secret: expect.arrayContaining(["stderr", "stdout"]) });
            expect({ name: c.name, logging: c.inputs.logging }).toEqual({ name: c.name, logging: "stderr" });
        }
    });

    test("env files name their secret variables for redaction, and only those", async () => {
        const e = await evaluate(productionConfig());
        const stdin: string = e.named("release-env-shred-day-web").inputs.stdin;
        const first = stdin.split("\n")[0];
        expect(first).toMatch(/^# secret: /);
        const names = first.replace("# secret: ", "").split(" ");
        expect(names).toEqual(expect.arrayContaining(["RAILS_MASTER_KEY", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "QUEUE_DATABASE_URL"]));
        expect(names).not.toContain("WEB_CONCURRENCY");
        expect(names).not.toContain("DB_HOST");
    });
});

describe("remote commands: bounded (issue 11 point 9)", () => {
    test("every remote command has customTimeouts for create, update and delete", async () => {
        const e = await evaluate(withJobsHosts(2));
        for (const c of commands(e.resources)) {
            const t = c.customTimeouts;
            expect({ name: c.name, create: t?.create, update: t?.update, delete: t?.delete }).toEqual({
                name: c.name,
                create: expect.stringMatching(/^\d+[ms]$/),
                update: expect.stringMatching(/^\d+[ms]$/),
                delete: expect.stringMatching(/^\d+[ms]$/),
            });
        }
        // the takeover's bound outlasts its pg_dumpall (3600 s) and its stop of the old accessory (120 + 30 s)
        expect(e.named("postgres-takeover").customTimeouts?.create).toBe(`${3600 + 120 + 30 + 120}s`);
    });
});

describe("one release = one image content (issue 11 point 10)", () => {
    const d = (c: string) => `sha256:${c.repeat(64)}`;
    const report = (host: string, content: string) => ({ host, stdout: `image-pull: pulled x\nimage-pull: content ${content}\nimage-pull: ready\n` });

    test("every container of the release, and the migration, runs the pulled digest, not the tag", async () => {
        const e = await evaluate(withJobsHosts(2));
        const pinned = `IMAGE='ghcr.io/shred-day/shred-day:v1@${MOCK_DIGEST}'`;
        for (const name of ["release-migrate", "release-web", "release-jobs-start-shred-day-jobs-ubuntu", "release-jobs-start-shred-day-jobs-2"]) {
            expect({ name, pinned: e.named(name).inputs.create.includes(pinned) }).toEqual({ name, pinned: true });
        }
        // the pulls themselves take the configured reference
        expect(e.named("release-pull-shred-day-web").inputs.create).toContain("IMAGE='ghcr.io/shred-day/shred-day:v1' ");
    });

    test("the hosts agree: that content; they disagree (a re-pushed tag): refused, naming each host's content and the fix", () => {
        const image = "ghcr.io/o/app:v3";
        expect(agreedContent(image, [report("web", `ghcr.io/o/app@${d("a")}`), report("jobs-1", `ghcr.io/o/app@${d("a")}`)])).toBe(`ghcr.io/o/app@${d("a")}`);
        expect(() => agreedContent(image, [report("web", `ghcr.io/o/app@${d("a")}`), report("jobs-1", `ghcr.io/o/app@${d("b")}`)])).toThrow(
            new RegExp(`web has ghcr.io/o/app@${d("a")}, jobs-1 has ghcr.io/o/app@${d("b")}.*Push a new tag`),
        );
    });

    test("a pull step that reports no content, or output that is not a digest, is refused", () => {
        expect(() => contentOf("web", "image-pull: pulled\n")).toThrow(/did not report one image content/);
        expect(() => contentOf("web", "image-pull: content ghcr.io/o/app:v3\n")).toThrow(/did not report one image content/);
        expect(() => contentOf("web", `image-pull: content $(reboot)@${d("a")}\n`)).toThrow(/did not report one image content/);
        expect(contentOf("web", `image-pull: content ${d("c")}\n`)).toBe(d("c"));
    });

    test("containers run by `repo:tag@digest` (docker resolves the digest), an image without a registry digest by its id", () => {
        expect(runReference("ghcr.io/o/app:v3", `ghcr.io/o/app@${d("a")}`)).toBe(`ghcr.io/o/app:v3@${d("a")}`);
        expect(runReference(`ghcr.io/o/app:v3@${d("a")}`, `ghcr.io/o/app@${d("a")}`)).toBe(`ghcr.io/o/app:v3@${d("a")}`);
        expect(runReference("ghcr.io/o/app:v3", d("e"))).toBe(d("e"));
    });

    test("the release ids change when the content changes under the same tag", async () => {
        const a = releaseId(runReference("ghcr.io/o/app:v3", `ghcr.io/o/app@${d("a")}`), "X=1\n");
        const b = releaseId(runReference("ghcr.io/o/app:v3", `ghcr.io/o/app@${d("b")}`), "X=1\n");
        expect(a).not.toBe(b);
    });
});

describe("secrets off the hosts' container config (issue 11 point 6)", () => {
    test("the Postgres container gets POSTGRES_PASSWORD_FILE (a root-only file, mounted read-only), never the password", async () => {
        const e = await evaluate(productionConfig());
        const [pg] = e.ofType("docker:index/container:Container");
        expect(JSON.stringify(pg.inputs)).not.toContain(SECRETS.postgresPassword);
        expect(pg.inputs.envs).toContain("POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password");
        expect(pg.inputs.volumes).toContainEqual({ hostPath: "/etc/shred-day/postgres-password", containerPath: "/run/secrets/postgres-password", readOnly: true });
        const file = e.named("postgres-password-file");
        expect(file.inputs.stdin).toBe(`${SECRETS.postgresPassword}\n`);
        expect(file.inputs.create).toContain("FILE='/etc/shred-day/postgres-password'");
        expect(pg.dependsOn).toContain("postgres-password-file");
    });
});

describe("least privilege in Postgres (issue 11 point 7)", () => {
    test("the app's URLs use its own role (postgres.appUser, default USER_app) with a password that is not the superuser's", async () => {
        const e = await evaluate(productionConfig());
        const urls = await valueOf(e.stack.postgres.urls);
        for (const url of Object.values(urls)) {
            expect(url).toMatch(/^postgres:\/\/shred_day_app:[0-9a-f]{64}@10\.0\.0\.3:5432\//);
            expect(url).not.toContain(SECRETS.postgresPassword);
        }
        const dbs = e.named("postgres-databases");
        expect(dbs.inputs.create).toContain("APP_USER='shred_day_app'");
        expect(dbs.inputs.create).toContain("DB_USER='shred_day'");
        // the program's own steps keep the superuser
        expect(e.named("release-jobs-proof").inputs.create).toContain("DB_USER='shred_day'");
    });

    test("postgres.appUser may name the role; it may not be the superuser", async () => {
        const c = productionConfig();
        c.postgres.appUser = "shred_day_web";
        const e = await evaluate(c);
        expect((await valueOf(e.stack.postgres.urls)).DATABASE_URL).toMatch(/^postgres:\/\/shred_day_web:/);
        c.postgres.appUser = "shred_day";
        await expect(evaluate(c)).rejects.toThrow(/shred-day:postgres\.appUser = "shred_day": the same role as postgres\.user/);
    });
});

describe("pinned SSH host keys (issue 11 point 2)", () => {
    const host = (e: Evaluation, name: string) => e.named(name).inputs.connection.hostKey;

    test("every remote command checks its host's key: the adopted hosts' from the config, a new host's made by the program", async () => {
        const e = await evaluate(withJobsHosts(2));
        const newKey = e.ofType("tls:index/privateKey:PrivateKey");
        expect(newKey.map((k) => [k.name, k.inputs.algorithm])).toEqual([["shred-day-jobs-2-host-key", "ED25519"]]);
        const generated = e.ofType("hcloud:index/server:Server").find((s) => s.inputs.name === "shred-day-jobs-2")!;
        const generatedPublic = /ed25519_public: (ssh-ed25519 \S+)/.exec(generated.inputs.userData)![1];
        for (const c of commands(e.resources)) {
            const key = c.inputs.connection.hostKey;
            const expected = c.name.includes("shred-day-jobs-ubuntu") ? HOST_KEYS.jobs : c.name.includes("shred-day-jobs-2") ? generatedPublic : HOST_KEYS.web;
            expect({ name: c.name, key }).toEqual({ name: c.name, key: expected });
        }
        expect(host(e, "release-env-shred-day-jobs-2")).toBe(generatedPublic);
    });

    test("a new server gets the program's host key by cloud-init (the image's keys deleted, no other type generated); its userData is secret", async () => {
        const e = await evaluate(withJobsHosts(2));
        const server = e.ofType("hcloud:index/server:Server").find((s) => s.inputs.name === "shred-day-jobs-2")!;
        expect(server.secretPaths).toContain("userData");
        const doc = parse(server.inputs.userData.replace(/^#cloud-config\n/, ""));
        expect(doc.ssh_deletekeys).toBe(true);
        expect(doc.ssh_genkeytypes).toEqual(["ed25519"]);
        expect(doc.ssh_keys.ed25519_private).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
        expect(doc.ssh_keys.ed25519_public).toMatch(PUBLIC_KEY);
    });

    test("an adopted server without its host key is refused, naming the key and how to read it safely", async () => {
        const c = productionConfig();
        delete c.web.hostKey;
        delete c.jobs.hosts[0].hostKey;
        await expect(evaluate(c)).rejects.toThrow(/shred-day:web\.hostKey = missing: an adopted web server .*Hetzner Cloud Console.*ssh-keyscan -t ed25519 91\.99\.62\.190.*fingerprint/s);
        await expect(evaluate(c)).rejects.toThrow(/shred-day:jobs\.hosts\[0\]\.hostKey = missing: an adopted jobs server .*ssh-keyscan -t ed25519 203\.0\.113\.20/s);
        const bad = productionConfig();
        bad.web.hostKey = "AAAAC3NzaC1lZDI1NTE5AAAAIEUeXl5vXMhMvPuAXMXx";
        await expect(evaluate(bad)).rejects.toThrow(/shred-day:web\.hostKey = .*must be the server's public SSH host key/);
    });

    test("the Docker provider trusts only the stack's key for the web host (StrictHostKeyChecking=yes, a known_hosts from the stack)", async () => {
        const e = await evaluate(productionConfig());
        const [provider] = e.ofType("pulumi:providers:docker");
        const opts: string[] = JSON.parse(provider.inputs.sshOpts);
        expect(opts).toContain("StrictHostKeyChecking=yes");
        expect(opts.join(" ")).not.toMatch(/accept-new|StrictHostKeyChecking=no/);
        const file = opts.find((o) => o.startsWith("UserKnownHostsFile="))!.slice("UserKnownHostsFile=".length);
        const ip = /@([0-9.]+)$/.exec(provider.inputs.host)![1];
        expect(fs.readFileSync(file, "utf8")).toBe(`${ip} ${HOST_KEYS.web}\n`);
    });

    test("fingerprints are the ones ssh-keygen -lf and the console show", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-fp-"));
        try {
            fs.writeFileSync(path.join(dir, "k.pub"), `${HOST_KEYS.web}\n`);
            const r = spawnSync("ssh-keygen", ["-lf", path.join(dir, "k.pub")], { encoding: "utf8" });
            expect(r.stdout.split(" ")[1]).toBe(fingerprint(HOST_KEYS.web));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("local key and known_hosts files (issue 11 point 5)", () => {
    test("they are written 0600 in a private 0700 directory of this user, and the directory is removed at exit and on SIGTERM", () => {
        const script = `
            const pulumi = require("@pulumi/pulumi");
            const { sshClientFiles } = require(${JSON.stringify(path.join(__dirname, "../../components/remote"))});
            pulumi.runtime.setMocks({ newResource: (a) => ({ id: "1", state: a.inputs }), call: (a) => a.inputs }, "p", "s", false);
            sshClientFiles(pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----\\nX\\n-----END OPENSSH PRIVATE KEY-----"), "192.0.2.1 ${HOST_KEYS.web}\\n").apply((f) => {
                const fs = require("fs");
                const st = (p) => (fs.statSync(p).mode & 0o777).toString(8);
                console.log(JSON.stringify({ ...f, dirMode: st(require("path").dirname(f.keyFile)), keyMode: st(f.keyFile), hostsMode: st(f.knownHostsFile) }));
                if (process.argv.includes("signal")) process.kill(process.pid, "SIGTERM");
                else setTimeout(() => process.exit(0), 50);
            });
            setTimeout(() => {}, 20000);
        `;
        for (const how of ["exit", "signal"]) {
            const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script, "--", how], { encoding: "utf8", cwd: path.join(__dirname, "../.."), timeout: 60_000, killSignal: "SIGKILL" });
            const line = r.stdout.trim().split("\n").pop()!;
            const f = JSON.parse(line);
            expect({ how, dirMode: f.dirMode, keyMode: f.keyMode, hostsMode: f.hostsMode }).toEqual({ how, dirMode: "700", keyMode: "600", hostsMode: "600" });
            expect(path.dirname(f.keyFile).startsWith(os.tmpdir())).toBe(true);
            expect({ how, left: fs.existsSync(path.dirname(f.keyFile)) }).toEqual({ how, left: false });
            // stopped by the signal (128 + 15), not by the test's timeout
            expect({ how, status: r.status }).toEqual({ how, status: how === "signal" ? 143 : 0 });
        }
    }, 90_000);

    test("a directory planted at the path by someone else is refused", () => {
        const tag = `planted${process.pid}`;
        const dir = path.join(os.tmpdir(), `shred-day-${process.getuid!()}-${tag}`);
        fs.mkdirSync(dir, { mode: 0o777 });
        fs.chmodSync(dir, 0o777);
        try {
            expect(() => privateDir(tag)).toThrow(/is not a private directory of this user/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
