/**
 * The stack config: one schema, one loader. Everything the program reads from
 * `Pulumi.<stack>.yaml` is validated here, once, before any resource is registered.
 * Components never read config themselves; they get the typed `StackConfig`.
 *
 * Every refusal names the key, the bad value and the fix, all problems at once.
 */
import { connectionBudget, DEFAULT_MAX_CONNECTIONS, envCount, MAX_CONNECTIONS_SETTING_DEFAULT, MAX_SETTING } from "../components/postgresConnections";
import * as pulumi from "@pulumi/pulumi";
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { PUBLIC_KEY } from "../components/hostKeys";
import { isRegistryHost, parseImageReference } from "./imageReference";

export const NAMESPACE = "shred-day";

/** Config keys that hold secrets: set them with `pulumi config set --secret`. */
export const SECRET_KEYS = ["postgresPassword", "registryPassword", "appSecrets", "sshPrivateKey"] as const;

/** Env names the program sets itself; the config may not set them. */
const PROGRAM_OWNED_ENV = [
    "DATABASE_URL",
    "QUEUE_DATABASE_URL",
    "CACHE_DATABASE_URL",
    "CABLE_DATABASE_URL",
    "DB_HOST",
    "JOB_CONCURRENCY",
    "POSTGRES_PASSWORD",
];

/** Hetzner locations and the network zone each belongs to. */
const LOCATION_ZONES: Record<string, string> = {
    fsn1: "eu-central",
    nbg1: "eu-central",
    hel1: "eu-central",
    ash: "us-east",
    hil: "us-west",
    sin: "ap-southeast",
};

const hostname = z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be a lowercase hostname label (a-z, 0-9, '-', at most 63 characters)");
const dnsName = z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$/, "must be a DNS name such as shred.day");
/** An OpenSSH public host key line, as /etc/ssh/ssh_host_ed25519_key.pub holds it (issue 11 point 2). */
const sshHostKey = z
    .string()
    .trim()
    .regex(PUBLIC_KEY, 'must be the server\'s public SSH host key, one line such as "ssh-ed25519 AAAAC3Nza..." (see docs/runbook-from-kamal.md, "Host keys")');
const ipv4 = z.string().refine((s) => ipaddr.IPv4.isValidFourPartDecimal(s), "must be an IPv4 address such as 10.0.0.2");
const ipv4Cidr = z
    .string()
    .refine((s) => ipaddr.IPv4.isValidCIDRFourPartDecimal(s), "must be an IPv4 CIDR such as 10.0.0.0/16");
const anyCidr = z
    .string()
    .refine((s) => ipaddr.isValidCIDR(s), "must be a CIDR such as 203.0.113.7/32 or 2001:db8::/64");
const identifier = z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lowercase Postgres identifier (a-z, 0-9, '_', not starting with a digit)");
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an UPPER_CASE environment variable name");
const oneLine = z.string().regex(/^[^\r\n]*$/, "must be one line (docker --env-file cannot carry newlines)");
/**
 * A clear env value. `pulumi config set --path shred-day:web.env.WEB_CONCURRENCY 3` stores a
 * number (and `true` a boolean): an env file holds text, so they are taken as their text.
 */
const envValue = z.union([z.string(), z.number(), z.boolean()]).transform(String).pipe(oneLine);
const envMap = z.record(envName, envValue);

/**
 * An image reference by the Docker grammar (stacks/imageReference.ts), with a tag or a digest,
 * never `latest` (a moving tag: hosts could run different bits under one release).
 */
function imageRef(example: string, check?: (ref: { path: string; tag?: string; digest?: string }) => string | undefined) {
    return z.string().superRefine((text, ctx) => {
        const ref = parseImageReference(text);
        let problem: string | undefined;
        if ("error" in ref) problem = `${ref.error}; use e.g. ${example}`;
        else if (ref.tag === undefined && ref.digest === undefined) problem = `has no tag: name the exact image, e.g. ${example}`;
        else if (ref.tag === "latest") problem = `"latest" moves whenever someone pushes: a release must name fixed bits; use a version tag or a digest, e.g. ${example}`;
        else problem = check?.(ref);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    });
}
/** A word that reaches a command line: never read as an option. */
const argWord = (what: string, example: string) =>
    z
        .string()
        .min(1, { message: `is empty; give ${what}, e.g. ${example}`, abort: true })
        .regex(/^[^-\s]/, { message: `must not start with '-' or a space (a command line would read it as an option); give ${what}, e.g. ${example}`, abort: true })
        .regex(/^\S+$/, { message: `must be one word without spaces; give ${what}, e.g. ${example}`, abort: true });
const absolutePath = z.string().regex(/^\/[A-Za-z0-9._\/-]*[A-Za-z0-9._-]$/, "must be an absolute path such as /var/lib/shred-day/postgres");
/** An hcloud id (server, network, firewall): numeric; YAML may give it as a number. */
const hcloudId = (what: string) =>
    z
        .union([z.string().regex(/^[0-9]+$/, `must be the numeric hcloud ${what} id`), z.number().int().positive()])
        .transform(String);
/** A Docker container name (Kamal names an accessory `<service>-<name>`, e.g. shred-day-db). */
const containerName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, "must be a Docker container name such as shred-day-db (`docker ps --format '{{.Names}}'` on the web host)");

