/**
 * The policy pack's config for a stack, from the stack's own file: the SSH policy learns the
 * stack's `ssh.adminCidrs` and its `ssh.allowSshFromAnywhere` opt-in from here, so the pack
 * and the program read one source and cannot disagree.
 *
 *   npx ts-node -T scripts/policy-config.ts [--stack production] [--out .plan/policy-config.json]
 *   pulumi preview --stack production --policy-pack policy --policy-pack-config .plan/policy-config.json
 *
 * Without this file the pack still refuses SSH from (nearly) anywhere, and cannot be told that a
 * stack opted in; with it, SSH sources must also lie inside the stack's adminCidrs.
 */
import * as fs from "fs";
import * as path from "path";
import { POLICY_NAMES } from "../policy/policies";
import { PLACEHOLDER } from "../stacks/config";
import { readStackFile } from "../stacks/stackFile";

export interface PolicyPackConfigFile {
    [policy: string]: { adminCidrs?: string[]; allowSshFromAnywhere?: boolean };
}

/** The pack config for a stack's raw `shred-day:ssh` value. */
export function policyConfigFor(ssh: unknown, stack: string): PolicyPackConfigFile {
    const s = (ssh ?? {}) as { adminCidrs?: unknown; allowSshFromAnywhere?: unknown };
    const cidrs = Array.isArray(s.adminCidrs) ? s.adminCidrs.map(String) : [];
    if (cidrs.length === 0) throw new Error(`Pulumi.${stack}.yaml: shred-day:ssh.adminCidrs is empty; the SSH policy needs the admin ranges`);
    const placeholders = cidrs.filter((c) => c.includes(PLACEHOLDER));
    if (placeholders.length > 0) {
        throw new Error(`Pulumi.${stack}.yaml: shred-day:ssh.adminCidrs still holds ${placeholders.join(", ")}; fill in your admin ranges (pulumi up refuses them too)`);
    }
    return { [POLICY_NAMES.sshAdminOnly]: { adminCidrs: cidrs, allowSshFromAnywhere: s.allowSshFromAnywhere === true } };
}

function main(argv: string[]): void {
    const arg = (name: string, fallback?: string) => {
        const i = argv.indexOf(`--${name}`);
        return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
    };
    const stack = arg("stack", "production")!;
    const out = arg("out");
    const json = `${JSON.stringify(policyConfigFor(readStackFile(stack).raw.ssh, stack), null, 2)}\n`;
    if (out === undefined) {
        process.stdout.write(json);
    } else {
        fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
        fs.writeFileSync(out, json);
        process.stderr.write(`wrote ${out}\n`);
    }
}

if (require.main === module) {
    try {
        main(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        process.exit(1);
    }
}
