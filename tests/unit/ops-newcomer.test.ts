/**
 * `npm run ops` for a newcomer (issue 14.6): a stack that was never deployed points at
 * --no-pulumi, and an --identity (or SHRED_DAY_SSH_KEY) that is not a file is refused before
 * anything connects. On the shipped stack file (tests/support/fixtures.ts), with a fake `pulumi`.
 */
import * as fs from "fs";
import * as path from "path";
import { useOpsProject } from "../support/opsProject";

const project = useOpsProject("ops-newcomer");
const run = project.run;
/** A `pulumi` whose `stack output` prints STDOUT. */
const fakePulumi = (stdout: string) => project.fakePulumi(`cat <<'EOF'\n${stdout}\nEOF`);

describe("ops on a stack without outputs", () => {
    test("`pulumi stack output` gives {} (never deployed): exit 2, and the message names --no-pulumi", async () => {
        const r = await run(["status"], { SHRED_DAY_PULUMI: fakePulumi("{}") });
        expect(r.code).toBe(2);
        expect(r.err).toBe(
            "ops: the stack outputs have no `hosts` (has `pulumi up` run for this stack?); to reach the hosts from the stack file alone (the web host at web.publicIp, jobs hosts through it), add --no-pulumi\n",
        );
    });
});

describe("--identity must be a key file", () => {
    test("a missing file is refused before anything connects (exit 2), from --identity or SHRED_DAY_SSH_KEY", async () => {
        const missing = path.join(project.dir, "no-such-key");
        const flag = await run(["hosts", "--no-pulumi", "--identity", missing]);
        expect([flag.code, flag.out]).toEqual([2, ""]);
        expect(flag.err).toBe(
            `ops: --identity ${missing}: no such file; give the deploy key's private key file (e.g. ~/.ssh/shred-day-deploy), or leave --identity out to use your SSH agent\n`,
        );
        const env = await run(["hosts", "--no-pulumi"], { SHRED_DAY_SSH_KEY: missing });
        expect(env.code).toBe(2);
        expect(env.err).toContain(`ops: SHRED_DAY_SSH_KEY ${missing}: no such file;`);
        const directory = await run(["hosts", "--no-pulumi", "--identity", project.dir]);
        expect(directory.err).toContain(`--identity ${project.dir}: not a file;`);
    });

    test("an existing key file is used", async () => {
        const key = path.join(project.dir, "deploy");
        fs.writeFileSync(key, "key\n", { mode: 0o600 });
        const r = await run(["hosts", "--no-pulumi", "--identity", key]);
        expect(r.code).toBe(0);
        expect(r.out).toContain(`key: key file ${key}\n`);
    });
});