const schema = z.strictObject({
    location: z.string().refine((l) => l in LOCATION_ZONES, `must be a Hetzner location: ${Object.keys(LOCATION_ZONES).join(", ")}`),
    network: z.strictObject({
        name: hostname,
        ipRange: ipv4Cidr,
        subnetRange: ipv4Cidr,
        zone: z.string().min(1),
        /** Adoption: the existing network's hcloud id; its subnet and the web server's attachment are then imported too. */
        importId: hcloudId("network").optional(),
    }),
    ssh: z.strictObject({
        user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, "must be a Unix user name").default("root"),
        keyNames: z.array(z.string().min(1)).min(1, "must name at least one hcloud SSH key, or new servers get a root password by mail"),
        adminCidrs: z.array(anyCidr).min(1, "must list at least one CIDR that may reach port 22"),
        /** Explicit opt-in for adminCidrs wider than a /8 (e.g. 0.0.0.0/0). */
        allowSshFromAnywhere: z.boolean().default(false),
    }),
    web: z.strictObject({
        name: hostname,
        importId: hcloudId("server").optional(),
        publicIp: ipv4.optional(),
        /** An adopted server's public SSH host key (issue 11 point 2); required with importId. */
        hostKey: sshHostKey.optional(),
        privateIp: ipv4,
        serverType: z.string().min(1),
        image: z.string().min(1),
        appHost: dnsName,
        /** Kamal's `proxy.app_port`: the port the app container listens on behind kamal-proxy. */
        appPort: z
            .number()
            .int("must be a whole port number, e.g. 80 (Kamal's proxy.app_port; Kamal's default is 80)")
            .min(1, "must be a port 1..65535, e.g. 80 (Kamal's proxy.app_port)")
            .max(65535, "must be a port 1..65535, e.g. 80 (Kamal's proxy.app_port)")
            .default(80),
        /**
         * How Kamal named this app: kamal-proxy routes by service name, and Kamal's is
         * `[service, role, destination].compact.join("-")` (basecamp/kamal
         * lib/kamal/configuration/role.rb `container_prefix`, used by
         * lib/kamal/commands/app/proxy.rb `deploy`). The same name makes the first rollout
         * replace Kamal's route instead of adding a second one for the same host.
         */
        kamal: z
            .strictObject({
                service: hostname.default("shred-day"),
                role: hostname.default("web"),
                destination: hostname.optional(),
            })
            .default({ service: "shred-day", role: "web" }),
        /** Clear env for the web role only (on top of app.env). */
        env: envMap.default({}),
    }),
    jobs: z.strictObject({
        serverType: z.string().min(1),
        image: z.string().min(1),
        concurrency: z
            .number()
            .int("must be a whole number from 1 to 16 (JOB_CONCURRENCY: worker processes per jobs host), e.g. 2")
            .min(1, "must be 1..16 (JOB_CONCURRENCY: worker processes per jobs host), e.g. 2")
            .max(16, "must be 1..16 (JOB_CONCURRENCY: worker processes per jobs host); for more, add a jobs host to jobs.hosts"),
        hosts: z
            .array(
                z.strictObject({
                    name: hostname,
                    privateIp: ipv4,
                    /** Adoption: the existing server's hcloud id (it, and its attachment to an adopted network, are imported). */
                    importId: hcloudId("server").optional(),
                    /** An adopted server's public IPv4: the check compares it with the server behind importId. */
                    publicIp: ipv4.optional(),
                    /** An adopted server's public SSH host key (issue 11 point 2); required with importId. */
                    hostKey: sshHostKey.optional(),
                }),
            )
            .min(1, "must list at least one jobs host: the web host runs no Solid Queue supervisor, so without one no job runs"),
        /** Clear env for the jobs role only (on top of app.env). */
        env: envMap.default({}),
        /**
         * Docker stop timeout of a jobs container, in seconds (i12-release). On TERM Solid Queue waits
         * config.solid_queue.shutdown_timeout (5 s by default) for running jobs, then releases them to
         * run again from the start; set shutdown_timeout a few seconds BELOW this value.
         */
        stopTimeout: z
            .number()
            .int("must be a whole number of seconds from 10 to 3600, e.g. 30")
            .min(10, "must be 10..3600 seconds, above the app's config.solid_queue.shutdown_timeout (5 s by default), e.g. 30")
            .max(3600, "must be 10..3600 seconds, e.g. 30")
            .default(30),
        /**
         * The app's Solid Queue heartbeat interval in seconds (config.solid_queue.process_heartbeat_interval,
         * 60 by default; rails/solid_queue lib/solid_queue.rb): the proof needs one heartbeat after boot, and
         * reads a host's clock offset from its last heartbeat. Set it to what the app sets.
         */
        heartbeatSeconds: z
            .number()
            .int("must be a whole number of seconds from 1 to 300, the app's config.solid_queue.process_heartbeat_interval (60 by default)")
            .min(1, "must be 1..300 seconds, the app's config.solid_queue.process_heartbeat_interval (60 by default)")
            .max(300, "must be 1..300 seconds: Solid Queue counts a process dead after process_alive_threshold (5 min), so a longer interval makes every process look dead")
            .default(60),
        /**
         * How long the release waits for every jobs host's new bin/jobs to boot and heartbeat before
         * `pulumi up` fails (the proof), in seconds; default 360 (a slow boot plus a 60 s heartbeat).
         */
        proofTimeout: z
            .number()
            .int("must be a whole number of seconds from 10 to 3600, e.g. 360")
            .min(10, "must be 10..3600 seconds, at least a boot plus jobs.heartbeatSeconds, e.g. 360")
            .max(3600, "must be 10..3600 seconds, e.g. 360")
            .default(360),
    }),
    postgres: z.strictObject({
        /** Any Postgres image (postgres, postgis/postgis, a mirror) whose tag starts with the major version. */
        image: imageRef("postgres:16", (ref) =>
            ref.tag !== undefined && /^[0-9]+([.\-_]|$)/.test(ref.tag)
                ? undefined
                : `its tag must start with the Postgres major version (the data directory's layout depends on it), e.g. postgres:16, postgis/postgis:16-3.4 or postgres:16@sha256:<digest>`,
        ),
        /** No default: where the cluster lives on the web host (for adoptFrom: the old accessory's data, checked against it). */
        dataDir: absolutePath,
        /** Kamal's accessory container whose data is taken over (stopped, then ours starts on the same data). */
        adoptFrom: containerName.optional(),
        /** Only for a brand-new, empty cluster; refused while another Postgres container or cluster exists on the host. */
        initialize: z.boolean().default(false),
        /** Rollback of a takeover: stop ours, start adoptFrom again on the same data, and forget our container. */
        handBack: z.boolean().default(false),
        user: identifier,
        /** The app's own role, without superuser rights, owning the databases (issue 11 point 7); default USER_app. */
        appUser: identifier.optional(),
        databases: z.array(identifier).min(1, "must list the app's databases, such as shred_day_production and shred_day_production_queue"),
        /**
         * Postgres' max_connections. Set explicitly (default 200), never derived: a change restarts the
         * Postgres container, so only an edit of this key may cause one, never a concurrency or host change.
         */
        maxConnections: z
            .number()
            .int(`must be a whole number from ${DEFAULT_MAX_CONNECTIONS} to ${MAX_SETTING}, e.g. 200`)
            .min(DEFAULT_MAX_CONNECTIONS, `must be ${DEFAULT_MAX_CONNECTIONS}..${MAX_SETTING} (Postgres' default is ${DEFAULT_MAX_CONNECTIONS}), e.g. 200`)
            .max(MAX_SETTING, `must be ${DEFAULT_MAX_CONNECTIONS}..${MAX_SETTING}: past that, put a pooler such as PgBouncer in front of Postgres`)
            .default(MAX_CONNECTIONS_SETTING_DEFAULT),
    }),
    app: z.strictObject({
        image: imageRef("ghcr.io/owner/shred-day:abc123 or ghcr.io/owner/shred-day@sha256:<digest>"),
        registry: z
            .strictObject({
                server: argWord("the registry host", "ghcr.io or registry.example.com:5000").refine(isRegistryHost, "must be a registry host with an optional port, such as ghcr.io or registry.example.com:5000"),
                username: argWord("the registry user", "shred-day-bot"),
            })
            .optional(),
        env: envMap.default({}),
        activeStorageService: z.string().min(1),
        proxyImage: imageRef("basecamp/kamal-proxy:v0.9.0").default("basecamp/kamal-proxy:v0.9.0"),
        /** How many images of app.image's repository each host keeps (for rollback without a pull). */
        keepImages: z
            .number()
            .int("must be a whole number from 2 to 20, e.g. 3")
            .min(2, "must be 2..20: the running image and at least one to roll back to without a pull")
            .max(20, "must be 2..20, e.g. 3")
            .default(3),
    }),
    /** Adoption of existing firewalls by hcloud id (`hcloud firewall list`); where none is given, one is created. */
    firewalls: z
        .strictObject({
            web: z.strictObject({ importId: hcloudId("firewall") }).optional(),
            jobs: z.strictObject({ importId: hcloudId("firewall") }).optional(),
        })
        .default({}),
    postgresPassword: z.string().min(16, "must be at least 16 characters"),
    registryPassword: z.string().min(1).optional(),
    appSecrets: z.record(envName, oneLine.min(1)),
    sshPrivateKey: z.string().includes("PRIVATE KEY", { message: "must be a PEM/OpenSSH private key" }).optional(),
});

