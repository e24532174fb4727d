/**
 * Before any change: every server the config adopts is the host the config names, and no
 * firewall this stack does not manage is applied to it.
 *
 * An `importId` is a bare number: a wrong one would adopt (and attach, and deploy to) some
 * other server. Hetzner combines the rules of every firewall applied to a server, so an old
 * firewall that allows 22 from anywhere makes "22 only from admin CIDRs" false. Both are
 * read with the provider's data sources (hcloud.getServer, getNetwork, getFirewall: they
 * read, never change) and compared here, by a pure function, with the config.
 *
 * index.ts makes the whole stack depend on the result: no resource is registered (so
 * nothing is imported, created or changed) until the check has passed, in `pulumi preview`
 * as in `pulumi up`.
 */
import * as hcloud from "@pulumi/hcloud";
import { firewallRules } from "../components/firewalls";
import { NAMESPACE, StackConfig } from "./config";

export interface FoundServer {
    id: number;
    name: string;
    ipv4Address: string;
    networks: { networkId: number; ip: string; aliasIps: string[] }[];
    firewallIds: number[];
}

export interface FoundFirewall {
    id: number;
    name: string;
    labels: Record<string, string>;
    rules: { direction: string; protocol?: string; port?: string; sourceIps?: string[] }[];
    applyTos: { server: number; labelSelector: string }[];
}

export interface FoundNetwork {
    id: number;
    name: string;
    ipRange: string;
}

/** What the data sources returned, by hcloud id. */
export interface Facts {
    network?: FoundNetwork;
    servers: Record<string, FoundServer>;
    firewalls: Record<string, FoundFirewall>;
    /** Lookups that failed, by `server 123` / `network 4` / `firewall 5`: what the provider said. */
    failed?: Record<string, string>;
}

/** An adopted server as the config names it. */
interface Adopted {
    role: "web" | "jobs";
    /** Config key prefix, e.g. `web` or `jobs.hosts[0]`. */
    key: string;
    importId: string;
    name: string;
    publicIp: string;
    privateIp: string;
}

export function adoptedServers(config: StackConfig): Adopted[] {
    const out: Adopted[] = [];
    if (config.web.importId !== undefined) {
        out.push({ role: "web", key: "web", importId: config.web.importId, name: config.web.name, publicIp: config.web.publicIp!, privateIp: config.web.privateIp });
    }
    config.jobs.hosts.forEach((h, i) => {
        if (h.importId !== undefined) {
            out.push({ role: "jobs", key: `jobs.hosts[${i}]`, importId: h.importId, name: h.name, publicIp: h.publicIp!, privateIp: h.privateIp });
        }
    });
    return out;
}

/** The hcloud ids the check must read. */
export function idsToRead(config: StackConfig): { network?: string; servers: string[]; firewalls: string[] } {
    return {
        network: config.network.importId,
        servers: adoptedServers(config).map((s) => s.importId),
        firewalls: [config.firewalls.web?.importId, config.firewalls.jobs?.importId].filter((id): id is string => id !== undefined),
    };
}

function describeRules(fw: FoundFirewall): string {
    const inbound = fw.rules.filter((r) => r.direction === "in");
    if (inbound.length === 0) return "no inbound rules";
    return inbound.map((r) => `${r.protocol ?? "?"} ${r.port ?? "any"} from ${(r.sourceIps ?? []).join(" ") || "nowhere"}`).join("; ");
}

/** What the provider said when a lookup failed, for the message. */
function said(facts: Facts, what: string): string {
    const message = facts.failed?.[what];
    return message === undefined ? "" : ` (the provider said: ${message})`;
}

/** Is `fw` one of the firewalls this stack created earlier for `role` (same labels as Firewalls gives them)? */
function ownFirewall(fw: FoundFirewall, role: "web" | "jobs"): boolean {
    return fw.labels.app === "shred-day" && fw.labels["managed-by"] === "pulumi" && fw.labels.role === role;
}

/**
 * Compare the config with what exists. Pure: every problem names the key, what was found
 * and the fix. An empty list means adoption may go ahead.
 */
