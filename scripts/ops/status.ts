/**
 * `status`: what ops-status.sh printed on each host, parsed, judged and formatted. Pure.
 *
 * Healthy means (anything else makes the exit code 1):
 * - every host answered and listed its containers;
 * - the web host runs a web container, the Postgres accessory and kamal-proxy, and no Solid
 *   Queue process is live from it (SOLID_QUEUE_IN_PUMA would register one);
 * - every jobs host runs a jobs container and has a live supervisor and a live worker;
 * - no container is restarting or reports `unhealthy`;
 * - the queue database could be read.
 * Warnings (failed jobs, a backlog, late scheduled jobs, jobs claimed by dead processes,
 * paused queues, memory nearly full, live processes from unknown hostnames) are shown but
 * do not change the exit code.
 */
import { Host, hostnamePrefixes, Inventory } from "./inventory";

export interface ContainerInfo {
    name: string;
    image: string;
    state: string;
    /** Seconds since the epoch; undefined when never started. */
    startedAt?: number;
    health: string;
    restarts: number;
    hostname: string;
    service: string;
    role: string;
}

export interface ProcessRow {
    id: number;
    kind: string;
    hostname: string;
    pid: string;
    heartbeatAgeSeconds: number;
    supervisorId?: number;
    name: string;
}

export interface Memory {
    total: number;
    available: number;
    swapTotal: number;
    swapFree: number;
}

export interface QueueInfo {
    processes: ProcessRow[];
    jobs: Record<string, { count: number; oldestAgeSeconds?: number }>;
    queues: { name: string; ready: number; oldestAgeSeconds: number }[];
    paused: string[];
}

export interface HostProbe {
    now?: number;
    containers: ContainerInfo[];
    dockerError?: string;
    memory?: Memory;
    queue?: QueueInfo;
    queueError?: string;
}

export interface HostResult {
    host: Host;
    /** false: ssh could not reach the host. */
    reachable: boolean;
    /** Why the host did not answer, or why the script failed. */
    error?: string;
    probe?: HostProbe;
}

/** The names the web host's fixed containers have (postgresAccessory.ts, web-rollout.sh). */
export interface ExpectedContainers {
    service: string;
    postgres: string;
    proxy: string;
}

const num = (s: string | undefined): number | undefined => (s === undefined || s === "" || !/^-?[0-9]+$/.test(s) ? undefined : Number(s));