export type RawConfig = z.input<typeof schema>;
type Parsed = z.output<typeof schema>;

export interface JobsHost {
    name: string;
    privateIp: string;
    /** hcloud id of an existing server to adopt; undefined creates one. */
    importId?: string;
    /** The adopted server's public IPv4 (required with importId). */
    publicIp?: string;
    /** The adopted server's public SSH host key (required with importId). */
    hostKey?: string;
}

export interface Secrets {
    postgresPassword: string;
    registryPassword?: string;
    appSecrets: Record<string, string>;
    sshPrivateKey?: string;
}

export interface StackConfig {
    location: string;
    network: Parsed["network"] & { gateway: string };
    ssh: Parsed["ssh"];
    web: Parsed["web"] & {
        /** The kamal-proxy service name Kamal used for this app (see web.kamal). */
        proxyService: string;
    };
    jobs: Omit<Parsed["jobs"], "hosts"> & { hosts: JobsHost[] };
    postgres: Parsed["postgres"] & {
        /** The app's role (postgres.appUser, default `${user}_app`): what the app's URLs use. */
        appUser: string;
        /** Major version of postgres.image, e.g. 16. */
        major: number;
        /** Where the image expects its data: /var/lib/postgresql/data before 18, /var/lib/postgresql from 18. */
        mountPath: string;
        port: number;
        /** postgres.maxConnections, checked against connectionBudget (components/postgresConnections.ts). */
        maxConnections: number;
        /** How that number was reached. */
        connections: string;
        /** Which of `databases` each Rails database config uses. */
        roles: { primary: string; queue: string; cache?: string; cable?: string };
    };
    app: Parsed["app"];
    firewalls: Parsed["firewalls"];
    /** Plain values: wrap with pulumi.secret() at once (the ShredDay component does). */
    secrets: Secrets;
    /** Accepted but worth saying (pulumi up logs them; the plan prints them). */
    warnings: string[];
}

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`The stack config has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

function keyOf(path: PropertyKey[]): string {
    let key = `${NAMESPACE}:${String(path[0])}`;
    for (const part of path.slice(1)) {
        key += typeof part === "number" ? `[${part}]` : `.${String(part)}`;
    }
    return key;
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
    let v: any = raw;
    for (const part of path) {
        if (v === null || typeof v !== "object") return undefined;
        v = v[part as any];
    }
    return v;
}

function show(value: unknown, secret: boolean): string {
    if (value === undefined) return "missing";
    if (secret) return "[secret]";
    return JSON.stringify(value);
}

function secretHint(key: string): string {
    switch (key) {
        case "postgresPassword":
            return `set it with \`pulumi config set --secret ${NAMESPACE}:postgresPassword\` (for an existing cluster, the password the app uses today)`;
        case "appSecrets":
            return `set each with \`pulumi config set --secret --path ${NAMESPACE}:appSecrets.RAILS_MASTER_KEY\``;
        case "registryPassword":
            return `set it with \`pulumi config set --secret ${NAMESPACE}:registryPassword\` (a token that can pull app.image)`;
        default:
            return `set it with \`pulumi config set --secret ${NAMESPACE}:${key}\``;
    }
}

