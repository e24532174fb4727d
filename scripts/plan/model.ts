/**
 * The offline plan's model: the real program evaluated on Pulumi's mocks for a stack's config,
 * read back into what a reviewer wants to see. Everything here comes from the registered
 * resources (and, for the release, from the command text and scripts the steps will run), not
 * from a second description of the system.
 *
 * Nothing secret is kept: env files and container envs are reduced to their variable NAMES.
 */
import { ADOPTED_INTENDED_DIFFS, HCLOUD_INPUTS, isAdoptableType } from "../../components/adoption";
import { coversTcpPort, firewallsOf, inboundRules, TYPES } from "../../policy/rules";
import { parseConfig } from "../../stacks/config";
import { readStackFile, StackFile } from "../../stacks/stackFile";
import { Captured, evaluate, MOCK_DIGEST, valueOf } from "../evaluate";
import { toPolicyResources } from "./policyResources";
import { dockerRuns, expand, parseScriptCommand, scriptSummary, scriptVariables } from "./shell";
import { StandIns, withStandIns } from "./standIns";

export interface PlanHost {
    name: string;
    role: string;
    /** As known before `pulumi up`: the adopted server's configured address, else "(assigned at create)". */
    publicIp: string;
    adopted: boolean;
    importId?: string;
    privateIp: string;
    serverType: string;
    location: string;
    firewalls: { name: string; how: string }[];
}

export interface PlanRule {
    port: string;
    protocol: string;
    source: string;
    /** Hosts whose firewall has the rule. */
    hosts: string[];
    description?: string;
}

export interface PlanContainer {
    host: string;
    name: string;
    image: string;
    command?: string;
    /** host-address:port -> container port; empty when not published. */
    published: string[];
    network?: string;
    restart?: string;
    oneOff: boolean;
    /** Env variable names only, and where they come from. */
    envFile?: string;
    envNames: string[];
    mounts: string[];
    /** What creates it: a docker.Container resource, or a release step and its script. */
    createdBy: string;
    /** From its labels: the app role (web, jobs) and the release id (a digest of image and role env). */
    role?: string;
    release?: string;
}

export interface PlanStep {
    stage: number;
    name: string;
    type: "command" | "container";
    /** "release": a step of the Release component (re-runs on a deploy); "host": host and Postgres set-up. */
    group: "host" | "release";
    host?: string;
    script?: string;
    summary?: string;
    after: string[];
}

/**
 * An object adopted by `import` (an importId in the config): which of its inputs the program
 * declares (compared with the real object before any change, or part of its import id) and
 * which it ignores (taken from the real object on import, never changed). Only a declared input
 * can ever show a diff; `npm run plan -- --preview FILE` checks a real preview for that.
 */
export interface PlanAdopted {
    /** The Pulumi resource name (the last part of its URN). */
    name: string;
    type: string;
    importId: string;
    declared: string[];
    ignored: string[];
    /** Declared inputs whose diff is the intended one (an adopted firewall's rules). */
    intended: string[];
}

export interface Plan {
    stack: string;
    source: string;
    refuse: string[];
    unreadable: string[];
    network?: { name: string; ipRange: string; subnet?: string; zone?: string };
    hosts: PlanHost[];
    rules: PlanRule[];
    /** Inbound rules over all firewalls, one per (firewall, port, source). */
    ruleCount: number;
    /** Ports of interest no rule opens on any host (5432). */
    closed: { port: number; note: string }[];
    containers: PlanContainer[];
    steps: PlanStep[];
    /** Objects adopted by import, in the order the program registers them. */
    adopted: PlanAdopted[];
    /** The longest chain of steps that must run one after the other (its length is the number of stages). */
    chain: string[];
    /** Accepted, but worth saying (from the config: e.g. no _cache database). */
    warnings: string[];
    /** Stand-in text -> how to show it. */
    display: [string, string][];
    /** Values that must never appear in the output. */
    secrets: string[];
}

