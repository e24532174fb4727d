/**
 * Read a stack's config straight from its `Pulumi.<stack>.yaml`, for the tools that run
 * without the Pulumi CLI (the offline plan, ops, the bench). Encrypted values (`secure:`) cannot
 * be read here; they are reported so the caller can stand in for them.
 *
 * The file is also checked for what only the file shows: a secret written as plain YAML (not
 * `secure:`), and a key under a misspelt namespace (`shredday:jobs`). Those problems are
 * returned in `problems`, in the words parseConfig uses, so a tool reports them with the rest.
 */
import * as fs from "fs";
import * as path from "path";
import { parse, YAMLParseError } from "yaml";
import { NAMESPACE, namespaceTypos, PLACEHOLDER, plainTextSecrets } from "./config";

export const PROJECT_DIR = path.resolve(__dirname, "..");

export interface StackFile {
    /** The file's name, e.g. Pulumi.production.yaml. */
    file: string;
    /** Values of this program's namespace, keys without `shred-day:`; encrypted leaves stay `{secure: ...}`. */
    raw: Record<string, unknown>;
    /** Top-level keys whose value is (or holds) an encrypted value. */
    encrypted: string[];
    /** Dotted keys whose value still holds a CHANGE-ME placeholder. */
    placeholders: string[];
    /** Problems only the file shows (plain-text secrets, a misspelt namespace): `pulumi up` refuses them too. */
    problems: string[];
}

/** The stack file cannot be read (missing, not YAML): the message says which file and what to do. */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

function isSecure(v: unknown): boolean {
    return v !== null && typeof v === "object" && !Array.isArray(v) && "secure" in (v as object);
}

function findPlaceholders(value: unknown, key: string, out: string[]): void {
    if (typeof value === "string" && value.includes(PLACEHOLDER)) out.push(key);
    else if (Array.isArray(value)) value.forEach((v, i) => findPlaceholders(v, `${key}[${i}]`, out));
    else if (value !== null && typeof value === "object" && !isSecure(value)) {
        for (const [k, v] of Object.entries(value)) findPlaceholders(v, `${key}.${k}`, out);
    }
}

function holdsSecure(value: unknown): boolean {
    if (isSecure(value)) return true;
    if (Array.isArray(value)) return value.some(holdsSecure);
    if (value !== null && typeof value === "object") return Object.values(value).some(holdsSecure);
    return false;
}

/** The stacks that have a file in `dir`, e.g. ["production"]. */
export function stacksIn(dir: string = PROJECT_DIR): string[] {
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

export function readStackFile(stack: string, dir: string = PROJECT_DIR): StackFile {
    const name = `Pulumi.${stack}.yaml`;
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) {
        const stacks = stacksIn(dir);
        const choose = stacks.length > 0 ? `the stacks here are: ${stacks.join(", ")} (e.g. --stack ${stacks[0]})` : "there is no Pulumi.<stack>.yaml here";
        throw new StackFileError(`no stack file ${name} in ${dir}: ${choose}; a new stack starts with \`pulumi stack init ${stack}\` and a copy of Pulumi.production.yaml`);
    }
    let doc: any;
    try {
        doc = parse(fs.readFileSync(file, "utf8")) ?? {};
    } catch (e) {
        if (e instanceof YAMLParseError) {
            const where = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "";
            const first = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
            throw new StackFileError(`${name} is not valid YAML${where}: ${first}\n${e.message.split("\n").slice(1).join("\n").trimEnd()}\n(check the indentation there: nested keys are indented under their parent with spaces, never tabs)`);
        }
        throw e;
    }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new StackFileError(`${name}: expected a YAML mapping with a \`config:\` key`);
    const config: Record<string, unknown> = doc.config ?? {};
    const raw: Record<string, unknown> = {};
    const encrypted: string[] = [];
    const placeholders: string[] = [];
    for (const [fullKey, value] of Object.entries<unknown>(config)) {
        if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
        const key = fullKey.slice(NAMESPACE.length + 1);
        if (holdsSecure(value)) encrypted.push(key);
        findPlaceholders(value, key, placeholders);
        raw[key] = value;
    }
    const problems = [...namespaceTypos(Object.keys(config)), ...plainTextSecrets(raw, (_key, value) => isSecure(value))];
    // A wholly encrypted top-level value is not readable here: leave it out (the callers stand in for it).
    for (const key of encrypted) if (isSecure(raw[key])) delete raw[key];
    return { file: name, raw, encrypted, placeholders, problems };
}