/** The settings an object of the schema takes at `path` (for "did you mean" in a typo's message). */
function keysAt(path: PropertyKey[]): string[] {
    let t: z.ZodType = schema;
    const unwrap = () => {
        while (t instanceof z.ZodOptional || t instanceof z.ZodDefault) t = t.unwrap() as z.ZodType;
    };
    for (const p of path) {
        unwrap();
        if (t instanceof z.ZodArray) t = t.element as z.ZodType;
        else if (t instanceof z.ZodObject) t = t.shape[String(p)];
        else return [];
    }
    unwrap();
    return t instanceof z.ZodObject ? Object.keys(t.shape) : [];
}

/** Fixes for a key left empty (`importId:` with nothing after it is null in YAML). */
const EMPTY_FIXES: Record<string, string> = {
    "web.importId": "give the id of the existing web server (`hcloud server list -o columns=id,name,ipv4`), or remove the line to create a new web server",
    "web.publicIp": "give the web server's public IPv4 address, e.g. 91.99.62.190, or remove the line",
    "app.registry": "give `server` and `username` under it, or remove it for a public image",
};

/** The message for one schema issue: the key, the value (never a secret) and the fix. */
function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string[] {
    const isSecret = (SECRET_KEYS as readonly string[]).includes(String(issue.path[0]));
    if (issue.code === "unrecognized_keys") {
        return issue.keys.map((k) => {
            const here = keysAt(issue.path);
            const hint = here.length > 0 ? ` or use one of: ${here.join(", ")}` : "";
            return `${keyOf([...issue.path, k])} is not a setting of this program (a typo?); remove it${hint}`;
        });
    }
    if (issue.code === "invalid_key") {
        // A record key: env names (web.env.web_concurrency) and appSecrets names.
        const name = String(issue.path[issue.path.length - 1]);
        const parent = keyOf(issue.path.slice(0, -1));
        const fixed = name.toUpperCase().replace(/[^A-Z0-9_]/g, "_").replace(/^([0-9])/, "_$1");
        const setCmd = isSecret ? `pulumi config set --secret --path ${parent}.${fixed}` : `pulumi config set --path ${parent}.${fixed} <value>`;
        return [
            `${keyOf(issue.path)}: ${JSON.stringify(name)} is not an environment variable name: names are UPPER_CASE (A-Z, 0-9, _), as Rails reads them; rename it to ${fixed} (\`pulumi config rm --path ${keyOf(issue.path)}\`, then \`${setCmd}\`)`,
        ];
    }
    const value = valueAt(raw, issue.path);
    const dotted = keyOf(issue.path).slice(NAMESPACE.length + 1);
    if (value === null) {
        return [`${keyOf(issue.path)} is empty (the key is there with no value); ${EMPTY_FIXES[dotted] ?? "give it a value, or remove the line"}`];
    }
    const fix = value === undefined && isSecret && issue.path.length === 1 ? `; ${secretHint(String(issue.path[0]))}` : "";
    const message = value === undefined ? "is required" : issue.message;
    return [`${keyOf(issue.path)} = ${show(value, isSecret)}: ${message}${fix}`];
}

/**
 * Validate raw config values (keys without the `shred-day:` prefix) and derive what the
 * components need. Pure: throws ConfigError listing every problem, or returns the config.
 * `storageProblems` are problems found where the values are stored (plainTextSecrets,
 * namespaceTypos): they are reported with the rest, all at once.
 */
export function parseConfig(raw: Record<string, unknown>, storageProblems: string[] = []): StackConfig {
    const problems: string[] = [...storageProblems];
    const known = Object.keys(schema.shape);
    for (const key of Object.keys(raw)) {
        if (!known.includes(key)) {
            problems.push(`${NAMESPACE}:${key} is not a setting of this program (a typo?); remove it or use one of: ${known.join(", ")}`);
        }
    }
    // Checks on env names run on the raw values, so their explanation comes at the first try
    // even when another value is wrong too.
    problems.push(...envProblems(raw));
    const result = schema.safeParse(Object.fromEntries(Object.entries(raw).filter(([k]) => known.includes(k))));
    if (!result.success) {
        for (const issue of result.error.issues) problems.push(...describeIssue(issue, raw));
        throw new ConfigError(problems);
    }
    return derive(result.data, problems);
}

/** Env maps as written: [where, name, value]. */
function rawEnvEntries(raw: Record<string, unknown>): [string, string, unknown][] {
    const out: [string, string, unknown][] = [];
    for (const where of ["app.env", "web.env", "jobs.env"]) {
        const env = valueAt(raw, where.split("."));
        if (env === null || typeof env !== "object" || Array.isArray(env)) continue;
        for (const [name, value] of Object.entries(env)) out.push([where, name, value]);
    }
    return out;
}

/** The web role must never start a Solid Queue supervisor; the program owns some names. */
function envProblems(raw: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const k = (key: string) => `${NAMESPACE}:${key}`;
    const appSecrets = raw.appSecrets !== null && typeof raw.appSecrets === "object" && !Array.isArray(raw.appSecrets) ? Object.keys(raw.appSecrets) : [];
    for (const [where, name, value] of rawEnvEntries(raw)) {
        if (name === "SOLID_QUEUE_IN_PUMA") {
            problems.push(`${k(`${where}.SOLID_QUEUE_IN_PUMA`)} = ${JSON.stringify(value)}: any value (even "false") starts Solid Queue inside Puma on the web host; remove it, jobs run on the jobs hosts`);
        } else if (PROGRAM_OWNED_ENV.includes(name)) {
            problems.push(`${k(`${where}.${name}`)} = ${JSON.stringify(value)}: the program sets ${name} itself; remove it (use jobs.concurrency for JOB_CONCURRENCY)`);
        } else if (appSecrets.includes(name)) {
            problems.push(`${k(`${where}.${name}`)}: also set in appSecrets; keep it in one place (appSecrets if it is secret)`);
        }
    }
    for (const name of appSecrets) {
        if (name === "SOLID_QUEUE_IN_PUMA" || PROGRAM_OWNED_ENV.includes(name)) {
            problems.push(`${k(`appSecrets.${name}`)} = [secret]: the program sets ${name} itself (or it must not be set at all); remove it with \`pulumi config rm --path ${k(`appSecrets.${name}`)}\``);
        }
    }
    return problems;
}