/** Parse ops-status.sh's records. Unknown record types are ignored (a newer script). */
export function parseProbe(stdout: string): HostProbe {
    const probe: HostProbe = { containers: [] };
    for (const line of stdout.split("\n")) {
        if (line === "") continue;
        const f = line.split("\t");
        switch (f[0]) {
            case "now":
                probe.now = num(f[1]);
                break;
            case "container": {
                const started = Date.parse(f[4] ?? "");
                probe.containers.push({
                    name: (f[1] ?? "").replace(/^\//, ""),
                    image: f[2] ?? "",
                    state: f[3] ?? "",
                    ...(Number.isFinite(started) && started > 0 ? { startedAt: Math.floor(started / 1000) } : {}),
                    health: f[5] ?? "",
                    restarts: num(f[6]) ?? 0,
                    hostname: f[7] ?? "",
                    service: f[8] ?? "",
                    role: f[9] ?? "",
                });
                break;
            }
            case "docker-error":
                probe.dockerError = f.slice(1).join(" ");
                break;
            case "memory":
                probe.memory = { total: num(f[1]) ?? 0, available: num(f[2]) ?? 0, swapTotal: num(f[3]) ?? 0, swapFree: num(f[4]) ?? 0 };
                break;
            case "process":
            case "jobs":
            case "queue":
            case "paused": {
                probe.queue ??= { processes: [], jobs: {}, queues: [], paused: [] };
                const q = probe.queue;
                if (f[0] === "process") {
                    const sup = num(f[6]);
                    q.processes.push({
                        id: num(f[1]) ?? 0,
                        kind: f[2] ?? "",
                        hostname: f[3] ?? "",
                        pid: f[4] ?? "",
                        heartbeatAgeSeconds: num(f[5]) ?? 0,
                        ...(sup === undefined ? {} : { supervisorId: sup }),
                        name: f[7] ?? "",
                    });
                } else if (f[0] === "jobs") {
                    const oldest = num(f[3]);
                    q.jobs[f[1]] = { count: num(f[2]) ?? 0, ...(oldest === undefined ? {} : { oldestAgeSeconds: oldest }) };
                } else if (f[0] === "queue") {
                    q.queues.push({ name: f[1] ?? "", ready: num(f[2]) ?? 0, oldestAgeSeconds: num(f[3]) ?? 0 });
                } else {
                    q.paused.push(f[1] ?? "");
                }
                break;
            }
            case "queue-error":
                probe.queueError = f.slice(1).join(" ");
                break;
        }
    }
    return probe;
}

/**
 * A host reached through another one cannot answer when that one does not: say so, instead
 * of the ProxyCommand's "Connection closed by UNKNOWN port 65535".
 */
export function explainUnreachable(results: HostResult[]): HostResult[] {
    return results.map((r) => {
        const via = r.host.via === undefined ? undefined : results.find((x) => x.host.name === r.host.via);
        if (r.reachable || via === undefined || via.reachable) return r;
        return { ...r, error: `not reached: it is reached through ${via.host.name}, which did not answer` };
    });
}

export function isLive(p: ProcessRow, liveSeconds: number): boolean {
    return p.heartbeatAgeSeconds < liveSeconds;
}

/**
 * Which host a Solid Queue process runs on: a container hostname a host reported, else the
 * longest matching hostname prefix (`<host>-...`, `<address>-...`); undefined if none.
 */
export function processHost(hostname: string, results: HostResult[]): string | undefined {
    for (const r of results) {
        if (r.probe?.containers.some((c) => c.hostname !== "" && c.hostname === hostname)) return r.host.name;
    }
    let best: { name: string; len: number } | undefined;
    for (const r of results) {
        for (const p of hostnamePrefixes(r.host)) {
            if ((hostname === p || hostname.startsWith(`${p}-`)) && (!best || p.length > best.len)) best = { name: r.host.name, len: p.length };
        }
    }
    return best?.name;
}

export interface Assessment {
    healthy: boolean;
    problems: string[];
    warnings: string[];
    /** Solid Queue processes by host name; those of no known host under "". */
    processes: Map<string, ProcessRow[]>;
    queue?: QueueInfo;
}

/** Thresholds for warnings. */
export const WARN = { readyAgeSeconds: 300, dueAgeSeconds: 300, memoryUsedPercent: 90 };

export function assess(inv: Inventory, results: HostResult[], expected: ExpectedContainers, liveSeconds: number): Assessment {
    const problems: string[] = [];
    const warnings: string[] = [];
    const web = results.find((r) => r.host.role === "web");
    const queue = web?.probe?.queue;
    const processes = new Map<string, ProcessRow[]>();
    for (const p of queue?.processes ?? []) {
        const owner = processHost(p.hostname, results) ?? "";
        processes.set(owner, [...(processes.get(owner) ?? []), p]);
    }
    const live = (name: string) => (processes.get(name) ?? []).filter((p) => isLive(p, liveSeconds));
    const kinds = (ps: ProcessRow[]) => [...new Set(ps.map((p) => `${p.kind} ${p.hostname}`))].join(", ");

    for (const r of results) {
        const h = r.host.name;
        if (!r.reachable) {
            problems.push(`${h}: did not answer (${r.error})`);
            continue;
        }
        if (r.error !== undefined) {
            problems.push(`${h}: the status script failed: ${r.error}`);
            continue;
        }
        const probe = r.probe!;
        if (probe.dockerError !== undefined) {
            problems.push(`${h}: ${probe.dockerError}`);
        } else {
            for (const c of probe.containers) {
                if (c.state !== "running") problems.push(`${h}: container ${c.name} is ${c.state}${c.restarts ? ` (${c.restarts} restarts)` : ""}`);
                else if (c.health === "unhealthy") problems.push(`${h}: container ${c.name} is unhealthy`);
                else if (c.health === "starting") warnings.push(`${h}: container ${c.name} is still starting (health check)`);
            }
            const running = (pred: (c: ContainerInfo) => boolean) => probe.containers.some((c) => c.state === "running" && pred(c));
            const app = (role: string) => (c: ContainerInfo) => c.service === expected.service && c.role === role;
            if (r.host.role === "web") {
                if (!running(app("web"))) problems.push(`${h}: no ${expected.service} web container is running`);
                if (!running((c) => c.name === expected.postgres)) problems.push(`${h}: ${expected.postgres} is not running`);
                if (!running((c) => c.name === expected.proxy)) problems.push(`${h}: ${expected.proxy} is not running`);
            } else if (!running(app("jobs"))) {
                problems.push(`${h}: no ${expected.service} jobs container is running`);
            }
        }
        if (probe.memory && probe.memory.total > 0) {
            const used = usedPercent(probe.memory);
            if (used >= WARN.memoryUsedPercent) warnings.push(`${h}: memory ${used}% used`);
        }
    }

    if (web?.reachable && web.error === undefined) {
        if (web.probe?.queueError !== undefined) problems.push(`queue database ${inv.postgres.queue}: not readable: ${web.probe.queueError}`);
        else if (queue === undefined) problems.push(`queue database ${inv.postgres.queue}: no answer from ${web.host.name}`);
    }

    if (queue !== undefined) {
        for (const r of results) {
            const h = r.host.name;
            const ps = live(h);
            if (r.host.role === "web") {
                if (ps.length > 0) {
                    problems.push(`${h}: ${ps.length} live Solid Queue process(es) registered from the web host (${kinds(ps)}): jobs must run on the jobs hosts only; is SOLID_QUEUE_IN_PUMA still set, or a Kamal container still running?`);
                }
            } else {
                if (!ps.some((p) => p.kind.startsWith("Supervisor"))) problems.push(`${h}: no live Solid Queue supervisor`);
                if (!ps.some((p) => p.kind === "Worker")) problems.push(`${h}: no live Solid Queue worker`);
            }
        }
        const stray = live("");
        if (stray.length > 0) warnings.push(`live Solid Queue process(es) from hostnames of no known host: ${kinds(stray)}`);
        const j = (k: string) => queue.jobs[k] ?? { count: 0 };
        if (j("failed").count > 0) warnings.push(`${j("failed").count} failed job(s) (solid_queue_failed_executions; those of pruned processes fail with SolidQueue::Processes::ProcessPrunedError): look at them, then retry (bin/rails runner 'SolidQueue::FailedExecution.retry_all(SolidQueue::FailedExecution.all.map(&:job))' via npm run ops -- console) or discard`);
        const ready = j("ready");
        if (ready.count > 0 && (ready.oldestAgeSeconds ?? 0) >= WARN.readyAgeSeconds) {
            warnings.push(`the oldest ready job has waited ${formatAge(ready.oldestAgeSeconds!)}: workers are behind or not taking this queue`);
        }
        const due = j("scheduled_due");
        if (due.count > 0 && (due.oldestAgeSeconds ?? 0) >= WARN.dueAgeSeconds) {
            warnings.push(`${due.count} scheduled job(s) overdue by up to ${formatAge(due.oldestAgeSeconds!)}: is a dispatcher running?`);
        }
        if (j("claimed_orphaned").count > 0) {
            warnings.push(`${j("claimed_orphaned").count} claimed job(s) held by processes that are gone; when Solid Queue prunes those processes (heartbeat older than 5 min) it marks these jobs FAILED (ProcessPrunedError), not released: retry them then`);
        }
        if (queue.paused.length > 0) warnings.push(`paused queue(s): ${queue.paused.join(", ")}`);
    }
    return { healthy: problems.length === 0, problems, warnings, processes, queue };
}

export function statusExitCode(a: Assessment): number {
    return a.healthy ? 0 : 1;
}

// ---------------------------------------------------------------------------------------
// formatting

export function formatAge(seconds: number): string {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
    return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function formatBytes(bytes: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = bytes;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function usedPercent(m: Memory): number {
    return m.total > 0 ? Math.round(((m.total - m.available) / m.total) * 100) : 0;
}

function table(rows: string[][], indent: string): string[] {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd());
}

function hostLine(h: Host): string {
    const where = h.via ? `${h.address}${h.port ? `:${h.port}` : ""} via ${h.via}` : `${h.address}${h.port ? `:${h.port}` : ""}`;
    return `${h.name} (${h.role}, ${where}, private ${h.privateIp})`;
}

export function formatStatus(inv: Inventory, results: HostResult[], a: Assessment, liveSeconds: number): string {
    const out: string[] = [];
    out.push(`hosts from ${inv.source}; queue database ${inv.postgres.queue} in ${inv.postgres.container}`);
    for (const n of inv.notes) out.push(`note: ${n}`);
    for (const r of results) {
        out.push("");
        out.push(hostLine(r.host));
        if (!r.reachable) {
            out.push(`  did not answer: ${r.error}`);
            continue;
        }
        if (r.error !== undefined) {
            out.push(`  status script failed: ${r.error}`);
            continue;
        }
        const p = r.probe!;
        if (p.memory && p.memory.total > 0) {
            const m = p.memory;
            out.push(
                `  memory: ${formatBytes(m.total - m.available)} of ${formatBytes(m.total)} used (${usedPercent(m)}%)` +
                    (m.swapTotal > 0 ? `, swap ${formatBytes(m.swapTotal - m.swapFree)} of ${formatBytes(m.swapTotal)}` : ", no swap"),
            );
        }
        if (p.dockerError !== undefined) out.push(`  containers: ${p.dockerError}`);
        else if (p.containers.length === 0) out.push("  containers: none running");
        else {
            out.push("  containers:");
            const rows = [["NAME", "IMAGE", "STATE", "UP", "HEALTH"]];
            for (const c of [...p.containers].sort((x, y) => x.name.localeCompare(y.name))) {
                const up = c.startedAt !== undefined && p.now !== undefined ? formatAge(p.now - c.startedAt) : "-";
                rows.push([c.name, c.image, c.state + (c.restarts ? ` (${c.restarts} restarts)` : ""), up, c.health || "-"]);
            }
            out.push(...table(rows, "    "));
        }
        if (a.queue !== undefined) {
            const ps = a.processes.get(r.host.name) ?? [];
            out.push(...formatProcesses(ps, liveSeconds, r.host.role === "web" ? "none (good: jobs run on the jobs hosts)" : "none"));
        }
    }
    out.push("");
    const web = results.find((r) => r.host.role === "web");
    if (a.queue === undefined) {
        out.push(`queue ${inv.postgres.queue}: unknown (${web?.probe?.queueError ?? web?.error ?? "the web host did not answer"})`);
    } else {
        const q = a.queue;
        const j = (k: string) => q.jobs[k] ?? { count: 0 };
        const ready = j("ready");
        const due = j("scheduled_due");
        out.push(`queue ${inv.postgres.queue}:`);
        out.push(
            `  ready ${ready.count}${ready.count > 0 && ready.oldestAgeSeconds !== undefined ? ` (oldest waiting ${formatAge(ready.oldestAgeSeconds)})` : ""}` +
                `, scheduled ${j("scheduled").count}${due.count > 0 ? ` (${due.count} due, up to ${formatAge(due.oldestAgeSeconds ?? 0)} late)` : ""}` +
                `, claimed ${j("claimed").count}${j("claimed_orphaned").count > 0 ? ` (${j("claimed_orphaned").count} by gone processes)` : ""}` +
                `, failed ${j("failed").count}, blocked ${j("blocked").count}`,
        );
        if (q.queues.length > 0) out.push(`  ready by queue: ${q.queues.map((x) => `${x.name} ${x.ready} (oldest ${formatAge(x.oldestAgeSeconds)})`).join(", ")}`);
        if (q.paused.length > 0) out.push(`  paused: ${q.paused.join(", ")}`);
        const stray = a.processes.get("") ?? [];
        if (stray.length > 0) out.push(...formatProcesses(stray, liveSeconds, "", "processes from other hostnames"));
    }
    out.push("");
    out.push(a.healthy ? "healthy" : `UNHEALTHY: ${a.problems.length} problem(s)`);
    for (const p of a.problems) out.push(`  problem: ${p}`);
    for (const w of a.warnings) out.push(`  warning: ${w}`);
    return out.join("\n") + "\n";
}

function formatProcesses(ps: ProcessRow[], liveSeconds: number, none: string, title = "solid queue"): string[] {
    if (ps.length === 0) return [`  ${title}: ${none}`];
    const liveCount = ps.filter((p) => isLive(p, liveSeconds)).length;
    const out = [`  ${title}: ${liveCount} live${ps.length > liveCount ? `, ${ps.length - liveCount} stale` : ""}`];
    const rows = [["KIND", "HOSTNAME", "PID", "HEARTBEAT"]];
    const order = (k: string) => (k.startsWith("Supervisor") ? 0 : k === "Worker" ? 1 : 2);
    const sorted = [...ps].sort(
        (x, y) => Number(!isLive(x, liveSeconds)) - Number(!isLive(y, liveSeconds)) || x.hostname.localeCompare(y.hostname) || order(x.kind) - order(y.kind) || x.id - y.id,
    );
    for (const p of sorted) rows.push([p.kind, p.hostname, p.pid || "-", `${formatAge(p.heartbeatAgeSeconds)} ago${isLive(p, liveSeconds) ? "" : " (stale)"}`]);
    return [...out, ...table(rows, "    ")];
}

/** status --json: the same report as data. */
export function statusJson(inv: Inventory, results: HostResult[], a: Assessment): unknown {
    return {
        healthy: a.healthy,
        problems: a.problems,
        warnings: a.warnings,
        source: inv.source,
        hosts: results.map((r) => ({
            name: r.host.name,
            role: r.host.role,
            address: r.host.address,
            via: r.host.via ?? null,
            reachable: r.reachable,
            error: r.error ?? null,
            containers: r.probe?.containers ?? [],
            memory: r.probe?.memory ?? null,
            processes: a.processes.get(r.host.name) ?? [],
        })),
        queue: a.queue === undefined ? null : { database: inv.postgres.queue, jobs: a.queue.jobs, queues: a.queue.queues, paused: a.queue.paused, otherProcesses: a.processes.get("") ?? [] },
    };
}