/** Evaluate a stack's own file. */
export async function planForStack(stack: string, dir?: string): Promise<Plan> {
    const file: StackFile = readStackFile(stack, dir);
    const standIns = withStandIns(file);
    // What only the file shows (a plain-text secret, a misspelt namespace) is refused with the rest.
    if (file.problems.length > 0) parseConfig(standIns.raw, file.problems);
    return buildPlan(standIns.raw, { stack, source: `Pulumi.${stack}.yaml`, standIns });
}

/** Evaluate raw config values (keys without `shred-day:`), e.g. a test's variant of the production config. */
export async function planForConfig(raw: Record<string, unknown>, stack = "production"): Promise<Plan> {
    return buildPlan(raw, { stack, source: "config values" });
}

const RELEASE_PLACEHOLDER = "<release>";
/** The component whose steps make a release (components/release.ts). */
const RELEASE_COMPONENT = "shred-day:release:Release";

/**
 * The longest chain of steps (remote commands and containers) linked by dependsOn: the steps
 * that must run one after the other. Its length is the number of stages, whatever the number of
 * jobs hosts (per-host steps share a stage). The plan, the bench and the README give this number.
 */
export function longestChain(steps: PlanStep[]): string[] {
    if (steps.length === 0) return [];
    const byName = new Map(steps.map((s) => [s.name, s]));
    let at = steps.reduce((a, b) => (b.stage > a.stage ? b : a));
    const chain = [at.name];
    while (at.stage > 1) {
        const prev = at.after.map((n) => byName.get(n)!).find((d) => d !== undefined && d.stage === at.stage - 1);
        if (prev === undefined) break;
        chain.unshift(prev.name);
        at = prev;
    }
    return chain;
}

