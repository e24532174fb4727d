/**
 * The guardrails of the shred-day stack, as pure functions over a small resource shape.
 *
 * The same functions run in the CrossGuard pack (policy/policies.ts adapts them to
 * @pulumi/policy) and in plain jest tests (tests/unit/policy.test.ts feeds them the resources
 * the real program registers on mocks). Nothing here imports the program: the checks are an
 * independent reading of what the program asks for, so a bug in the program's own helpers
 * (e.g. its firewall port arithmetic) cannot hide in both places.
 *
 * What the engine hands a policy pack, and so what these functions may rely on:
 * - `props`: a resource's inputs (resource checks) or outputs (stack checks), secrets already
 *   decrypted to plain values WITHOUT any mark saying they were secret. Secret detection is
 *   therefore by pattern and by value (a value sent as a secret somewhere is a secret
 *   everywhere), never by a secret flag. Messages never quote a value.
 * - during `pulumi preview`, values that depend on resources not yet created are unknown;
 *   reading one through the pack's proxy throws. `plain()` turns them into UNKNOWN.
 * - `opts`: protect, ignoreChanges, deleteBeforeReplace, parent. NOT `import`: an adopted
 *   server is recognised by the program's adoption signature, `ignoreChanges` holding `sshKeys`.
 * - stack checks also get `dependencies` and `propertyDependencies` (which resources an input
 *   was computed from). That is how a FirewallAttachment is tied to its server during a preview
 *   in which no id is known yet.
 */
import ipaddr from "ipaddr.js";

// ---------------------------------------------------------------------------------------------
// The shape
// ---------------------------------------------------------------------------------------------

/** The part of @pulumi/policy's PolicyResource / ResourceValidationArgs these rules read. */
export interface PolicyResourceLike {
    type: string;
    name: string;
    urn?: string;
    props: Record<string, any>;
    opts: { protect: boolean; ignoreChanges: string[]; deleteBeforeReplace?: boolean; parent?: string };
    /** Stack checks only. */
    dependencies?: PolicyResourceLike[];
    /** Stack checks only: input name -> the resources its value was computed from. */
    propertyDependencies?: Record<string, PolicyResourceLike[]>;
    provider?: { type: string; name: string; props: Record<string, any> };
}

/** Pack configuration (`--policy-pack-config`), see docs/review-and-preview.md. */
export interface GuardrailConfig {
    /** The stack's `ssh.adminCidrs`. When set, every SSH source must lie inside one of them. */
    adminCidrs?: string[];
    /** The stack's `ssh.allowSshFromAnywhere`: the explicit opt-in for SSH from (nearly) anywhere. */
    allowSshFromAnywhere?: boolean;
}

export interface StackViolation {
    message: string;
    /** The resource in violation (its URN in the real pack). */
    urn?: string;
    name?: string;
}

export const TYPES = {
    server: "hcloud:index/server:Server",
    firewall: "hcloud:index/firewall:Firewall",
    firewallAttachment: "hcloud:index/firewallAttachment:FirewallAttachment",
    container: "docker:index/container:Container",
    remoteCommand: "command:remote:Command",
    localCommand: "command:local:Command",
} as const;

// ---------------------------------------------------------------------------------------------
// Plain data, unknowns
// ---------------------------------------------------------------------------------------------

/** A value that is not known yet (during `pulumi preview`). */
export const UNKNOWN: unique symbol = Symbol.for("shred-day.policy.unknown");
export type Unknown = typeof UNKNOWN;

