/**
 * `npm run ops` for a newcomer (issue 14.6): a stack that was never deployed points at
 * --no-pulumi, and an --identity (or SHRED_DAY_SSH_KEY) that is not a file is refused before
 * anything connects. On the shipped stack file (tests/support/fixtures.ts), with a fake `pulumi`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main, OpsIo } from "../../scripts/ops/main";
import { SHIPPED_STACK_YAML } from "../support/fixtures";

let dir: string;
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-ops-newcomer-"));
    fs.writeFileSync(path.join(dir, "Pulumi.production.yaml"), SHIPPED_STACK_YAML);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const io: OpsIo = { out: (s) => (out += s), err: (s) => (err += s), env: { PATH: process.env.PATH, ...env }, inherit: false, isTTY: false };
    const code = await main([...argv, "--project-dir", dir], io);
    return { code, out, err };
}

function fakePulumi(stdout: string): string {
    const file = path.join(dir, `pulumi-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(file, `#!/bin/sh\ncat <<'EOF'\n${stdout}\nEOF\n`, { mode: 0o755 });
    return file;
}

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
        const missing = path.join(dir, "no-such-key");
        const flag = await run(["hosts", "--no-pulumi", "--identity", missing]);
        expect([flag.code, flag.out]).toEqual([2, ""]);
        expect(flag.err).toBe(
            `ops: --identity ${missing}: no such file; give the deploy key's private key file (e.g. ~/.ssh/shred-day-deploy), or leave --identity out to use your SSH agent\n`,
        );
        const env = await run(["hosts", "--no-pulumi"], { SHRED_DAY_SSH_KEY: missing });
        expect(env.code).toBe(2);
        expect(env.err).toContain(`ops: SHRED_DAY_SSH_KEY ${missing}: no such file;`);
        const directory = await run(["hosts", "--no-pulumi", "--identity", dir]);
        expect(directory.err).toContain(`--identity ${dir}: not a file;`);
    });

    test("an existing key file is used", async () => {
        const key = path.join(dir, "deploy");
        fs.writeFileSync(key, "key\n", { mode: 0o600 });
        const r = await run(["hosts", "--no-pulumi", "--identity", key]);
        expect(r.code).toBe(0);
        expect(r.out).toContain(`key: key file ${key}\n`);
    });
});