async function buildPlan(raw: Record<string, unknown>, meta: { stack: string; source: string; standIns?: StandIns }): Promise<Plan> {
    const e = await evaluate(raw);
    const resources = e.resources.filter((r) => r.custom);
    const policyResources = toPolicyResources(resources, meta.stack);
    const byUrn = new Map(policyResources.map((r, i) => [r.urn!, resources[i]]));

    // Hosts: the servers, with the address each is reached at in the evaluation (mock addresses).
    const ipToHost = new Map<string, string>();
    for (const [name, h] of Object.entries(e.stack.hosts)) ipToHost.set(await valueOf(h.publicIp), name);
    const servers = policyResources.filter((r) => r.type === TYPES.server);
    const hosts: PlanHost[] = servers.map((s) => {
        const c = byUrn.get(s.urn!)!;
        const name = String(s.props.name);
        const attachment = resources.find((r) => r.type === "hcloud:index/serverNetwork:ServerNetwork" && String(r.inputs.serverId) === c.id);
        const privateIp = attachment?.inputs.ip ?? s.props.networks?.[0]?.ip ?? "(none)";
        const adopted = c.importId !== undefined;
        const configured = e.config.web.name === name ? e.config.web.publicIp : e.config.jobs.hosts.find((h) => h.name === name)?.publicIp;
        return {
            name,
            role: String(s.props.labels?.role ?? "?"),
            publicIp: adopted && configured ? configured : "(assigned at create)",
            adopted,
            importId: c.importId,
            privateIp: String(privateIp),
            serverType: String(s.props.serverType),
            location: String(s.props.location),
            firewalls: firewallsOf(s, policyResources).map((f) => ({ name: String(f.firewall?.props.name ?? "(unmanaged)"), how: f.how })),
        };
    });
    const hostOfServer = new Map(servers.map((s, i) => [s, hosts[i].name]));

    // Firewall matrix: one row per (port, protocol, source); which hosts have it.
    const rules: PlanRule[] = [];
    for (const fw of policyResources.filter((r) => r.type === TYPES.firewall)) {
        const covered = servers.filter((s) => firewallsOf(s, policyResources).some((f) => f.firewall === fw)).map((s) => hostOfServer.get(s)!);
        for (const rule of inboundRules(fw.props)) {
            for (const source of rule.sources) {
                const port = typeof rule.port === "string" ? rule.port : "any";
                const protocol = typeof rule.protocol === "string" ? rule.protocol : "?";
                const src = typeof source === "string" ? source : "(unknown)";
                let row = rules.find((x) => x.port === port && x.protocol === protocol && x.source === src);
                if (!row) {
                    row = { port, protocol, source: src, hosts: [], description: rule.description };
                    rules.push(row);
                }
                for (const h of covered) if (!row.hosts.includes(h)) row.hosts.push(h);
            }
        }
    }
    const hostIndex = (h: string) => hosts.findIndex((x) => x.name === h);
    for (const r of rules) r.hosts.sort((a, b) => hostIndex(a) - hostIndex(b));
    const portNumber = (p: string) => Number(/^\d+/.exec(p)?.[0] ?? 65536);
    rules.sort((a, b) => portNumber(a.port) - portNumber(b.port) || a.protocol.localeCompare(b.protocol) || sourceOrder(a.source) - sourceOrder(b.source));
    const allRules = policyResources.filter((r) => r.type === TYPES.firewall).flatMap((f) => inboundRules(f.props));
    const ruleCount = allRules.reduce((n, r) => n + r.sources.length, 0);
    const closed = allRules.some((r) => coversTcpPort(r, 5432))
        ? []
        : [{ port: 5432, note: `no rule on any host: Postgres is reachable on the private network only (${e.config.web.privateIp}:5432)` }];

    // Release steps: every remote command, with its parameters and script.
    const releaseIds = new Set<string>();
    const commands = resources
        .filter((r) => r.type === TYPES.remoteCommand)
        .map((c) => {
            const parsed = parseScriptCommand(c.inputs.create);
            if (parsed?.params.RELEASE) releaseIds.add(parsed.params.RELEASE);
            return { c, parsed, host: ipToHost.get(c.inputs.connection?.host) ?? String(c.inputs.connection?.host ?? "?") };
        });
    // The digest an image is pinned to is known only when the hosts pull it: show the configured image.
    const unrelease = (s: string) => [...releaseIds].reduce((acc, id) => acc.split(id).join(RELEASE_PLACEHOLDER), s).split(`@${MOCK_DIGEST}`).join("");

    // Containers: docker.Container resources, and what the release steps' scripts `docker run`.
    const containers: PlanContainer[] = [];
    for (const c of resources.filter((r) => r.type === TYPES.container)) {
        const provider = resources.find((r) => r.type.startsWith("pulumi:providers:docker") && r.parent === c.parent);
        const ip = /@([^:/]+)/.exec(String(provider?.inputs.host ?? ""))?.[1];
        const image = resources.find((r) => r.type === "docker:index/remoteImage:RemoteImage" && r.parent === c.parent && String(c.inputs.image).startsWith(r.inputs.name));
        containers.push({
            host: (ip && ipToHost.get(ip)) ?? "?",
            name: String(c.inputs.name),
            image: String(image?.inputs.name ?? c.inputs.image),
            published: (c.inputs.ports ?? []).map((p: any) => `${p.ip || "0.0.0.0"}:${p.external ?? p.internal} -> ${p.internal}/${p.protocol ?? "tcp"}`),
            network: c.inputs.networkMode,
            restart: c.inputs.restart,
            oneOff: false,
            envNames: (c.inputs.envs ?? []).map((x: string) => x.split("=")[0]).sort(),
            mounts: (c.inputs.volumes ?? []).map((v: any) => `${v.hostPath ?? v.volumeName ?? "(anonymous)"} -> ${v.containerPath}${v.hostPath ? " (host bind mount)" : ""}`),
            createdBy: `docker.Container ${c.name}`,
        });
    }
    for (const { c, parsed, host } of commands) {
        if (!parsed) continue;
        const vars = scriptVariables(parsed.script, parsed.params);
        for (const run of dockerRuns(parsed.script)) {
            const x = (s: string | undefined) => (s === undefined ? undefined : unrelease(expand(s, vars)));
            const envFile = x(run.envFiles[0]);
            containers.push({
                host,
                name: x(run.name) ?? "(unnamed)",
                image: x(run.image) ?? "?",
                command: run.command.length > 0 ? run.command.map((w) => x(w)).join(" ") : undefined,
                published: run.publish.map((p) => describePublish(x(p)!)),
                network: x(run.network),
                restart: x(run.restart),
                oneOff: run.rm,
                envFile,
                envNames: [...new Set([...(envFile ? envNamesFor(envFile, host, commands) : []), ...run.env])].sort(),
                mounts: run.volumes.map((v) => x(v)!),
                createdBy: `${c.name} (${parsed.name}.sh)`,
                role: labelValue(run.labels, "role", vars),
                release: labelValue(run.labels, "release", vars),
            });
        }
    }

    // The order things run: remote commands and containers, staged by dependsOn (transitively
    // through the resources in between); one stage runs in parallel.
    const containerHosts = new Map(containers.filter((c) => c.createdBy.startsWith("docker.Container ")).map((c) => [c.createdBy.slice("docker.Container ".length), c.host]));
    const releaseSteps = new Set(e.resources.filter((r) => r.custom && e.resources.some((x) => !x.custom && x.type === RELEASE_COMPONENT && x.name === r.parent)).map((r) => r.name));
    const steps = stageSteps(resources, commands, hosts, containerHosts, releaseSteps);

    return {
        stack: meta.stack,
        source: meta.source,
        refuse: meta.standIns?.refuse ?? [],
        unreadable: meta.standIns?.unreadable ?? [],
        network: networkOf(resources),
        hosts,
        rules,
        ruleCount,
        closed,
        containers,
        steps,
        adopted: adoptedObjects(resources),
        chain: longestChain(steps),
        warnings: e.config.warnings ?? [],
        display: meta.standIns?.display ?? [],
        secrets: [...(meta.standIns?.secretStandIns ?? [])],
    };
}

