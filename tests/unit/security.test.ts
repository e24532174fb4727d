/**
 * Issue 11 (security), on the program evaluated on Pulumi's mocks: what every remote command
 * keeps secret, logs and how long it may run.
 */
import { releaseId } from "../../components/appEnv";
import { agreedContent, contentOf, runReference } from "../../components/imageContent";
import { Captured, evaluate, MOCK_DIGEST, valueOf } from "../../scripts/evaluate";
import { productionConfig, SECRETS, withJobsHosts } from "../support/fixtures";

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
                create: expect.stringMatching(/^\d+m$/),
                update: expect.stringMatching(/^\d+m$/),
                delete: expect.stringMatching(/^\d+m$/),
            });
        }
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