/** The engine's sentinels for unknown values, as they appear in raw (unproxied) properties. */
const UNKNOWN_SENTINELS = new Set([
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

export function isUnknown(value: unknown): value is Unknown {
    return value === UNKNOWN;
}

/**
 * A deep plain copy of a resource's properties. The pack's property proxy throws when an
 * unknown value is read; every such value (and every raw unknown sentinel) becomes UNKNOWN.
 */
export function plain(value: unknown): unknown {
    if (typeof value === "string") return UNKNOWN_SENTINELS.has(value) ? UNKNOWN : value;
    if (value === null || typeof value !== "object") return value;
    const read = (key: string | number): unknown => {
        try {
            return plain((value as any)[key]);
        } catch {
            return UNKNOWN;
        }
    };
    if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (let i = 0; i < value.length; i++) out.push(read(i));
        return out;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = read(key);
    return out;
}

/** A resource's properties as plain data. */
export function propsOf(r: { props: Record<string, any> }): Record<string, any> {
    const p = plain(r.props);
    return p !== null && typeof p === "object" && !Array.isArray(p) ? (p as Record<string, any>) : {};
}

function asArray(value: unknown): unknown[] {
    return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Firewalls
// ---------------------------------------------------------------------------------------------

export interface InboundRule {
    index: number;
    protocol: string | Unknown;
    port: string | Unknown | undefined;
    sources: (string | Unknown)[];
    description?: string;
}

/** The inbound rules of an hcloud Firewall's props (direction "in"; an unknown rule list gives none). */
export function inboundRules(props: Record<string, any>): InboundRule[] {
    const rules = (plain(props) as Record<string, any>).rules;
    return asArray(rules)
        .map((r: any, index) => ({ r, index }))
        .filter(({ r }) => r !== null && typeof r === "object" && (r.direction === "in" || r.direction === UNKNOWN))
        .map(({ r, index }) => ({
            index,
            protocol: r.protocol,
            port: r.port === UNKNOWN ? UNKNOWN : r.port === undefined || r.port === null ? undefined : String(r.port),
            sources: r.sourceIps === UNKNOWN ? [UNKNOWN] : (asArray(r.sourceIps) as (string | Unknown)[]),
            description: typeof r.description === "string" ? r.description : undefined,
        }));
}

/**
 * Does an inbound rule let TCP `port` in? A missing port or `any` means every port; a range
 * `a-b` covers a..b. An unknown protocol or port is assumed to cover it (a guardrail errs on
 * the closed side).
 */
export function coversTcpPort(rule: Pick<InboundRule, "protocol" | "port">, port: number): boolean {
    if (rule.protocol !== "tcp" && rule.protocol !== UNKNOWN) return false;
    if (rule.port === undefined || rule.port === UNKNOWN || rule.port.trim() === "" || rule.port.trim() === "any") return true;
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(rule.port);
    if (!m) return true;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    return port >= from && port <= to;
}

function describeRule(rule: InboundRule): string {
    const port = rule.port === UNKNOWN ? "(unknown port)" : rule.port === undefined ? "any port" : `port ${rule.port}`;
    const proto = rule.protocol === UNKNOWN ? "(unknown protocol)" : rule.protocol;
    const what = rule.description ? ` "${rule.description}"` : "";
    return `rule #${rule.index}${what} (${proto} ${port} from ${rule.sources.map(showSource).join(", ") || "no source"})`;
}

function showSource(s: string | Unknown): string {
    return s === UNKNOWN ? "(unknown)" : s;
}

export const POSTGRES_PORT = 5432;
export const SSH_PORT = 22;

/** Rule 1: no inbound rule (a single port, a range, or `any`) lets 5432 in, from any source. */
export function checkPostgresPortClosed(r: PolicyResourceLike): string[] {
    if (r.type !== TYPES.firewall) return [];
    return inboundRules(r.props)
        .filter((rule) => coversTcpPort(rule, POSTGRES_PORT))
        .map(
            (rule) =>
                `${r.name}: ${describeRule(rule)} lets Postgres' port ${POSTGRES_PORT} in. Nothing may open ${POSTGRES_PORT}: ` +
                `Postgres is published on the web host's private address and reached over the private network only. ` +
                `Remove the rule, or narrow its port range so it does not cover ${POSTGRES_PORT}.`,
        );
}

/** A CIDR wider than a /8 (IPv4) or /16 (IPv6) is "(nearly) the whole internet", as the stack config judges it. */
export function isWorldWide(cidr: string): boolean {
    const [addr, bits] = ipaddr.parseCIDR(cidr);
    return addr.kind() === "ipv4" ? bits < 8 : bits < 16;
}

function parseCidr(s: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
    try {
        if (ipaddr.isValidCIDR(s)) return ipaddr.parseCIDR(s);
        if (ipaddr.isValid(s)) {
            const a = ipaddr.parse(s);
            return [a, a.kind() === "ipv4" ? 32 : 128];
        }
    } catch {
        // fall through
    }
    return undefined;
}

/** Is CIDR `inner` entirely inside CIDR `outer`? */
export function cidrWithin(inner: string, outer: string): boolean {
    const i = parseCidr(inner);
    const o = parseCidr(outer);
    if (!i || !o) return false;
    let [ia, ib] = i;
    let [oa, ob] = o;
    if (ia.kind() !== oa.kind()) {
        // An IPv4-mapped IPv6 range against an IPv4 one.
        if (ia.kind() === "ipv6" && (ia as ipaddr.IPv6).isIPv4MappedAddress() && ib >= 96) {
            ia = (ia as ipaddr.IPv6).toIPv4Address();
            ib -= 96;
        } else if (oa.kind() === "ipv6" && (oa as ipaddr.IPv6).isIPv4MappedAddress() && ob >= 96) {
            oa = (oa as ipaddr.IPv6).toIPv4Address();
            ob -= 96;
        } else {
            return false;
        }
    }
    return ib >= ob && (ia as any).match(oa, ob);
}

/**
 * Rule 2: SSH (22/tcp, by a single port, a range or `any`) only from the admin ranges. Never
 * from a range wider than /8 (IPv4) or /16 (IPv6) unless the pack is told the stack opted in
 * (`allowSshFromAnywhere`); and, when the pack knows the stack's `adminCidrs`, only from inside them.
 */
export function checkSshAdminOnly(r: PolicyResourceLike, config: GuardrailConfig = {}): string[] {
    if (r.type !== TYPES.firewall) return [];
    const out: string[] = [];
    for (const rule of inboundRules(r.props).filter((x) => coversTcpPort(x, SSH_PORT))) {
        if (rule.sources.length === 0) continue;
        for (const source of rule.sources) {
            const where = `${r.name}: ${describeRule(rule)} lets SSH (22) in from ${showSource(source)}`;
            if (source === UNKNOWN || typeof source !== "string") {
                out.push(`${where}, which is not known at preview; SSH sources must be literal admin CIDRs (ssh.adminCidrs).`);
                continue;
            }
            if (!parseCidr(source)) {
                out.push(`${where}, which is not a CIDR; use admin CIDRs such as 203.0.113.7/32 (ssh.adminCidrs).`);
                continue;
            }
            const cidr = source.includes("/") ? source : `${source}/${source.includes(":") ? 128 : 32}`;
            if (isWorldWide(cidr) && !config.allowSshFromAnywhere) {
                out.push(
                    `${where}: that opens SSH to (nearly) the whole internet. Allow only the admin ranges (ssh.adminCidrs, e.g. 203.0.113.7/32); ` +
                        `if the stack really opted in with ssh.allowSshFromAnywhere, give the pack the same opt-in (policy config allowSshFromAnywhere: true).`,
                );
                continue;
            }
            if (config.adminCidrs !== undefined && !config.adminCidrs.some((admin) => cidrWithin(cidr, admin))) {
                out.push(`${where}, which is not inside the stack's admin ranges (${config.adminCidrs.join(", ") || "none"}); SSH is for ssh.adminCidrs only.`);
            }
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Servers and their firewalls (a stack check: it needs every resource)
// ---------------------------------------------------------------------------------------------

function sameResource(a: PolicyResourceLike, b: PolicyResourceLike): boolean {
    return a === b || (a.urn !== undefined && a.urn === b.urn) || (a.urn === undefined && b.urn === undefined && a.type === b.type && a.name === b.name);
}

/**
 * Does input `key` of `from` refer to `to`? By property dependency (the engine records which
 * resources an input was computed from, known even during preview), or by a known id value.
 */
function refersTo(from: PolicyResourceLike, key: string, to: PolicyResourceLike): boolean {
    if ((from.propertyDependencies?.[key] ?? []).some((d) => sameResource(d, to))) return true;
    const id = propsOf(to).id;
    if (id === undefined || id === UNKNOWN || id === null) return false;
    const single = propsOf(from)[key];
    const values = asArray(single);
    return [...values, single].some((v) => v !== UNKNOWN && v !== undefined && String(v) === String(id));
}

function labelsOf(r: PolicyResourceLike): Record<string, string> {
    const labels = propsOf(r).labels;
    return labels !== null && typeof labels === "object" && !Array.isArray(labels) ? (labels as Record<string, string>) : {};
}

function selectorMatches(selector: string, labels: Record<string, string>): boolean {
    return selector
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "")
        .every((term) => {
            const [k, v] = term.split("=").map((x) => x.trim());
            return v === undefined ? k in labels : labels[k] === v;
        });
}

/** How a server gets its firewall(s): at creation, by attachment, or by a firewall's apply_to. */
export function firewallsOf(server: PolicyResourceLike, all: PolicyResourceLike[]): { how: string; firewall?: PolicyResourceLike }[] {
    const found: { how: string; firewall?: PolicyResourceLike }[] = [];
    const firewalls = all.filter((r) => r.type === TYPES.firewall);
    const byDependency = (r: PolicyResourceLike, key: string) => firewalls.find((f) => refersTo(r, key, f));

    const ids = propsOf(server).firewallIds;
    if (ids === UNKNOWN || asArray(ids).length > 0) {
        found.push({ how: "firewallIds at creation", firewall: byDependency(server, "firewallIds") });
    }
    for (const a of all.filter((r) => r.type === TYPES.firewallAttachment)) {
        const fw = propsOf(a).firewallId;
        if (fw !== undefined && fw !== null && refersTo(a, "serverIds", server)) {
            found.push({ how: `FirewallAttachment ${a.name}`, firewall: byDependency(a, "firewallId") });
        }
    }
    for (const f of firewalls) {
        for (const applyTo of asArray(propsOf(f).applyTos) as any[]) {
            if (applyTo === null || typeof applyTo !== "object") continue;
            const byServer = applyTo.server !== undefined && applyTo.server !== null && (applyTo.server === UNKNOWN ? (f.propertyDependencies?.applyTos ?? []).some((d) => sameResource(d, server)) : refersTo({ ...f, props: { server: applyTo.server } }, "server", server));
            const bySelector = typeof applyTo.labelSelector === "string" && selectorMatches(applyTo.labelSelector, labelsOf(server));
            if (byServer || bySelector) found.push({ how: `applyTos of ${f.name}`, firewall: f });
        }
    }
    return found;
}

/** Rule 3: every hcloud server is behind a firewall (at creation, by attachment, or by apply_to). */
export function checkEveryServerHasFirewall(resources: PolicyResourceLike[]): StackViolation[] {
    return resources
        .filter((r) => r.type === TYPES.server)
        .filter((server) => firewallsOf(server, resources).length === 0)
        .map((server) => ({
            urn: server.urn,
            name: server.name,
            message:
                `${server.name}: this server has no firewall: no firewallIds at creation, no FirewallAttachment names it, no firewall applies to it. ` +
                `Without one every port its processes (or Docker) listen on is public; give it the web or jobs firewall.`,
        }));
}

// ---------------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------------

/** Where the official image keeps its cluster: /var/lib/postgresql/data before 18, /var/lib/postgresql from 18. */
export const POSTGRES_DATA_PATHS = ["/var/lib/postgresql/data", "/var/lib/postgresql"];

/**
 * Is this container a Postgres server? Any of: a postgres image, a name or label saying so,
 * port 5432 inside, or a mount at Postgres' data path. The image alone is not enough: in a real
 * run the container's `image` is the RemoteImage's id (sha256:...), unknown during preview.
 */
export function isPostgresContainer(r: PolicyResourceLike): boolean {
    if (r.type !== TYPES.container) return false;
    const p = propsOf(r);
    const image = text(p.image) ?? "";
    if (/(^|\/)postgres(ql)?(:|@|$)/.test(image)) return true;
    if (/postgres/i.test(text(p.name) ?? "")) return true;
    for (const l of asArray(p.labels) as any[]) if (l && /^postgres(ql)?$/i.test(String(l.value))) return true;
    for (const port of asArray(p.ports) as any[]) if (port && Number(port.internal) === POSTGRES_PORT) return true;
    for (const v of asArray(p.volumes) as any[]) if (v && typeof v.containerPath === "string" && v.containerPath.startsWith("/var/lib/postgresql")) return true;
    return false;
}

function isPrivateIpv4(ip: string): boolean {
    return ipaddr.IPv4.isValidFourPartDecimal(ip) && ipaddr.IPv4.parse(ip).range() === "private";
}

/**
 * Rule 4: a Postgres container publishes only on a private (RFC 1918) address: every port binding
 * names its ip, never empty, 0.0.0.0 or ::; no host networking, no publish-all.
 */
export function checkPostgresPrivateOnly(r: PolicyResourceLike): string[] {
    if (!isPostgresContainer(r)) return [];
    const p = propsOf(r);
    const out: string[] = [];
    const fix = `publish it as <private ip>:5432:5432 (e.g. ip: "10.0.0.3"); Docker-published ports bypass the host firewall.`;
    if (p.networkMode === "host" || p.networkMode === UNKNOWN) {
        out.push(`${r.name}: a Postgres container on the host network listens on every interface of the host; use a bridge network and ${fix}`);
    }
    if (p.publishAllPorts === true || p.publishAllPorts === UNKNOWN) {
        out.push(`${r.name}: publishAllPorts publishes Postgres on every address of the host; remove it and ${fix}`);
    }
    if (p.ports === UNKNOWN) {
        out.push(`${r.name}: the Postgres container's port bindings are not known at preview, so they cannot be shown to be private; ${fix}`);
    }
    asArray(p.ports).forEach((port: any, i) => {
        if (port === null || typeof port !== "object") return;
        const ip = port.ip;
        const binding = `ports[${i}] (${port.external ?? "?"}->${port.internal ?? "?"})`;
        if (ip === UNKNOWN) {
            out.push(`${r.name}: ${binding} is published on an address not known at preview; ${fix}`);
        } else if (typeof ip !== "string" || ip.trim() === "" || ip === "0.0.0.0" || ip === "::" || ip === "[::]") {
            out.push(`${r.name}: ${binding} is published on ${typeof ip === "string" && ip !== "" ? ip : "every address (no ip)"}, which includes the public interface; ${fix}`);
        } else if (!isPrivateIpv4(ip)) {
            out.push(`${r.name}: ${binding} is published on ${ip}, which is not a private (RFC 1918) address; ${fix}`);
        }
    });
    return out;
}

/** The adopted or new web server: the host that holds the Postgres data. */
export function isWebServer(r: PolicyResourceLike): boolean {
    if (r.type !== TYPES.server) return false;
    // An adopted jobs server has the same adoption signature; its declared labels say jobs.
    return labelsOf(r).role === "web" || ((r.opts.ignoreChanges ?? []).includes("sshKeys") && labelsOf(r).role !== "jobs");
}

/**
 * Rule 5: the adopted web server and the Postgres data are protected from deletion.
 *
 * - The web server (label role=web, or adopted: ignoreChanges holds sshKeys): `protect: true`
 *   (Pulumi refuses to delete it, even on `pulumi destroy` or a replace) and hcloud
 *   deleteProtection and rebuildProtection on (Hetzner refuses a delete or rebuild from the
 *   console/API too). Its disk is where the Postgres data lives.
 * - The Postgres data: a host bind mount (hostPath) at the image's data path, never a named or
 *   anonymous Docker volume, and `removeVolumes: false`. Deleting or replacing the container
 *   (a new image, a changed port) then never touches the data; the official image's own
 *   VOLUME is not removed with the container either. So "protected" means: the only way to lose
 *   the data is to delete the web server, which the first half forbids.
 */
export function checkProtected(r: PolicyResourceLike): string[] {
    const out: string[] = [];
    if (isWebServer(r)) {
        const p = propsOf(r);
        if (!r.opts.protect) {
            out.push(`${r.name}: the web server (it holds the Postgres data) must have the resource option protect: true, so that no preview, replace or destroy can delete it.`);
        }
        if (p.deleteProtection !== true && p.deleteProtection !== UNKNOWN) {
            out.push(`${r.name}: the web server must have deleteProtection: true (Hetzner then refuses deletes from the console and API too).`);
        }
        if (p.rebuildProtection !== true && p.rebuildProtection !== UNKNOWN) {
            out.push(`${r.name}: the web server must have rebuildProtection: true (equal to deleteProtection, as hcloud requires); a rebuild wipes its disk.`);
        }
    }
    if (isPostgresContainer(r)) {
        const p = propsOf(r);
        const volumes = asArray(p.volumes) as any[];
        const data = volumes.find((v) => v && typeof v.containerPath === "string" && POSTGRES_DATA_PATHS.includes(v.containerPath.replace(/\/+$/, "")));
        if (p.volumes === UNKNOWN) {
            out.push(`${r.name}: the Postgres container's mounts are not known at preview; the data must be a host bind mount (hostPath) at ${POSTGRES_DATA_PATHS.join(" or ")}.`);
        } else if (data === undefined) {
            out.push(`${r.name}: the Postgres data directory (${POSTGRES_DATA_PATHS.join(" or ")}) is not mounted from the host: the cluster would live in a Docker volume that goes with the container. Bind-mount postgres.dataDir there (hostPath).`);
        } else if (typeof data.volumeName === "string" && data.volumeName !== "") {
            out.push(`${r.name}: the Postgres data is in the Docker volume ${data.volumeName}, which a volume prune or removeVolumes deletes; bind-mount a host directory (hostPath) instead.`);
        } else if (typeof data.hostPath !== "string" || data.hostPath.trim() === "") {
            out.push(`${r.name}: the Postgres data mount has no hostPath; bind-mount postgres.dataDir from the host.`);
        }
        if (p.removeVolumes !== false) {
            out.push(`${r.name}: the Postgres container must set removeVolumes: false (the provider's default true deletes the container's volumes, including the image's own data VOLUME, with the container).`);
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Solid Queue in Puma
// ---------------------------------------------------------------------------------------------

export const FORBIDDEN_ENV = "SOLID_QUEUE_IN_PUMA";

/** `NAME=value` lines of an env file (docker --env-file), or undefined when the text is not one. */
export function envFileEntries(value: unknown): { name: string; value: string }[] | undefined {
    if (typeof value !== "string") return undefined;
    const lines = value.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
    if (lines.length === 0) return undefined;
    const entries = lines.map((l) => /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(l));
    if (entries.some((m) => m === null)) return undefined;
    return entries.map((m) => ({ name: m![1], value: m![2] }));
}

/** Shell text without comment lines. */
function withoutComments(s: string): string {
    return s
        .split("\n")
        .filter((l) => !l.trimStart().startsWith("#"))
        .join("\n");
}

/** Does shell text set SOLID_QUEUE_IN_PUMA for a container or a process (`-e`, `--env`, or an assignment)? */
export function textSetsForbiddenEnv(s: string): boolean {
    const t = withoutComments(s);
    const flag = new RegExp(`(?:^|\\s)(?:-e|--env)(?:\\s+|=)["']?${FORBIDDEN_ENV}\\b`, "m");
    const assignment = new RegExp(`(?:^|[\\s;&|(])(?:export\\s+)?${FORBIDDEN_ENV}=`, "m");
    return flag.test(t) || assignment.test(t);
}

const COMMAND_TEXT_FIELDS = ["create", "update", "delete"] as const;

/**
 * Rule 6: no app container's environment holds SOLID_QUEUE_IN_PUMA (any value, even "false",
 * starts Solid Queue inside Puma on the web host). App containers come from docker.Container
 * resources (their `envs`) and from the release scripts (`docker run --env-file` of a file that
 * a remote command writes from its stdin, or `-e` on the command line), so both are checked.
 */
export function checkNoSolidQueueInPuma(r: PolicyResourceLike): string[] {
    const out: string[] = [];
    const p = propsOf(r);
    if (r.type === TYPES.container) {
        for (const e of asArray(p.envs)) {
            if (typeof e === "string" && (e === FORBIDDEN_ENV || e.startsWith(`${FORBIDDEN_ENV}=`))) {
                out.push(`${r.name}: the container's env sets ${FORBIDDEN_ENV}; with any value (even "false") Puma starts a Solid Queue supervisor. Remove it: jobs run on the jobs hosts.`);
            }
        }
    }
    if (r.type === TYPES.remoteCommand || r.type === TYPES.localCommand) {
        const entries = envFileEntries(p.stdin);
        if (entries?.some((e) => e.name === FORBIDDEN_ENV)) {
            out.push(`${r.name}: the env file this command writes (its stdin) sets ${FORBIDDEN_ENV}; containers started with it would run Solid Queue inside Puma. Remove it from the env.`);
        }
        for (const field of COMMAND_TEXT_FIELDS) {
            const s = text(p[field]);
            if (s !== undefined && textSetsForbiddenEnv(s)) {
                out.push(`${r.name}: its ${field} command sets ${FORBIDDEN_ENV} (by -e/--env or an assignment); remove it: jobs run on the jobs hosts.`);
            }
        }
        const env = p.environment;
        if (env !== null && typeof env === "object" && !Array.isArray(env) && FORBIDDEN_ENV in env) {
            out.push(`${r.name}: its environment sets ${FORBIDDEN_ENV}; remove it.`);
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Secrets and remote commands
// ---------------------------------------------------------------------------------------------

/** Env names whose values are secret: ..._PASSWORD, ..._SECRET..., ..._TOKEN, ..._KEY, ... */
export function isSecretName(name: string): boolean {
    const n = name.toUpperCase();
    if (/PUBLIC_KEY$/.test(n) || /_(NAMES?|FILE|PATH|DIR|ID|ARN|LENGTH)$/.test(n)) return false;
    return /(PASSWORD|PASSWD|SECRET|PRIVATE_KEY|CREDENTIAL)/.test(n) || /(^|_)(PASS|PWD|TOKEN|KEY|CREDENTIALS?)$/.test(n);
}

function unquote(v: string): string {
    const t = v.trim();
    if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) return t.slice(1, -1);
    return t;
}

/** A value that is a literal, not a shell expansion ($VAR, ${VAR}, $(cmd), `cmd`). */
function isLiteral(v: string): boolean {
    const u = unquote(v);
    return u !== "" && !u.startsWith("$") && !u.startsWith("`") && !u.startsWith("-");
}

/**
 * What in a command's text looks like a secret written into it: a private key block, a URL
 * with a password, `NAME=literal` for a secret-looking NAME, `--password literal` (not
 * `--password-stdin`). Returns descriptions, never the values.
 */
export function secretPatternsIn(s: string): string[] {
    const found: string[] = [];
    const t = withoutComments(s);
    if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(t)) found.push("a private key");
    for (const m of t.matchAll(/\b[a-z][a-z0-9+.\-]*:\/\/[^\s:@\/'"]*:([^\s@\/'"]+)@/gi)) {
        if (isLiteral(m[1])) found.push("a URL with a password in it");
    }
    for (const m of t.matchAll(/(?:^|[\s;&|(])(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=("[^"\n]*"|'[^'\n]*'|[^\s;&|)]*)/gm)) {
        if (isSecretName(m[1]) && isLiteral(m[2])) found.push(`${m[1]}=<literal value>`);
    }
    for (const m of t.matchAll(/--password(?:=|[ \t]+)("[^"\n]*"|'[^'\n]*'|[^\s;&|)]+)/g)) {
        if (isLiteral(m[1])) found.push("--password <literal value> (use --password-stdin)");
    }
    return [...new Set(found)];
}

/** The secret values a command carries on stdin: the secret entries of an env file, or the whole stdin. */
export function stdinSecrets(stdin: unknown): string[] {
    if (typeof stdin !== "string") return [];
    const entries = envFileEntries(stdin);
    if (entries === undefined) {
        const whole = stdin.trim();
        return whole === "" ? [] : [whole, ...stdin.split("\n").map((l) => l.trim())];
    }
    const out: string[] = [];
    for (const e of entries) {
        if (isSecretName(e.name)) out.push(e.value);
        out.push(...urlPasswords(e.value));
    }
    return out;
}

function urlPasswords(s: string): string[] {
    const out: string[] = [];
    for (const m of s.matchAll(/\b[a-z][a-z0-9+.\-]*:\/\/[^\s:@\/'"]*:([^\s@\/'"]+)@/gi)) {
        out.push(m[1]);
        try {
            out.push(decodeURIComponent(m[1]));
        } catch {
            // keep the encoded form only
        }
    }
    return out;
}

/** Short values (ports, "1", "true") are not treated as secrets when searching text for them. */
export const MIN_SECRET_LENGTH = 8;

function significant(values: string[]): string[] {
    return [...new Set(values.map((v) => v.trim()).filter((v) => v.length >= MIN_SECRET_LENGTH))];
}

function isCommand(r: PolicyResourceLike): boolean {
    return r.type === TYPES.remoteCommand || r.type === TYPES.localCommand;
}

/**
 * Rule 7 (per command): no secret through the command text or SSH environment.
 * - a remote command's `environment` is unset (it travels as SSH Setenv, which stock sshd
 *   refuses, and it is not how this program passes anything);
 * - `addPreviousOutputInEnv` is false on remote commands (otherwise the last stdout, which may
 *   hold secrets, is sent back as an SSH environment variable on the next run);
 * - create/update/delete hold no secret pattern and none of the secrets the same command
 *   sends on stdin (the provider quotes the whole command text in its errors).
 */
export function checkCommandSecrets(r: PolicyResourceLike): string[] {
    if (!isCommand(r)) return [];
    const p = propsOf(r);
    const out: string[] = [];
    if (r.type === TYPES.remoteCommand) {
        const env = p.environment;
        if (env === UNKNOWN || (env !== undefined && env !== null && (typeof env !== "object" || Object.keys(env).length > 0))) {
            const names = env !== null && typeof env === "object" ? Object.keys(env).join(", ") : "(unknown)";
            out.push(`${r.name}: environment (${names}) must be unset: it is sent with SSH Setenv, which stock sshd refuses, and it is no place for secrets. Send secrets on stdin into a root-only env file.`);
        }
        if (p.addPreviousOutputInEnv !== false) {
            out.push(`${r.name}: addPreviousOutputInEnv must be false: otherwise the previous stdout (which may hold secrets) is sent back as SSH environment on the next run.`);
        }
    }
    const own = significant(stdinSecrets(p.stdin));
    for (const field of COMMAND_TEXT_FIELDS) {
        const s = p[field];
        if (typeof s !== "string") continue;
        for (const what of secretPatternsIn(s)) {
            out.push(`${r.name}: its ${field} text contains ${what}. The provider quotes the whole command in its errors and state; pass secrets on stdin instead.`);
        }
        if (own.some((v) => s.includes(v))) {
            out.push(`${r.name}: its ${field} text contains a value this command also sends as a secret on stdin; keep it on stdin only.`);
        }
    }
    return out;
}

/** Every secret value the stack sends somewhere, with where it was seen (never the value in messages). */
export function stackSecrets(resources: PolicyResourceLike[]): { value: string; from: string }[] {
    const out: { value: string; from: string }[] = [];
    for (const r of resources) {
        const p = propsOf(r);
        if (isCommand(r)) {
            for (const v of significant(stdinSecrets(p.stdin))) out.push({ value: v, from: `the stdin of ${r.name}` });
            const conn = p.connection;
            if (conn && typeof conn === "object") {
                for (const key of ["privateKey", "password", "privateKeyPassword"]) {
                    const v = conn[key];
                    if (typeof v === "string") {
                        for (const s of significant([v, ...v.split("\n")])) out.push({ value: s, from: `the SSH ${key} of ${r.name}` });
                    }
                }
            }
        }
        if (r.type === TYPES.container) {
            for (const e of asArray(p.envs)) {
                if (typeof e !== "string") continue;
                const i = e.indexOf("=");
                if (i < 0) continue;
                const name = e.slice(0, i);
                const value = e.slice(i + 1);
                const values = [...(isSecretName(name) ? [value] : []), ...urlPasswords(value)];
                for (const v of significant(values)) out.push({ value: v, from: `the env ${name} of ${r.name}` });
            }
        }
    }
    return out;
}

/**
 * Rule 7 (across the stack): no command's create/update/delete text or environment holds a
 * value that the stack sends as a secret anywhere (another command's stdin, a container's
 * password env, an SSH key). This is how a secret is recognised without a secret flag.
 */
export function checkNoStackSecretInCommands(resources: PolicyResourceLike[]): StackViolation[] {
    const secrets = stackSecrets(resources);
    const out: StackViolation[] = [];
    for (const r of resources.filter(isCommand)) {
        const p = propsOf(r);
        const texts: [string, string][] = [];
        for (const field of COMMAND_TEXT_FIELDS) if (typeof p[field] === "string") texts.push([field, p[field]]);
        if (p.environment && typeof p.environment === "object") {
            for (const [k, v] of Object.entries(p.environment)) if (typeof v === "string") texts.push([`environment ${k}`, v]);
        }
        for (const [field, s] of texts) {
            const hit = secrets.find((secret) => s.includes(secret.value));
            if (hit) {
                out.push({
                    urn: r.urn,
                    name: r.name,
                    message: `${r.name}: its ${field} contains a secret value (the one in ${hit.from}). The command text is quoted in provider errors and kept in state; send the secret on stdin instead.`,
                });
            }
        }
    }
    return out;
}
