/**
 * Which hosts there are and how to reach them. Pure: from the stack outputs
 * (`pulumi stack output --json`) or, without the CLI, from the stack file alone.
 *
 * Without the CLI the jobs hosts' public addresses are unknown (Hetzner assigns them), so
 * they are reached through the web host (its public IP is in the config) at their private
 * IP, with an ssh ProxyCommand: the private network is not filtered by the Hetzner firewalls.
 * `--host-ip NAME=IP` reaches a host directly instead.
 */
import { containerHostname } from "../../components/release";
import { HostAddress, UsageError } from "./args";

export type Role = "web" | "jobs";

export interface Host {
    name: string;
    role: Role;
    /** What ssh connects to: a public IP, or the private IP when `via` is set. */
    address: string;
    /** SSH port, when not the default. */
    port?: number;
    /** Reach it through this host (the web host), at `address` on the private network. */
    via?: string;
    publicIp?: string;
    privateIp: string;
    /** Its public SSH host key, from the stack outputs or the config (issue 11 point 2). */
    hostKey?: string;
}

/** What ops needs from the stack config: no secrets. */
export interface OpsConfig {
    user: string;
    web: { name: string; publicIp?: string; privateIp: string; hostKey?: string };
    jobs: { name: string; privateIp: string; hostKey?: string }[];
    postgres: { user: string; primary: string; queue: string; databases: string[] };
    /** Keys encrypted in the stack file (e.g. sshPrivateKey). */
    encrypted: string[];
}

export interface Inventory {
    /** Where the hosts came from, for the report. */
    source: string;
    user: string;
    hosts: Host[];
    postgres: OpsConfig["postgres"] & { container: string };
    notes: string[];
}

/** A stack config that ops cannot work with: exit code 2. */
export class SetupError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SetupError";
    }
}

