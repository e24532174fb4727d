/**
 * Issue 11 (security), on the program evaluated on Pulumi's mocks: what every remote command
 * keeps secret, logs and how long it may run.
 */
import { Captured, evaluate } from "../../scripts/evaluate";
import { productionConfig, withJobsHosts } from "../support/fixtures";

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
