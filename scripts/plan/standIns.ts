/**
 * A stack file as the plan can evaluate it. Encrypted values cannot be read without the
 * passphrase, secrets may not be set yet, and CHANGE-ME placeholders fail validation: each gets
 * a stand-in that passes it, and is listed, so the plan can say what `pulumi up` still needs.
 * Stand-ins for secrets are never printed (the plan prints no secret-bearing value at all);
 * stand-ins for placeholders are shown as the placeholder they replace.
 */
import { NAMESPACE, PLACEHOLDER } from "../../stacks/config";
import type { StackFile } from "../../stacks/stackFile";

export interface StandIns {
    /** Values of the stack's namespace, ready for parseConfig. */
    raw: Record<string, unknown>;
    /** What `pulumi up` refuses until it is set: placeholders and secrets that are not set. */
    refuse: string[];
    /** Encrypted values the plan could not read (it used stand-ins). */
    unreadable: string[];
    /** Stand-in text -> how to show it (the placeholder as written in the stack file). */
    display: [string, string][];
    /** Stand-in secret values: they must never appear in the plan. */
    secretStandIns: string[];
}

const secretStandIn = (key: string) => `plan-stand-in-${key.replace(/[^A-Za-z0-9]+/g, "-")}-0123456789`;

function isSecure(v: unknown): boolean {
    return v !== null && typeof v === "object" && !Array.isArray(v) && "secure" in (v as object);
}

export function withStandIns(file: StackFile): StandIns {
    const raw: Record<string, unknown> = JSON.parse(JSON.stringify(file.raw));
    const refuse: string[] = [];
    const unreadable: string[] = [];
    const display: [string, string][] = [];
    const secretStandIns: string[] = [];
    const key = (path: string) => `${NAMESPACE}:${path}`;
    let importIds = 0; // each placeholder hcloud id gets its own numeric stand-in

    // Encrypted leaves inside values (e.g. appSecrets.RAILS_MASTER_KEY set with --path), and placeholders.
    const walk = (value: unknown, path: string): unknown => {
        if (isSecure(value)) {
            const s = secretStandIn(path);
            secretStandIns.push(s);
            unreadable.push(key(path));
            return s;
        }
        if (typeof value === "string" && value.includes(PLACEHOLDER)) {
            refuse.push(`${key(path)} = ${JSON.stringify(value)}`);
            const cidr = /ssh\.adminCidrs\[(\d+)\]$/.exec(path);
            const standIn = cidr
                ? `198.51.100.${Number(cidr[1]) + 1}/32`
                : path.endsWith("importId")
                  ? String(900000001 + importIds++)
                  : /jobs\.hosts\[(\d+)\]\.publicIp$/.test(path)
                    ? `203.0.113.${200 + Number(/\[(\d+)\]/.exec(path)![1])}`
                  : path.endsWith("hostKey")
                    ? // a well-formed stand-in public key (issue 11 point 2): pulumi up refuses the placeholder
                      `ssh-ed25519 ${Buffer.from(`plan-stand-in-host-key-${path}`).toString("base64")}`
                  : path === "postgres.dataDir"
                    ? "/change-me"
                    : value.split(PLACEHOLDER).join(PLACEHOLDER.toLowerCase());
            display.push([standIn, value]);
            return standIn;
        }
        if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`));
        if (value !== null && typeof value === "object") {
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, `${path}.${k}`)]));
        }
        return value;
    };
    for (const k of Object.keys(raw)) raw[k] = walk(raw[k], k);

    // Top-level secrets: encrypted (set, unreadable here) or not set (pulumi up refuses).
    // Wholly encrypted top-level values are not in file.raw (readStackFile leaves them out).
    const whollyEncrypted = (top: string) => file.encrypted.includes(top) && file.raw[top] === undefined;
    const stand = (path: string, how: string) => {
        const s = secretStandIn(path);
        secretStandIns.push(s);
        if (whollyEncrypted(path.split(".")[0])) unreadable.push(key(path));
        else refuse.push(`${key(path)}: not set (secret): ${how}`);
        return s;
    };
    if (raw.postgresPassword === undefined) {
        raw.postgresPassword = stand("postgresPassword", `pulumi config set --secret ${key("postgresPassword")}`);
    }
    if (raw.registryPassword === undefined && raw.app !== null && typeof raw.app === "object" && (raw.app as any).registry !== undefined) {
        raw.registryPassword = stand("registryPassword", `pulumi config set --secret ${key("registryPassword")}`);
    }
    if (raw.appSecrets === undefined || raw.appSecrets === null) {
        raw.appSecrets = {};
    }
    const appSecrets = raw.appSecrets as Record<string, unknown>;
    if (appSecrets.RAILS_MASTER_KEY === undefined) {
        appSecrets.RAILS_MASTER_KEY = stand("appSecrets.RAILS_MASTER_KEY", `pulumi config set --secret --path ${key("appSecrets.RAILS_MASTER_KEY")}`);
    }
    // The plan never needs the SSH key (nothing connects), and leaving it out writes no key file.
    if (file.encrypted.includes("sshPrivateKey")) unreadable.push(`${key("sshPrivateKey")} (not needed by the plan)`);
    delete raw.sshPrivateKey;

    return { raw, refuse, unreadable: [...new Set(unreadable)], display, secretStandIns };
}
