/**
 * `npm run plan -- --preview FILE`: a real `pulumi preview --json` checked against the objects
 * this stack adopts. The plan evaluates the program on mocks and cannot see the real objects;
 * the preview can (the provider diffs the declared inputs against them), so this is where an
 * `~ update` or `+-replace` of an adopted server, network or firewall is caught before `up`.
 *
 * The file is the JSON document `pulumi preview --json` prints (pulumi/pulumi
 * pkg/backend/display/json.go `ShowPreviewDigest`; the fields are `previewDigest` and
 * `previewStep` in pkg/display): `{ "steps": [{ "op", "urn", "diffReasons"?, "replaceReasons"?,
 * "detailedDiff"?: { "<property path>": { "kind", "inputDiff" } }, "oldState"?, "newState"? }],
 * "diagnostics"?, "changeSummary"? }`. Steps whose op is `same` are left out of it unless
 * `--show-sames` is given.
 */
import { z } from "zod";
import type { PlanAdopted } from "./model";

/** The ops that leave an adopted object as it is: adopted into the state, unchanged, or read. */
export const CLEAN_OPS = new Set(["import", "same", "read"]);

const STEP = z.object({
    op: z.string(),
    urn: z.string(),
    diffReasons: z.array(z.string()).nullish(),
    replaceReasons: z.array(z.string()).nullish(),
    detailedDiff: z.record(z.string(), z.object({ kind: z.string(), inputDiff: z.boolean().optional() })).nullish(),
});
const DIGEST = z.object({ steps: z.array(STEP).nullish() });

export type PreviewStep = z.infer<typeof STEP>;

export class PreviewFileError extends Error {}

/** The steps of `pulumi preview --json` output; throws PreviewFileError with what is wrong. */
export function parsePreview(text: string, file = "the preview file"): PreviewStep[] {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (e) {
        throw new PreviewFileError(`${file} is not JSON (${(e as Error).message}); write it with: pulumi preview --stack production --json > ${file}`);
    }
    const parsed = DIGEST.safeParse(doc);
    if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new PreviewFileError(`${file} is not the output of \`pulumi preview --json\`: at ${issue.path.join(".") || "(top)"}: ${issue.message}`);
    }
    return parsed.data.steps ?? [];
}

/** `urn:pulumi:STACK::PROJECT::parent$...$TYPE::NAME` -> its resource type and name. */
export function urnParts(urn: string): { type: string; name: string } | undefined {
    const parts = urn.split("::");
    if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) return undefined;
    const typeChain = parts[2].split("$");
    return { type: typeChain[typeChain.length - 1], name: parts.slice(3).join("::") };
}

/** One changed property of a step: its path and, when the preview says, the kind of change. */
export interface ChangedKey {
    path: string;
    kind?: string;
}

/** The properties a step changes: detailedDiff (with kinds), else diffReasons and replaceReasons. */
export function changedKeys(step: PreviewStep): ChangedKey[] {
    const keys = new Map<string, ChangedKey>();
    for (const [path, d] of Object.entries(step.detailedDiff ?? {})) keys.set(path, { path, kind: d.kind });
    for (const path of [...(step.diffReasons ?? []), ...(step.replaceReasons ?? [])]) {
        if (![...keys.keys()].some((k) => topLevel(k) === path)) keys.set(path, { path });
    }
    return [...keys.values()];
}