/** The adopted objects of an evaluation: every resource registered with `import`. */
export function adoptedObjects(resources: Captured[]): PlanAdopted[] {
    return resources
        .filter((r) => r.importId !== undefined)
        .map((r) => {
            const schema: readonly string[] = isAdoptableType(r.type) ? HCLOUD_INPUTS[r.type] : Object.keys(r.inputs);
            const ignored = new Set(r.ignoreChanges);
            const declared = schema.filter((input) => r.inputs[input] !== undefined && !ignored.has(input));
            return {
                name: r.name,
                type: r.type,
                importId: r.importId!,
                declared,
                ignored: [...ignored].sort(),
                intended: isAdoptableType(r.type) ? [...(ADOPTED_INTENDED_DIFFS[r.type] ?? [])] : [],
            };
        });
}

function labelValue(labels: string[], key: string, vars: Record<string, string>): string | undefined {
    const l = labels.map((x) => expand(x, vars)).find((x) => x.startsWith(`${key}=`));
    return l?.slice(key.length + 1);
}

function sourceOrder(s: string): number {
    if (s === "0.0.0.0/0") return 1;
    if (s === "::/0") return 2;
    return 0;
}

/** `80:80` -> `every address:80 -> 80/tcp`; `10.0.0.3:5432:5432` -> `10.0.0.3:5432 -> 5432/tcp`. */
export function describePublish(p: string): string {
    const [spec, proto = "tcp"] = p.split("/");
    const parts = spec.split(":");
    const containerPort = parts.pop()!;
    const hostPort = parts.pop() ?? containerPort;
    const ip = parts.join(":");
    const where = ip === "" || ip === "0.0.0.0" ? "every address" : ip;
    return `${where}:${hostPort || "(random)"} -> ${containerPort}/${proto}`;
}

