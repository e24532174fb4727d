/**
 * A throwaway project dir holding the shipped stack file, and `npm run ops` run in-process on
 * it (scripts/ops/main.ts with captured output), for the ops unit tests. Registers its own
 * beforeAll/afterAll: call it at the top of a file or a describe.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main, OpsIo } from "../../scripts/ops/main";
import { SHIPPED_STACK_YAML } from "./fixtures";

export interface OpsProject {
    /** The project dir (valid inside tests). */
    readonly dir: string;
    /** `npm run ops -- ARGV --project-dir DIR` with env added to PATH; never inherits the terminal. */
    run(argv: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }>;
    /** An executable `pulumi` stand-in in the project dir running SCRIPT (sh); returns its path, for SHRED_DAY_PULUMI. */
    fakePulumi(script: string): string;
}

export function useOpsProject(prefix: string): OpsProject {
    let dir = "";
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), `shred-day-${prefix}-`));
        fs.writeFileSync(path.join(dir, "Pulumi.production.yaml"), SHIPPED_STACK_YAML);
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    return {
        get dir() {
            return dir;
        },
        async run(argv, env = {}) {
            let out = "";
            let err = "";
            const io: OpsIo = { out: (s) => (out += s), err: (s) => (err += s), env: { PATH: process.env.PATH, ...env }, inherit: false, isTTY: false };
            const code = await main([...argv, "--project-dir", dir], io);
            return { code, out, err };
        },
        fakePulumi(script) {
            const file = path.join(dir, `pulumi-${Math.random().toString(36).slice(2)}`);
            fs.writeFileSync(file, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
            return file;
        },
    };
}