export function adoptionProblems(config: StackConfig, facts: Facts): string[] {
    const problems: string[] = [];
    const k = (key: string) => `${NAMESPACE}:${key}`;
    const networkId = config.network.importId;

    // The network.
    if (networkId !== undefined) {
        const net = facts.network;
        if (net === undefined) {
            problems.push(`${k("network.importId")} = "${networkId}": no such network in this hcloud project${said(facts, `network ${networkId}`)}; find its id with \`hcloud network list\``);
        } else {
            if (net.name !== config.network.name) {
                problems.push(`${k("network.name")} = "${config.network.name}": network ${networkId} is named "${net.name}"; set network.name to "${net.name}" (adoption never renames)`);
            }
            if (net.ipRange !== config.network.ipRange) {
                problems.push(`${k("network.ipRange")} = "${config.network.ipRange}": network ${networkId} has the range ${net.ipRange}; set network.ipRange to ${net.ipRange} (a range cannot be changed in place)`);
            }
        }
    }

    // The servers: the host the config names, on the network at its IP, behind no unmanaged firewall.
    for (const s of adoptedServers(config)) {
        const found = facts.servers[s.importId];
        const id = `${k(`${s.key}.importId`)} = "${s.importId}"`;
        if (found === undefined) {
            problems.push(`${id}: no such server in this hcloud project${said(facts, `server ${s.importId}`)}; find the id of ${s.publicIp} with \`hcloud server list -o columns=id,name,ipv4\``);
            continue;
        }
        const what = `server ${s.importId} ("${found.name}", ${found.ipv4Address})`;
        if (found.ipv4Address !== s.publicIp) {
            problems.push(
                `${id}: ${what} has the public IPv4 ${found.ipv4Address}, not ${s.key}.publicIp ${s.publicIp}: this id is another server; use the id of ${s.publicIp} (\`hcloud server list -o columns=id,name,ipv4\`), or correct ${s.key}.publicIp if the server moved`,
            );
            continue; // the rest would describe the wrong server
        }
        if (found.name !== s.name) {
            problems.push(`${k(`${s.key}.name`)} = "${s.name}": ${what} is named "${found.name}"; set ${s.key}.name to "${found.name}" (adoption never renames)`);
        }
        const onNetwork = networkId === undefined ? undefined : found.networks.find((n) => String(n.networkId) === networkId);
        const elsewhere = found.networks.filter((n) => String(n.networkId) !== networkId);
        if (onNetwork !== undefined && onNetwork.ip !== s.privateIp) {
            problems.push(`${k(`${s.key}.privateIp`)} = "${s.privateIp}": ${what} is on network ${networkId} at ${onNetwork.ip}; set ${s.key}.privateIp to ${onNetwork.ip} (adoption never moves a server)`);
        }
        for (const n of elsewhere) {
            problems.push(
                networkId === undefined
                    ? `${k("network.importId")} = missing: ${what} (${s.key}) is already on network ${n.networkId} at ${n.ip}; a second network overlapping it is refused by Hetzner (networks_overlap): set network.importId to ${n.networkId} to adopt it`
                    : `${id}: ${what} is also on network ${n.networkId} at ${n.ip}, not only on network.importId ${networkId}; detach it there first (\`hcloud server detach-from-network ${s.importId} --network ${n.networkId}\`) or adopt that network instead`,
            );
        }
        for (const fid of found.firewallIds) {
            const adoptedForRole = config.firewalls[s.role]?.importId;
            if (String(fid) === adoptedForRole) continue;
            const fw = facts.firewalls[String(fid)];
            if (fw !== undefined && ownFirewall(fw, s.role) && adoptedForRole === undefined) continue;
            const desc = fw === undefined ? `firewall ${fid}` : `firewall ${fid} ("${fw.name}": ${describeRules(fw)})`;
            problems.push(
                `${k(`firewalls.${s.role}.importId`)} = ${adoptedForRole === undefined ? "missing" : `"${adoptedForRole}"`}: ${what} (${s.key}) has ${desc} applied, which this stack does not manage; Hetzner combines the rules of every applied firewall, so its rules would stay in force beside the ${s.role} firewall's. Adopt it (\`pulumi config set --path ${k(`firewalls.${s.role}.importId`)} ${fid}\`: its rules become the configured ones) or remove it from the server (\`hcloud firewall remove-from-resource ${fid} --type server --server ${s.importId}\`)`,
            );
        }
    }

    // Adopted firewalls: the one attachment per firewall must not take it away from anything else.
    for (const role of ["web", "jobs"] as const) {
        const fid = config.firewalls[role]?.importId;
        if (fid === undefined) continue;
        const fw = facts.firewalls[fid];
        const key = `${k(`firewalls.${role}.importId`)} = "${fid}"`;
        if (fw === undefined) {
            problems.push(`${key}: no such firewall in this hcloud project${said(facts, `firewall ${fid}`)}; find its id with \`hcloud firewall list\``);
            continue;
        }
        const ours = new Set(adoptedServers(config).filter((s) => s.role === role).map((s) => s.importId));
        for (const a of fw.applyTos) {
            if (a.labelSelector) {
                problems.push(`${key}: firewall "${fw.name}" is applied by the label selector "${a.labelSelector}"; this stack applies it to its ${role} servers only and would remove the selector: remove it first (\`hcloud firewall remove-from-resource ${fid} --type label_selector --label-selector '${a.labelSelector}'\`)`);
            } else if (!ours.has(String(a.server))) {
                problems.push(`${key}: firewall "${fw.name}" is also applied to server ${a.server}, which is not an adopted ${role} server of this stack; the ${role} attachment would remove it from there: remove it from that server first, or adopt another firewall`);
            }
        }
        // Its rules differing from the configured ones is no refusal: enforcing them is why a
        // firewall is adopted (verifyAdoption logs the change; the preview shows it).
    }
    return problems;
}