/**
 * Secrets stored as plain text: `isEncrypted(key, value)` says whether the value at a dotted key
 * is stored encrypted (`secure:` in the stack file; a secret key for the engine). Every secret
 * key is checked, and each `appSecrets` entry on its own.
 */
export function plainTextSecrets(raw: Record<string, unknown>, isEncrypted: (key: string, value: unknown) => boolean): string[] {
    const problems: string[] = [];
    const plain = (key: string, setWith: string) =>
        problems.push(
            `${NAMESPACE}:${key} is written in plain text in the stack file (anyone who can read the repository can read it, and Pulumi does not treat it as a secret); remove it with \`pulumi config rm${key.includes(".") ? " --path" : ""} ${NAMESPACE}:${key}\` and set it encrypted with \`${setWith}\`, then change the value if the file was ever committed`,
        );
    for (const key of SECRET_KEYS) {
        const value = raw[key];
        if (value === undefined || value === null) continue;
        if (key === "appSecrets" && typeof value === "object" && !Array.isArray(value) && !isEncrypted(key, value)) {
            for (const [name, v] of Object.entries(value)) {
                if (!isEncrypted(`appSecrets.${name}`, v)) plain(`appSecrets.${name}`, `pulumi config set --secret --path ${NAMESPACE}:appSecrets.${name}`);
            }
        } else if (!isEncrypted(key, value)) {
            plain(key, key === "sshPrivateKey" ? `pulumi config set --secret ${NAMESPACE}:sshPrivateKey < ~/.ssh/shred-day-deploy` : `pulumi config set --secret ${NAMESPACE}:${key}`);
        }
    }
    return problems;
}

/** Edit distance, for names that are nearly ours. */
function distance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    return d[a.length][b.length];
}

/**
 * Keys under a namespace that is nearly this program's (`shredday:jobs`, `shred_day:app`): they
 * are never read, so the program would only say `shred-day:jobs = missing`. Full keys in, problems out.
 */
