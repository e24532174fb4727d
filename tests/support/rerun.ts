/**
 * What `pulumi up` would re-run between two configs: evaluate both on mocks and compare
 * every remote command's inputs. A command whose inputs differ in any way runs again;
 * one that only the second has is new.
 */
import { Evaluation } from "../../scripts/evaluate";

const COMMAND = "command:remote:Command";

/** Every input counts: the command provider re-runs a command on any input change. */
export function fingerprint(inputs: Record<string, any>): string {
    const canonical = (v: any): any =>
        Array.isArray(v)
            ? v.map(canonical)
            : v !== null && typeof v === "object"
              ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]))
              : v;
    return JSON.stringify(canonical(inputs));
}

export interface Reruns {
    changed: string[];
    added: string[];
    removed: string[];
}

export function reruns(before: Evaluation, after: Evaluation): Reruns {
    const b = new Map(before.ofType(COMMAND).map((r) => [r.name, fingerprint(r.inputs)]));
    const a = new Map(after.ofType(COMMAND).map((r) => [r.name, fingerprint(r.inputs)]));
    return {
        changed: [...a.keys()].filter((n) => b.has(n) && b.get(n) !== a.get(n)).sort(),
        added: [...a.keys()].filter((n) => !b.has(n)).sort(),
        removed: [...b.keys()].filter((n) => !a.has(n)).sort(),
    };
}

/** The longest chain of remote commands linked by dependsOn (through any resources in between). */
export function longestCommandChain(e: Evaluation): string[] {
    const byName = new Map(e.resources.map((r) => [r.name, r]));
    const memo = new Map<string, string[]>();
    const chain = (name: string): string[] => {
        if (memo.has(name)) return memo.get(name)!;
        const r = byName.get(name);
        let best: string[] = [];
        for (const dep of r?.dependsOn ?? []) {
            const c = chain(dep);
            if (c.length > best.length) best = c;
        }
        const result = r?.type === COMMAND ? [...best, name] : best;
        memo.set(name, result);
        return result;
    };
    let longest: string[] = [];
    for (const r of e.resources) {
        const c = chain(r.name);
        if (c.length > longest.length) longest = c;
    }
    return longest;
}