/** `rules[0].port` -> `rules`. */
export function topLevel(path: string): string {
    return /^[^.[]+/.exec(path)?.[0] ?? path;
}

export interface PreviewFinding {
    object: PlanAdopted;
    /** The ops of its steps, in order (a replacement is several steps on one URN). */
    ops: string[];
    changed: ChangedKey[];
    /**
     * ok: only import/same/read, nothing changed. intended: only the adoption's one intended diff
     * (an adopted firewall's rules). flagged: anything else. absent: no step (unchanged).
     */
    verdict: "ok" | "intended" | "flagged" | "absent";
}

/** Check each adopted object's steps in a preview. */
export function checkPreview(adopted: PlanAdopted[], steps: PreviewStep[]): PreviewFinding[] {
    return adopted.map((object) => {
        const mine = steps.filter((s) => {
            const p = urnParts(s.urn);
            return p !== undefined && p.type === object.type && p.name === object.name;
        });
        const ops = mine.map((s) => s.op);
        const changed: ChangedKey[] = [];
        for (const s of mine) for (const k of changedKeys(s)) if (!changed.some((c) => c.path === k.path)) changed.push(k);
        let verdict: PreviewFinding["verdict"];
        if (mine.length === 0) verdict = "absent";
        else if (ops.every((op) => CLEAN_OPS.has(op)) && changed.length === 0) verdict = "ok";
        else if (
            ops.every((op) => CLEAN_OPS.has(op) || op === "update") &&
            changed.length > 0 &&
            changed.every((k) => object.intended.includes(topLevel(k.path)) && !/replace/.test(k.kind ?? ""))
        )
            verdict = "intended";
        else verdict = "flagged";
        return { object, ops, changed, verdict };
    });
}

const SYMBOL: Record<string, string> = {
    import: "= import",
    same: "  same",
    read: "> read",
    create: "+ create",
    update: "~ update",
    delete: "- delete",
    replace: "+- replace",
    "create-replacement": "++ create-replacement",
    "delete-replaced": "-- delete-replaced",
    "import-replacement": "=> import-replacement",
    "read-replacement": ">> read-replacement",
    "discard-replaced": "-- discard-replaced",
};

function describeChange(f: PreviewFinding): string {
    const ops = f.ops.map((op) => SYMBOL[op] ?? op).join(", ");
    if (f.changed.length === 0) return ops;
    return `${ops} of ${f.changed.map((k) => (k.kind ? `${k.path} (${k.kind})` : k.path)).join(", ")}`;
}

/** The preview check as text for a reviewer; `flagged` first. */
export function renderPreviewCheck(findings: PreviewFinding[], file: string): string {
    const flagged = findings.filter((f) => f.verdict === "flagged");
    const out: string[] = [];
    out.push(`Preview check (${file}, pulumi preview --json): the adopted objects`);
    if (flagged.length > 0) {
        out.push(`FLAGGED: ${flagged.length} adopted object(s) would be changed. Do not run pulumi up; find out why:`);
    } else {
        out.push("Clean: no adopted object is updated, replaced or deleted by this preview.");
    }
    const label: Record<PreviewFinding["verdict"], string> = { flagged: "FLAGGED ", intended: "intended", ok: "ok      ", absent: "ok      " };
    const order: PreviewFinding["verdict"][] = ["flagged", "intended", "ok", "absent"];
    for (const verdict of order) {
        for (const f of findings.filter((x) => x.verdict === verdict)) {
            const what = verdict === "absent" ? "no step (unchanged: a `same` step is listed only with --show-sames)" : describeChange(f);
            out.push(`  ${label[verdict]}  ${f.object.name} (${f.object.type}, import ${f.object.importId}): ${what}`);
            if (verdict === "flagged") {
                const undeclared = f.changed.map((k) => topLevel(k.path)).filter((k) => f.object.ignored.includes(k));
                if (f.ops.some((op) => /replace|delete/.test(op))) out.push("            a replacement or delete would destroy the real object: never acceptable for an adopted one");
                if (undeclared.length > 0) out.push(`            ${[...new Set(undeclared)].join(", ")} is ignored by the program: a diff there means the preview ran another version of it`);
            }
            if (verdict === "intended") out.push("            the intended diff of an adoption: the firewall's rules become the configured ones");
        }
    }
    if (findings.length > 0 && findings.every((f) => f.verdict === "absent")) {
        out.push("  Note: the preview names none of the adopted objects: check that it is the preview of this stack and config.");
    }
    return out.join("\n") + "\n";
}