export function namespaceTypos(fullKeys: string[]): string[] {
    const problems: string[] = [];
    const settings = Object.keys(schema.shape);
    for (const full of fullKeys) {
        const colon = full.indexOf(":");
        if (colon < 0) continue;
        const ns = full.slice(0, colon);
        const key = full.slice(colon + 1);
        if (ns === NAMESPACE) continue;
        const near = ns.toLowerCase().replace(/[^a-z0-9]/g, "") === NAMESPACE.replace(/[^a-z0-9]/g, "") || distance(ns.toLowerCase(), NAMESPACE) <= 2;
        if (!near) continue;
        const top = key.split(/[.[]/)[0];
        const what = settings.includes(top) ? `it is this program's ${top} setting` : "it looks like a setting of this program";
        problems.push(`${full} is never read: the namespace is "${ns}", but this program reads "${NAMESPACE}:" (${what}); rename the key to ${NAMESPACE}:${key}`);
    }
    return problems;
}

/** kamal-proxy's minimum version in Kamal 2 (basecamp/kamal lib/kamal/configuration/proxy/boot.rb, MINIMUM_VERSION). */
export const KAMAL_PROXY_MINIMUM = [0, 9, 0] as const;

function versionBelow(v: number[], min: readonly number[]): boolean {
    for (let i = 0; i < min.length; i++) if (v[i] !== min[i]) return v[i] < min[i];
    return false;
}

/** The checks that span several keys, then the derived values. */
function derive(c: Parsed, earlier: string[] = []): StackConfig {
    const problems: string[] = [...earlier];
    const warnings: string[] = [];
    const k = (key: string) => `${NAMESPACE}:${key}`;

    // Location and zone.
    const zone = LOCATION_ZONES[c.location];
    if (zone !== c.network.zone) {
        problems.push(`${k("network.zone")} = ${JSON.stringify(c.network.zone)}: location ${c.location} is in network zone ${zone}; set network.zone to ${JSON.stringify(zone)}`);
    }

    // Network and subnet.
    const net = ipaddr.IPv4.parseCIDR(c.network.ipRange);
    const sub = ipaddr.IPv4.parseCIDR(c.network.subnetRange);
    const netAddress = ipaddr.IPv4.networkAddressFromCIDR(c.network.ipRange).toString();
    const subAddress = ipaddr.IPv4.networkAddressFromCIDR(c.network.subnetRange).toString();
    if (netAddress !== net[0].toString()) {
        problems.push(`${k("network.ipRange")} = ${JSON.stringify(c.network.ipRange)}: not a network address; use ${netAddress}/${net[1]}`);
    }
    if (net[0].range() !== "private") {
        problems.push(`${k("network.ipRange")} = ${JSON.stringify(c.network.ipRange)}: must be a private range (RFC 1918), such as 10.0.0.0/16`);
    }
    if (subAddress !== sub[0].toString()) {
        problems.push(`${k("network.subnetRange")} = ${JSON.stringify(c.network.subnetRange)}: not a network address; use ${subAddress}/${sub[1]}`);
    }
    if (!sub[0].match(net) || sub[1] < net[1]) {
        problems.push(`${k("network.subnetRange")} = ${JSON.stringify(c.network.subnetRange)}: not inside network.ipRange ${c.network.ipRange}; pick a subnet within it, such as ${netAddress}/24`);
    }
    const gatewayBytes = ipaddr.IPv4.networkAddressFromCIDR(c.network.subnetRange).toByteArray();
    gatewayBytes[3] += 1;
    const gateway = ipaddr.fromByteArray(gatewayBytes).toString();
    const broadcast = ipaddr.IPv4.broadcastAddressFromCIDR(c.network.subnetRange).toString();

    // Host addresses: inside the subnet, not reserved, each used once.
    const hosts: { key: string; name: string; ip: string }[] = [
        { key: "web.privateIp", name: c.web.name, ip: c.web.privateIp },
        ...c.jobs.hosts.map((h, i) => ({ key: `jobs.hosts[${i}].privateIp`, name: h.name, ip: h.privateIp })),
    ];
    const seenIps = new Map<string, string>();
    for (const h of hosts) {
        const addr = ipaddr.IPv4.parse(h.ip);
        if (!addr.match(sub)) {
            problems.push(`${k(h.key)} = ${JSON.stringify(h.ip)}: outside the subnet ${c.network.subnetRange}; use a free address inside it`);
        } else if (h.ip === gateway) {
            problems.push(`${k(h.key)} = ${JSON.stringify(h.ip)}: that is the subnet's gateway (its first address); use another address, such as ${ipaddr.fromByteArray([...gatewayBytes.slice(0, 3), gatewayBytes[3] + 1]).toString()} or higher`);
        } else if (h.ip === subAddress || h.ip === broadcast) {
            problems.push(`${k(h.key)} = ${JSON.stringify(h.ip)}: the subnet's ${h.ip === subAddress ? "network" : "broadcast"} address cannot be a host; use an address between them`);
        }
        const other = seenIps.get(h.ip);
        if (other !== undefined) {
            problems.push(`${k(h.key)} = ${JSON.stringify(h.ip)}: already used by ${other}; give every host its own private IP`);
        } else {
            seenIps.set(h.ip, h.name);
        }
    }
    const seenNames = new Map<string, string>([[c.web.name, "web.name"]]);
    c.jobs.hosts.forEach((h, i) => {
        const other = seenNames.get(h.name);
        if (other !== undefined) {
            problems.push(`${k(`jobs.hosts[${i}].name`)} = ${JSON.stringify(h.name)}: already used by ${other}; server names must be unique`);
        } else {
            seenNames.set(h.name, `jobs.hosts[${i}].name`);
        }
    });

    // Who may reach SSH.
    c.ssh.adminCidrs.forEach((cidr, i) => {
        const [addr, bits] = ipaddr.parseCIDR(cidr);
        const network = addr.kind() === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
        if (network.toString() !== addr.toString()) {
            const single = addr.kind() === "ipv4" ? "32" : "128";
            problems.push(`${k(`ssh.adminCidrs[${i}]`)} = ${JSON.stringify(cidr)}: has host bits set (the firewall would open the whole ${network.toString()}/${bits}, not just ${addr.toString()}); write the network as ${network.toString()}/${bits}, or ${addr.toString()}/${single} for that one address`);
        }
        const tooWide = addr.kind() === "ipv4" ? bits < 8 : bits < 16;
        if (tooWide && !c.ssh.allowSshFromAnywhere) {
            problems.push(`${k(`ssh.adminCidrs[${i}]`)} = ${JSON.stringify(cidr)}: opens SSH to (nearly) the whole internet; list your admin addresses (e.g. 203.0.113.7/32), or set ssh.allowSshFromAnywhere: true if you really mean it`);
        }
    });

    // Web host: an adopted server must say where it is.
    // Adopted servers: their host keys come from the config, never from first sight (issue 11 point 2).
    const hostKeyFix = (host: string, ip: string | undefined) =>
        `read it from the server's console (Hetzner Cloud Console, the server, Console: \`cat /etc/ssh/ssh_host_ed25519_key.pub\`), or with \`ssh-keyscan -t ed25519 ${ip ?? "<public ip>"}\` from a trusted network and compare its fingerprint (\`ssh-keygen -lf\`) with the console's; then set it (docs/runbook-from-kamal.md, "Host keys")`;
    if (c.web.importId !== undefined && c.web.hostKey === undefined) {
        problems.push(`${k("web.hostKey")} = missing: an adopted web server (web.importId set) needs its public SSH host key, or the program would trust whoever answers on ${c.web.publicIp ?? "its address"}; ${hostKeyFix(c.web.name, c.web.publicIp)}`);
    }
    c.jobs.hosts.forEach((h, i) => {
        if (h.importId !== undefined && h.hostKey === undefined) {
            problems.push(`${k(`jobs.hosts[${i}].hostKey`)} = missing: an adopted jobs server (jobs.hosts[${i}].importId set) needs its public SSH host key, or the program would trust whoever answers on ${h.publicIp ?? "its address"}; ${hostKeyFix(h.name, h.publicIp)}`);
        }
    });
    if (c.web.importId !== undefined && c.web.publicIp === undefined) {
        problems.push(`${k("web.publicIp")} = missing: an adopted web server (web.importId set) needs its public IP, e.g. 91.99.62.190`);
    }

    // Adoption: the ids of existing objects, and how the Postgres data is found.
    c.jobs.hosts.forEach((h, i) => {
        if (h.importId !== undefined && h.publicIp === undefined) {
            problems.push(`${k(`jobs.hosts[${i}].publicIp`)} = missing: an adopted jobs server (jobs.hosts[${i}].importId set) needs its public IP, so the program can check that the id is this host (\`hcloud server list -o columns=id,name,ipv4\`)`);
        }
    });
    c.jobs.hosts.forEach((h, i) => {
        if (h.importId !== undefined && h.importId === c.web.importId) {
            problems.push(`${k(`jobs.hosts[${i}].importId`)} = ${JSON.stringify(h.importId)}: that is web.importId too; each adopted server is one host, give each its own hcloud id (\`hcloud server list -o columns=id,name,ipv4\`)`);
        }
        const other = c.jobs.hosts.findIndex((o) => o.importId !== undefined && o.importId === h.importId);
        if (h.importId !== undefined && other !== i) {
            problems.push(`${k(`jobs.hosts[${i}].importId`)} = ${JSON.stringify(h.importId)}: already used by jobs.hosts[${other}]; each adopted server is one host`);
        }
    });
    if (c.firewalls.web !== undefined && c.firewalls.web.importId === c.firewalls.jobs?.importId) {
        problems.push(`${k("firewalls.jobs.importId")} = ${JSON.stringify(c.firewalls.jobs!.importId)}: that is firewalls.web.importId too; the web firewall opens 80/443, the jobs firewall must not: adopt a firewall for one role only, and let the program create the other`);
    }
    if (c.postgres.adoptFrom !== undefined && c.postgres.initialize) {
        problems.push(`${k("postgres.initialize")} = true: postgres.adoptFrom = ${JSON.stringify(c.postgres.adoptFrom)} takes over an existing cluster, which is never initialised; remove postgres.initialize (it is only for a brand-new, empty cluster)`);
    }
    if (c.postgres.handBack && c.postgres.adoptFrom === undefined) {
        problems.push(`${k("postgres.handBack")} = true: a hand back returns the data to the container named in postgres.adoptFrom, which is not set; set postgres.adoptFrom to the old accessory's container name, or remove postgres.handBack`);
    }
    if (c.postgres.handBack && c.web.importId === undefined) {
        problems.push(`${k("postgres.handBack")} = true: only a web server adopted from Kamal (web.importId) has an old accessory to hand back to; remove postgres.handBack`);
    }

    // App environment (the env names were checked on the raw values: envProblems).
    const secretNames = Object.keys(c.appSecrets);
    if (!secretNames.includes("RAILS_MASTER_KEY")) {
        problems.push(`${k("appSecrets.RAILS_MASTER_KEY")} = missing: Rails needs it to read its credentials; ${secretHint("appSecrets")}`);
    }
    if (c.app.activeStorageService === "local") {
        problems.push(`${k("app.activeStorageService")} = "local": jobs on the jobs hosts cannot read files on the web host's disk (FileNotFoundError in variant jobs); use a shared S3-compatible service such as Hetzner Object Storage`);
    }
    if (c.app.registry !== undefined && c.registryPassword === undefined) {
        problems.push(`${k("registryPassword")} = missing: app.registry is set; ${secretHint("registryPassword")}`);
    }

    // The app's Postgres role has no superuser rights: it cannot be the superuser itself.
    if (c.postgres.appUser !== undefined && c.postgres.appUser === c.postgres.user) {
        problems.push(`${k("postgres.appUser")} = ${JSON.stringify(c.postgres.appUser)}: the same role as postgres.user, the superuser the program keeps for its own steps; give the app its own role, e.g. ${JSON.stringify(`${c.postgres.user}_app`)} (or remove the key for that default)`);
    }

    // Postgres databases: one each for the Rails database configs.
    const dbs = c.postgres.databases;
    dbs.forEach((db, i) => {
        if (dbs.indexOf(db) !== i) {
            problems.push(`${k(`postgres.databases[${i}]`)} = ${JSON.stringify(db)}: listed twice; list each database once`);
        }
    });
    const primary = dbs[0];
    const queue = dbs.find((d) => d.endsWith("_queue"));
    if (queue === undefined) {
        problems.push(`${k("postgres.databases")} = ${JSON.stringify(dbs)}: no queue database; add ${primary}_queue (Solid Queue's tables live there)`);
    }
    if (primary.endsWith("_queue") || primary.endsWith("_cache") || primary.endsWith("_cable")) {
        problems.push(`${k("postgres.databases[0]")} = ${JSON.stringify(primary)}: the first database is the primary one; put it first`);
    }
    // Without a _cache (or _cable) database the app gets no CACHE_DATABASE_URL (CABLE_DATABASE_URL):
    // allowed (an app may keep its cache elsewhere), but said, because Rails 8's default
    // production.rb (solid_cache_store, solid_cable) then fails at boot.
    for (const [suffix, url, gem] of [
        ["_cache", "CACHE_DATABASE_URL", "Solid Cache (config.cache_store = :solid_cache_store)"],
        ["_cable", "CABLE_DATABASE_URL", "Solid Cable (config/cable.yml adapter: solid_cable)"],
    ]) {
        if (!dbs.some((d) => d.endsWith(suffix))) {
            warnings.push(
                `${k("postgres.databases")} has no ${suffix} database, so the app gets no ${url}: if the app uses ${gem}, it cannot connect; add ${primary}${suffix} back (the program creates it), or keep it out only if the app does not use it`,
            );
        }
    }

    // kamal-proxy no older than what Kamal itself runs (i12-release, issue 12.10): MINIMUM_VERSION in
    // basecamp/kamal lib/kamal/configuration/proxy/boot.rb (and proxy/run.rb) is "v0.9.0".
    const proxyTag = /(^|\/)kamal-proxy:v(\d+)\.(\d+)\.(\d+)$/.exec(c.app.proxyImage);
    if (proxyTag !== null && versionBelow([Number(proxyTag[2]), Number(proxyTag[3]), Number(proxyTag[4])], KAMAL_PROXY_MINIMUM)) {
        problems.push(`${k("app.proxyImage")} = ${JSON.stringify(c.app.proxyImage)}: older than kamal-proxy v${KAMAL_PROXY_MINIMUM.join(".")}, the minimum Kamal itself runs; use basecamp/kamal-proxy:v${KAMAL_PROXY_MINIMUM.join(".")} or newer`);
    }

    // Postgres connections a release can open (i12-release, issue 12.8): max_connections is set from it.
    const webEnv = { ...c.app.env, ...c.web.env };
    const webConcurrency = envCount(webEnv.WEB_CONCURRENCY, 1);
    const webThreads = envCount(webEnv.RAILS_MAX_THREADS, 3);
    for (const [name, v] of [["WEB_CONCURRENCY", webConcurrency], ["RAILS_MAX_THREADS", webThreads]] as const) {
        if (Number.isNaN(v)) {
            const where = c.web.env[name] !== undefined ? "web.env" : "app.env";
            problems.push(`${k(`${where}.${name}`)} = ${JSON.stringify(webEnv[name])}: must be a whole number from 1 to 9999 (Postgres connections are counted from it), e.g. 2`);
        }
    }
    const budget = connectionBudget({ jobsHosts: c.jobs.hosts.length, jobConcurrency: c.jobs.concurrency, webConcurrency, webThreads, databases: dbs.length });
    if (!Number.isNaN(budget.needed) && budget.setting > MAX_SETTING) {
        problems.push(`${k("jobs")}: this release needs ${budget.needed} Postgres connections (${budget.explain}), which would need max_connections above ${MAX_SETTING}; lower jobs.concurrency, WEB_CONCURRENCY or RAILS_MAX_THREADS, or use fewer jobs hosts`);
    } else if (!Number.isNaN(budget.needed) && budget.needed > c.postgres.maxConnections) {
        problems.push(
            `${k("postgres.maxConnections")} = ${c.postgres.maxConnections}: a release of this config can open ${budget.needed} Postgres connections (${budget.explain}); ` +
                `set it to ${budget.setting} (\`pulumi config set --path ${NAMESPACE}:postgres.maxConnections ${budget.setting}\`: the next up restarts the Postgres container once, a short database outage), ` +
                `or lower jobs.concurrency, WEB_CONCURRENCY or RAILS_MAX_THREADS, or use fewer jobs hosts`,
        );
    }

    if (c.jobs.proofTimeout < 2 * c.jobs.heartbeatSeconds + 5) {
        problems.push(
            `${k("jobs.proofTimeout")} = ${c.jobs.proofTimeout}: the proof needs a boot plus a heartbeat of every new bin/jobs (jobs.heartbeatSeconds = ${c.jobs.heartbeatSeconds}), ` +
                `so it would fail a healthy release; set it to at least ${2 * c.jobs.heartbeatSeconds + 5} (default 360)`,
        );
    }

    if (problems.length > 0) throw new ConfigError(problems);

    const pgRef = parseImageReference(c.postgres.image);
    const major = Number(/^[0-9]+/.exec("error" in pgRef ? "" : pgRef.tag ?? "")![0]);
    const { postgresPassword, registryPassword, appSecrets, sshPrivateKey, ...values } = c;
    return {
        ...values,
        web: { ...c.web, proxyService: kamalProxyService(c.web.kamal) },
        network: { ...c.network, gateway },
        postgres: {
            ...c.postgres,
            appUser: c.postgres.appUser ?? `${c.postgres.user}_app`,
            major,
            mountPath: major >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data",
            port: 5432,
            maxConnections: c.postgres.maxConnections,
            connections: budget.explain,
            roles: {
                primary,
                queue: queue!,
                cache: dbs.find((d) => d.endsWith("_cache")),
                cable: dbs.find((d) => d.endsWith("_cable")),
            },
        },
        secrets: { postgresPassword, registryPassword, appSecrets, sshPrivateKey },
        warnings,
    };
}

/**
 * The kamal-proxy service name Kamal gives a role: `[service, role, destination].compact.join("-")`
 * (basecamp/kamal lib/kamal/configuration/role.rb `container_prefix`; lib/kamal/commands/app/proxy.rb
 * deploys with it), e.g. shred-day-web, or shred-day-web-production with `-d production`.
 */
export function kamalProxyService(kamal: { service: string; role: string; destination?: string }): string {
    return [kamal.service, kamal.role, kamal.destination].filter((p) => p !== undefined && p !== "").join("-");
}

/**
 * Turn the flat `namespace:key -> string` map the Pulumi engine gives (objects arrive as
 * JSON text) into raw values of this program's namespace. Keys of other namespaces
 * (hcloud:token, ...) are left to their providers.
 */
export function rawFromEngineConfig(all: Record<string, string>): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
        const key = fullKey.slice(NAMESPACE.length + 1);
        raw[key] = decode(text);
    }
    return raw;
}