export class AdoptionError extends Error {
    constructor(readonly problems: string[]) {
        super(
            `Adoption refused before any change (nothing was imported, created or changed) - ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
        );
        this.name = "AdoptionError";
    }
}

/** How a firewall's inbound rules change when it is adopted (for the log): undefined if they already match. */
export function firewallRulesChange(role: "web" | "jobs", config: StackConfig, fw: FoundFirewall): string | undefined {
    const before = describeRules(fw);
    const after = describeRules({ ...fw, rules: firewallRules(role, config.ssh.adminCidrs) });
    return before === after ? undefined : `firewall ${fw.id} ("${fw.name}") rules: ${before}  ->  ${after}`;
}

function numbers(list: unknown): number[] {
    return Array.isArray(list) ? list.map(Number) : [];
}

/**
 * Read the facts with the provider's data sources. An object that cannot be read is left
 * out, with what the provider said: the check then refuses, naming its key (a missing
 * object and an unreadable one both stop the adoption).
 */
export async function lookupFacts(config: StackConfig): Promise<Facts> {
    const ids = idsToRead(config);
    const facts: Facts = { servers: {}, firewalls: {}, failed: {} };
    const quietly = async <T>(what: string, p: Promise<T>): Promise<T | undefined> => {
        try {
            return await p;
        } catch (e) {
            facts.failed![what] = (e as Error)?.message || String(e);
            return undefined;
        }
    };
    if (ids.network !== undefined) {
        const n = await quietly(`network ${ids.network}`, hcloud.getNetwork({ id: Number(ids.network) }));
        if (n !== undefined) facts.network = { id: Number(n.id), name: n.name, ipRange: n.ipRange };
    }
    const firewallIds = new Set(ids.firewalls);
    for (const id of ids.servers) {
        const s = await quietly(`server ${id}`, hcloud.getServer({ id: Number(id) }));
        if (s === undefined) continue;
        facts.servers[id] = {
            id: Number(s.id),
            name: s.name,
            ipv4Address: s.ipv4Address,
            networks: (s.networks ?? []).map((n) => ({ networkId: Number(n.networkId), ip: n.ip, aliasIps: n.aliasIps ?? [] })),
            firewallIds: numbers(s.firewallIds),
        };
        for (const f of facts.servers[id].firewallIds) firewallIds.add(String(f));
    }
    for (const id of firewallIds) {
        const f = await quietly(`firewall ${id}`, hcloud.getFirewall({ id: Number(id) }));
        if (f === undefined) continue;
        facts.firewalls[id] = {
            id: Number(f.id ?? id),
            name: f.name,
            labels: (f.labels ?? {}) as Record<string, string>,
            rules: (f.rules ?? []).map((r) => ({ direction: r.direction, protocol: r.protocol, port: r.port, sourceIps: r.sourceIps })),
            applyTos: (f.applyTos ?? []).map((a) => ({ server: Number(a.server ?? 0), labelSelector: a.labelSelector ?? "" })),
        };
    }
    return facts;
}

/**
 * Read, compare, refuse. Resolves when there is nothing to adopt or everything matches;
 * rejects with an AdoptionError listing every problem otherwise.
 */
export async function verifyAdoption(config: StackConfig, log: (message: string) => void = () => undefined): Promise<void> {
    const ids = idsToRead(config);
    if (ids.network === undefined && ids.servers.length === 0 && ids.firewalls.length === 0) return;
    const facts = await lookupFacts(config);
    const problems = adoptionProblems(config, facts);
    if (problems.length > 0) throw new AdoptionError(problems);
    for (const role of ["web", "jobs"] as const) {
        const fid = config.firewalls[role]?.importId;
        const fw = fid === undefined ? undefined : facts.firewalls[fid];
        const change = fw === undefined ? undefined : firewallRulesChange(role, config, fw);
        if (change !== undefined) log(`adoption: the preview shows ~ update of rules on the adopted ${role} firewall: ${change}`);
    }
    for (const s of adoptedServers(config)) {
        log(`adoption: ${s.key} = server ${s.importId} ("${facts.servers[s.importId].name}", ${s.publicIp}, ${s.privateIp}): checked`);
    }
}