function networkOf(resources: Captured[]): Plan["network"] {
    const net = resources.find((r) => r.type === "hcloud:index/network:Network");
    if (!net) return undefined;
    const sub = resources.find((r) => r.type === "hcloud:index/networkSubnet:NetworkSubnet");
    return { name: net.inputs.name, ipRange: net.inputs.ipRange, subnet: sub?.inputs.ipRange, zone: sub?.inputs.networkZone };
}

/**
 * The variable names of the env file at `path` on `host`: the command on that host whose stdin
 * is an env file and whose script resolves a variable to that path.
 */
function envNamesFor(path: string, host: string, commands: { c: Captured; parsed?: ReturnType<typeof parseScriptCommand>; host: string }[]): string[] {
    for (const { c, parsed, host: h } of commands) {
        if (h !== host || !parsed || typeof c.inputs.stdin !== "string") continue;
        const vars = scriptVariables(parsed.script, parsed.params);
        if (!Object.values(vars).includes(path)) continue;
        const names = c.inputs.stdin
            .split("\n")
            .map((l: string) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(l)?.[1])
            .filter((n: string | undefined): n is string => n !== undefined);
        if (names.length > 0) return names;
    }
    return [];
}

function stageSteps(
    resources: Captured[],
    commands: { c: Captured; parsed?: ReturnType<typeof parseScriptCommand>; host: string }[],
    hosts: PlanHost[],
    containerHosts: Map<string, string>,
    releaseSteps: Set<string>,
): PlanStep[] {
    const byName = new Map(resources.map((r) => [r.name, r]));
    const isStep = (r: Captured) => r.type === TYPES.remoteCommand || r.type === TYPES.container;
    // Nearest step ancestors of a resource, through non-step resources.
    const memo = new Map<string, Set<string>>();
    const stepDeps = (r: Captured, seen = new Set<string>()): Set<string> => {
        if (memo.has(r.name)) return memo.get(r.name)!;
        const out = new Set<string>();
        for (const d of r.dependsOn) {
            const dep = byName.get(d);
            if (!dep || seen.has(d)) continue;
            seen.add(d);
            if (isStep(dep)) out.add(dep.name);
            else stepDeps(dep, seen).forEach((x) => out.add(x));
        }
        memo.set(r.name, out);
        return out;
    };
    const stepResources = resources.filter(isStep);
    const stage = new Map<string, number>();
    const stageOf = (r: Captured, path: string[] = []): number => {
        if (stage.has(r.name)) return stage.get(r.name)!;
        if (path.includes(r.name)) throw new Error(`dependency cycle: ${[...path, r.name].join(" -> ")}`);
        const deps = [...stepDeps(r)].map((n) => byName.get(n)!);
        const s = 1 + Math.max(0, ...deps.map((d) => stageOf(d, [...path, r.name])));
        stage.set(r.name, s);
        return s;
    };
    stepResources.forEach((r) => stageOf(r));
    const hostOrder = (h?: string) => {
        const i = hosts.findIndex((x) => x.name === h);
        return i < 0 ? hosts.length : i;
    };
    const steps: PlanStep[] = stepResources.map((r) => {
        const cmd = commands.find((x) => x.c === r);
        return {
            stage: stage.get(r.name)!,
            name: r.name,
            type: r.type === TYPES.container ? "container" : "command",
            group: releaseSteps.has(r.name) ? "release" : "host",
            host: cmd?.host ?? containerHosts.get(r.name),
            script: cmd?.parsed?.name,
            summary: cmd?.parsed ? scriptSummary(cmd.parsed.script) : undefined,
            after: [...stepDeps(r)],
        };
    });
    // Registration order within a stage keeps related steps together; then hosts in order.
    const order = new Map(stepResources.map((r, i) => [r.name, i]));
    return steps.sort((a, b) => a.stage - b.stage || hostOrder(a.host) - hostOrder(b.host) || order.get(a.name)! - order.get(b.name)!);
}