function decode(text: string): unknown {
    const t = text.trim();
    if (t.startsWith("{") || t.startsWith("[") || t === "true" || t === "false") {
        try {
            return JSON.parse(t);
        } catch {
            return text;
        }
    }
    return text;
}

/** Values in a stack file that a person must still fill in start with this. */
export const PLACEHOLDER = "CHANGE-ME";

/**
 * Whether the engine holds a config key as a secret (`secure:` in the stack file; for an object
 * set with `--path`, any encrypted leaf marks the whole key). The engine passes the list as
 * PULUMI_CONFIG_SECRET_KEYS; @pulumi/pulumi reads it in runtime/config.js isConfigSecret (not in
 * its typings, hence the cast). Without it (an old SDK) nothing can be told, and nothing is refused.
 */
function engineSecretKey(fullKey: string): boolean | undefined {
    const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
    return isConfigSecret === undefined ? undefined : isConfigSecret(fullKey);
}

/** Read and validate this stack's config from the Pulumi engine. */
export function loadConfig(): StackConfig {
    const all = pulumi.runtime.allConfig();
    const raw = rawFromEngineConfig(all);
    const storage = [
        ...namespaceTypos(Object.keys(all)),
        ...plainTextSecrets(raw, (key) => engineSecretKey(`${NAMESPACE}:${key.split(".")[0]}`) ?? true),
    ];
    const config = parseConfig(raw, storage);
    for (const w of config.warnings) pulumi.log.warn(w);
    // A preview dials no host (remote commands run on `up` only): it needs no key (issue 11 point 3).
    if (config.secrets.sshPrivateKey === undefined && !process.env.SSH_AUTH_SOCK && !pulumi.runtime.isDryRun()) {
        throw new ConfigError([
            `${NAMESPACE}:sshPrivateKey = missing and SSH_AUTH_SOCK is not set: remote steps need a key; start an ssh-agent with the deploy key (\`eval $(ssh-agent) && ssh-add\`), or \`pulumi config set --secret ${NAMESPACE}:sshPrivateKey < ~/.ssh/id_ed25519\``,
        ]);
    }
    return config;
}
