/**
 * The resources the program registers on mocks (scripts/evaluate.ts `Captured`), in
 * the shape the policy pack's rules read (policy/rules.ts `PolicyResourceLike`), with what the
 * engine would hand a CrossGuard pack filled in:
 * - `opts` (protect, ignoreChanges, deleteBeforeReplace, parent) from the captured options;
 * - `dependencies`: the explicit dependsOn plus the property dependencies;
 * - `propertyDependencies`: which resources an input was computed from. Mocks do not record
 *   that, so it is rebuilt from values: an input that holds another resource's id (hcloud ids
 *   are numbers; the mock gives every resource a distinct numeric id) was computed from it.
 *
 * Used by the offline plan (firewall coverage) and by the policy tests.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { policies } from "../../policy/policies";
import type { PolicyResourceLike } from "../../policy/rules";
import type { Captured } from "../evaluate";

export function urnOf(r: Pick<Captured, "type" | "name">, stack = "production"): string {
    return `urn:pulumi:${stack}::shred-day::${r.type}::${r.name}`;
}

/** Numbers (and all-digit strings) anywhere inside an input value. */
function numericLeaves(value: unknown, out: Set<string> = new Set()): Set<string> {
    if (typeof value === "number" && Number.isInteger(value)) out.add(String(value));
    else if (typeof value === "string" && /^[0-9]{4,}$/.test(value)) out.add(value);
    else if (Array.isArray(value)) value.forEach((v) => numericLeaves(v, out));
    else if (value !== null && typeof value === "object") Object.values(value).forEach((v) => numericLeaves(v, out));
    return out;
}

/** Every captured custom resource as the stack policies see it, dependencies resolved. */
export function toPolicyResources(captured: Captured[], stack = "production"): PolicyResourceLike[] {
    const custom = captured.filter((r) => r.custom);
    const byId = new Map<string, PolicyResourceLike>();
    const byName = new Map<string, PolicyResourceLike>();
    const converted = custom.map((c) => {
        const r: PolicyResourceLike = {
            type: c.type,
            name: c.name,
            urn: urnOf(c, stack),
            props: c.inputs,
            opts: { protect: c.protect, ignoreChanges: [...c.ignoreChanges], deleteBeforeReplace: c.deleteBeforeReplace, parent: c.parent },
        };
        if (c.id !== undefined) byId.set(String(c.id), r);
        if (!byName.has(c.name)) byName.set(c.name, r);
        return r;
    });
    custom.forEach((c, i) => {
        const r = converted[i];
        const propertyDependencies: Record<string, PolicyResourceLike[]> = {};
        for (const [key, value] of Object.entries(c.inputs)) {
            const deps = [...numericLeaves(value)].map((v) => byId.get(v)).filter((d): d is PolicyResourceLike => d !== undefined && d !== r);
            if (deps.length > 0) propertyDependencies[key] = [...new Set(deps)];
        }
        const explicit = c.dependsOn.map((n) => byName.get(n)).filter((d): d is PolicyResourceLike => d !== undefined);
        r.propertyDependencies = propertyDependencies;
        r.dependencies = [...new Set([...explicit, ...Object.values(propertyDependencies).flat()])];
    });
    return converted;
}

/** What a resource policy's validateResource receives for one captured resource. */
export function toResourceValidationArgs(r: PolicyResourceLike, config: object = {}): ResourceValidationArgs {
    return {
        type: r.type,
        name: r.name,
        urn: r.urn ?? "",
        props: r.props,
        opts: {
            protect: r.opts.protect,
            ignoreChanges: r.opts.ignoreChanges,
            deleteBeforeReplace: r.opts.deleteBeforeReplace,
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
            parent: r.opts.parent,
        },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw new Error(`not applicable: ${reason ?? ""}`);
        },
    };
}

export type PackConfig = Record<string, Record<string, unknown>>;
/** Policy name -> the violation messages it reported. */
export type PackResults = Record<string, string[]>;

/** Run every policy of the pack as the engine would: resource policies per resource, stack policies once. */
export async function runPolicies(resources: PolicyResourceLike[], config: PackConfig = {}): Promise<PackResults> {
    const results: PackResults = {};
    for (const p of policies) {
        const messages: string[] = [];
        const report: ReportViolation = (message) => void messages.push(message);
        if ("validateResource" in p) {
            const validate = (p as ResourceValidationPolicy).validateResource!;
            for (const r of resources) {
                for (const v of Array.isArray(validate) ? validate : [validate]) await v(toResourceValidationArgs(r, config[p.name] ?? {}), report);
            }
        } else {
            await (p as StackValidationPolicy).validateStack(
                {
                    resources: resources as any,
                    stackTags: new Map(),
                    getConfig: <T extends object>() => (config[p.name] ?? {}) as T,
                    notApplicable: (reason?: string): never => {
                        throw new Error(reason);
                    },
                },
                report,
            );
        }
        results[p.name] = messages;
    }
    return results;
}