function obj(v: unknown): Record<string, unknown> | undefined {
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(raw: Record<string, unknown>, key: string, path: string[], required = true): string | undefined {
    let v: unknown = raw[key];
    for (const p of path) v = obj(v)?.[p];
    if (typeof v === "string" && v !== "") return v;
    if (!required && v === undefined) return undefined;
    throw new SetupError(`shred-day:${[key, ...path].join(".")} is ${v === undefined ? "missing" : `not a string (${JSON.stringify(v)})`} in the stack file`);
}

/** The parts of a stack's raw config (keys without `shred-day:`) that ops uses. */
export function opsConfigFromRaw(raw: Record<string, unknown>, encrypted: string[] = []): OpsConfig {
    const user = str(raw, "ssh", ["user"], false) ?? "root";
    const webKey = str(raw, "web", ["hostKey"], false);
    const web = {
        name: str(raw, "web", ["name"])!,
        publicIp: str(raw, "web", ["publicIp"], false),
        privateIp: str(raw, "web", ["privateIp"])!,
        ...(webKey === undefined || webKey.includes("CHANGE-ME") ? {} : { hostKey: webKey }),
    };
    const hostsRaw = obj(raw.jobs)?.hosts;
    if (!Array.isArray(hostsRaw) || hostsRaw.length === 0) throw new SetupError("shred-day:jobs.hosts is missing or empty in the stack file");
    const jobs = hostsRaw.map((h, i) => {
        const o = obj(h);
        if (!o || typeof o.name !== "string" || typeof o.privateIp !== "string") {
            throw new SetupError(`shred-day:jobs.hosts[${i}] needs a name and a privateIp`);
        }
        return { name: o.name, privateIp: o.privateIp, ...(typeof o.hostKey === "string" && !o.hostKey.includes("CHANGE-ME") ? { hostKey: o.hostKey } : {}) };
    });
    const pg = obj(raw.postgres);
    const databases = pg?.databases;
    if (!Array.isArray(databases) || databases.length === 0 || !databases.every((d) => typeof d === "string")) {
        throw new SetupError("shred-day:postgres.databases is missing in the stack file");
    }
    const queue = (databases as string[]).find((d) => d.endsWith("_queue"));
    if (queue === undefined) throw new SetupError(`shred-day:postgres.databases ${JSON.stringify(databases)} has no _queue database`);
    return {
        user,
        web,
        jobs,
        postgres: { user: str(raw, "postgres", ["user"])!, primary: databases[0] as string, queue, databases: databases as string[] },
        encrypted,
    };
}

function applyOverrides(hosts: Host[], overrides: Record<string, HostAddress>, sshPort: number | undefined): Host[] {
    for (const name of Object.keys(overrides)) {
        if (!hosts.some((h) => h.name === name)) {
            throw new UsageError(`--host-ip ${name}: no such host; the hosts are ${hosts.map((h) => h.name).join(", ")}`);
        }
    }
    return hosts.map((h) => {
        const o = overrides[h.name];
        const port = o?.port ?? sshPort;
        const base = o ? { ...h, address: o.address, via: undefined } : h;
        const { via, ...rest } = base;
        return { ...rest, ...(via === undefined ? {} : { via }), ...(port === undefined ? {} : { port }) };
    });
}

/** Hosts from the stack file alone: the web host at web.publicIp, jobs hosts through it. */
export function inventoryFromConfig(
    cfg: OpsConfig,
    opts: { overrides?: Record<string, HostAddress>; sshPort?: number; source?: string } = {},
): Inventory {
    const overrides = opts.overrides ?? {};
    const webAddress = overrides[cfg.web.name]?.address ?? cfg.web.publicIp;
    if (webAddress === undefined) {
        throw new SetupError(
            `shred-day:web.publicIp is not set in the stack file and the stack outputs were not read: pass --host-ip ${cfg.web.name}=IP (or install the Pulumi CLI)`,
        );
    }
    const hosts: Host[] = [
        {
            name: cfg.web.name,
            role: "web",
            address: webAddress,
            ...(cfg.web.publicIp ? { publicIp: cfg.web.publicIp } : {}),
            privateIp: cfg.web.privateIp,
            ...(cfg.web.hostKey ? { hostKey: cfg.web.hostKey } : {}),
        },
        ...cfg.jobs.map((j): Host => ({ name: j.name, role: "jobs", address: j.privateIp, via: cfg.web.name, privateIp: j.privateIp, ...(j.hostKey ? { hostKey: j.hostKey } : {}) })),
    ];
    const notes = cfg.jobs.filter((j) => !(j.name in overrides)).length > 0 ? [`jobs hosts are reached through ${cfg.web.name} at their private IPs (no public IPs without the stack outputs)`] : [];
    return {
        source: opts.source ?? "the stack file",
        user: cfg.user,
        hosts: applyOverrides(hosts, overrides, opts.sshPort),
        postgres: { ...cfg.postgres, container: POSTGRES_CONTAINER_NAME },
        notes,
    };
}

/** The accessory's fixed container name (components/postgresAccessory.ts). */
export const POSTGRES_CONTAINER_NAME = "shred-day-postgres";

/**
 * Hosts from `pulumi stack output --json` (`hosts`: {NAME: {role, publicIp, privateIp, ssh}}),
 * the Postgres role and databases from the stack file.
 */
export function inventoryFromOutputs(
    outputs: unknown,
    cfg: OpsConfig,
    opts: { overrides?: Record<string, HostAddress>; sshPort?: number; source?: string } = {},
): Inventory {
    const hostsOut = obj(obj(outputs)?.hosts);
    if (!hostsOut || Object.keys(hostsOut).length === 0) {
        throw new SetupError(
            "the stack outputs have no `hosts` (has `pulumi up` run for this stack?); to reach the hosts from the stack file alone (the web host at web.publicIp, jobs hosts through it), add --no-pulumi",
        );
    }
    const hosts: Host[] = Object.entries(hostsOut).map(([name, v]) => {
        const o = obj(v);
        const role = o?.role;
        const publicIp = o?.publicIp;
        const privateIp = o?.privateIp;
        if ((role !== "web" && role !== "jobs") || typeof publicIp !== "string" || typeof privateIp !== "string") {
            throw new SetupError(`stack output hosts.${name} is not {role: web|jobs, publicIp, privateIp}: ${JSON.stringify(v)}`);
        }
        // the host key the program pinned (stack outputs), else the config's (an adopted host)
        const configured = role === "web" ? cfg.web.hostKey : cfg.jobs.find((j) => j.name === name)?.hostKey;
        const hostKey = typeof o?.hostKey === "string" ? o.hostKey : configured;
        return { name, role, address: publicIp, publicIp, privateIp, ...(hostKey === undefined ? {} : { hostKey }) };
    });
    const webs = hosts.filter((h) => h.role === "web");
    if (webs.length !== 1) throw new SetupError(`the stack outputs list ${webs.length} web hosts; expected one`);
    hosts.sort((a, b) => (a.role === b.role ? 0 : a.role === "web" ? -1 : 1));
    const notes: string[] = [];
    const missing = cfg.jobs.filter((j) => !hosts.some((h) => h.name === j.name)).map((j) => j.name);
    if (missing.length > 0) notes.push(`in the stack file but not in the stack outputs (not deployed yet?): ${missing.join(", ")}`);
    return {
        source: opts.source ?? "the stack outputs",
        user: cfg.user,
        hosts: applyOverrides(hosts, opts.overrides ?? {}, opts.sshPort),
        postgres: { ...cfg.postgres, container: POSTGRES_CONTAINER_NAME },
        notes,
    };
}

export function webHost(inv: Inventory): Host {
    return inv.hosts.find((h) => h.role === "web")!;
}

/** Which hosts a verb runs on. Throws UsageError for a --host that does not fit. */
export function selectHosts(inv: Inventory, verb: string, target: string | undefined, names: string[]): Host[] {
    const byName = (n: string) => {
        const h = inv.hosts.find((x) => x.name === n);
        if (!h) throw new UsageError(`--host ${n}: no such host; the hosts are ${inv.hosts.map((x) => x.name).join(", ")}`);
        return h;
    };
    const picked = names.map(byName);
    const web = webHost(inv);
    const jobs = inv.hosts.filter((h) => h.role === "jobs");
    const needRole = (role: Role, what: string) => {
        for (const h of picked) if (h.role !== role) throw new UsageError(`--host ${h.name} is a ${h.role} host; ${what} runs on ${role} hosts (${inv.hosts.filter((x) => x.role === role).map((x) => x.name).join(", ")})`);
    };
    switch (verb) {
        case "status":
        case "hosts":
            return inv.hosts;
        case "dbconsole":
            return [web];
        case "console":
            needRole("jobs", "console");
            if (jobs.length === 0) throw new SetupError("there is no jobs host");
            return picked.length ? picked : [jobs[0]];
        case "logs":
            if (target === "jobs") {
                needRole("jobs", "logs jobs");
                return picked.length ? picked : jobs;
            }
            needRole("web", `logs ${target}`);
            return [web];
        default:
            throw new UsageError(`unknown verb ${verb}`);
    }
}

/**
 * Hostname prefixes of Solid Queue processes that run on a host: our containers are named
 * `<host>-<release>` (the host name possibly cut to fit 63 characters); Kamal's are
 * `<server address>-<hex>`.
 */
export function hostnamePrefixes(h: Host): string[] {
    const cut = containerHostname(h.name, "0123456789").slice(0, -"-0123456789".length);
    return [...new Set([h.name, cut, h.privateIp, ...(h.publicIp ? [h.publicIp] : [])])];
}
