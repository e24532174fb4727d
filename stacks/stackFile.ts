/**
 * Read a stack's config straight from its `Pulumi.<stack>.yaml`, for the tools that run
 * without the Pulumi CLI (the offline plan, ops, tests). Encrypted values (`secure:`) cannot
 * be read here; they are reported so the caller can stand in for them.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { NAMESPACE, PLACEHOLDER } from "./config";

export const PROJECT_DIR = path.resolve(__dirname, "..");

export interface StackFile {
    /** Values of this program's namespace, keys without `shred-day:`. */
    raw: Record<string, unknown>;
    /** Keys whose value is encrypted in the file. */
    encrypted: string[];
    /** Dotted keys whose value still holds a CHANGE-ME placeholder. */
    placeholders: string[];
}

function findPlaceholders(value: unknown, key: string, out: string[]): void {
    if (typeof value === "string" && value.includes(PLACEHOLDER)) out.push(key);
    else if (Array.isArray(value)) value.forEach((v, i) => findPlaceholders(v, `${key}[${i}]`, out));
    else if (value !== null && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) findPlaceholders(v, `${key}.${k}`, out);
    }
}

export function readStackFile(stack: string, dir: string = PROJECT_DIR): StackFile {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`no stack file ${file}; stacks here: ${fs.readdirSync(dir).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).join(", ")}`);
    }
    const doc = parse(fs.readFileSync(file, "utf8")) ?? {};
    const raw: Record<string, unknown> = {};
    const encrypted: string[] = [];
    const placeholders: string[] = [];
    for (const [fullKey, value] of Object.entries<unknown>(doc.config ?? {})) {
        if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
        const key = fullKey.slice(NAMESPACE.length + 1);
        if (value !== null && typeof value === "object" && "secure" in (value as object)) {
            encrypted.push(key);
            continue;
        }
        findPlaceholders(value, key, placeholders);
        raw[key] = value;
    }
    return { raw, encrypted, placeholders };
}
