/**
 * The rehearsal's figures: wall time per step, the release's critical path against the app's
 * own boot, health and registration times (the program's overhead as a ratio), failed requests
 * per rollout, and the time from the start of `up` to workers proven.
 *
 * The app's own times are read from the lab's real state: the container's start (docker
 * inspect State.StartedAt), the web process's first healthy /up (its log, with timestamps),
 * the supervisor's row (solid_queue_processes.created_at), and db:prepare's own duration
 * (db-prepare.sh prints it, whole seconds).
 */
import * as fs from "fs";
import { Captured } from "../../scripts/evaluate";
import { UpResult } from "./driver";
import { LabHost } from "./lab";
import { Rehearsal, RequestResult } from "./rehearsal";

export interface StepFigure {
    step: string;
    host: string;
    seconds: number;
}

export interface UpFigures {
    label: string;
    ok: boolean;
    wallSeconds: number;
    steps: StepFigure[];
    /** The chain of steps that decided the wall time (each waited for the previous). */
    criticalPath: string[];
    criticalPathSeconds: number;
    /** From the start of `up` to the end of the proof (undefined: no proof ran). */
    workersProvenSeconds?: number;
    app?: AppFigures;
    /** criticalPathSeconds / app.totalSeconds */
    overheadRatio?: number;
    requests?: { sent: number; failed: number; servedByNewAfterSwitch?: boolean };
}

export interface AppFigures {
    dbPrepareSeconds: number;
    webBootToHealthySeconds: number;
    /** Container start -> the supervisor's row (the slowest jobs host). */
    registrationSeconds: number;
    /** Solid Queue's own wait for the first heartbeat after registering (jobs.heartbeatSeconds): the proof needs it. */
    firstHeartbeatSeconds: number;
    totalSeconds: number;
}

const round = (n: number) => Math.round(n * 100) / 100;

export function stepFigures(up: UpResult): StepFigure[] {
    return [...up.runs].sort((a, b) => a.start - b.start).map((r) => ({ step: r.name, host: r.host ?? "?", seconds: round((r.end - r.start) / 1000) }));
}

/** Walk back from the step that ended last through the dependency that ended last. */
export function criticalPath(up: UpResult): { path: string[]; seconds: number } {
    if (up.runs.length === 0) return { path: [], seconds: 0 };
    const byName = new Map(up.runs.map((r) => [r.name, r]));
    const captured = new Map<string, Captured>(up.evaluation.resources.map((r) => [r.name, r]));
    const childrenOf = (name: string): string[] => up.evaluation.resources.filter((r) => r.parent === name).flatMap((r) => (r.custom ? [r.name] : childrenOf(r.name)));
    const deps = (name: string): string[] => {
        const c = captured.get(name);
        if (!c) return [];
        const direct = [...c.dependsOn, ...c.inputDependsOn].flatMap((d) => (captured.get(d)?.custom ? [d] : childrenOf(d)));
        // Through steps that did not run (unchanged, or not remote): their own dependencies.
        return direct.flatMap((d) => (byName.has(d) ? [d] : deps(d)));
    };
    let cur = [...up.runs].sort((a, b) => b.end - a.end)[0];
    const path = [cur.name];
    for (let guard = 0; guard < 200; guard++) {
        const prev = deps(cur.name)
            .map((d) => byName.get(d)!)
            .filter(Boolean)
            .sort((a, b) => b.end - a.end)[0];
        if (!prev) break;
        path.unshift(prev.name);
        cur = prev;
    }
    const last = byName.get(path[path.length - 1])!;
    return { path, seconds: round(last.end / 1000) };
}

function seconds(isoA: string, isoB: string): number {
    return (Date.parse(isoB) - Date.parse(isoA)) / 1000;
}

/** The app's own times for the release that `up` rolled out (from the lab's state after it). */
export async function appFigures(r: Rehearsal, up: UpResult): Promise<AppFigures | undefined> {
    const migrate = up.runs.find((x) => /db-prepare: done in ([0-9]+)s/.test(x.stdout));
    const dbPrepareSeconds = migrate ? Number(/db-prepare: done in ([0-9]+)s/.exec(migrate.stdout)![1]) : 0;

    const webRelease = up.evaluation.stack.release.webRelease;
    const jobsRelease = up.evaluation.stack.release.jobsRelease;
    const release = async (o: typeof webRelease) => new Promise<string>((res) => o.apply((v) => res(v)));
    const [wr, jr] = await Promise.all([release(webRelease), release(jobsRelease)]);

    // Only what this up started counts: a web container the web step started, jobs containers jobs-start started.
    const webStarted = up.runs.some((x) => x.name === "release-web" && x.code === 0 && /web-rollout: started /.test(x.stdout));
    const jobsStarted = up.runs.filter((x) => x.name.startsWith("release-jobs-start-") && x.code === 0 && /jobs-start: started /.test(x.stdout)).map((x) => x.host);
    const webC = webStarted ? (await r.containers(r.web)).find((c) => c.role === "web" && c.release === wr) : undefined;
    let webBootToHealthySeconds = 0;
    if (webC) {
        const logs = await r.web.docker(["logs", "--timestamps", webC.name]);
        const line = `${logs.stdout}\n${logs.stderr}`.split("\n").find((l) => /GET \/up -> 200/.test(l));
        if (line) webBootToHealthySeconds = seconds(webC.startedAt, line.split(" ")[0]);
    }
    let registrationSeconds = 0;
    for (const h of r.jobs.filter((x) => jobsStarted.includes(x.name))) {
        const c = (await r.containers(h)).find((x) => x.role === "jobs" && x.release === jr);
        if (!c) continue;
        const created = await r.sql(
            "shred_day_production_queue",
            `SELECT to_char(min(created_at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM solid_queue_processes WHERE hostname = '${c.hostname}' AND kind LIKE 'Supervisor%'`,
        );
        if (created) registrationSeconds = Math.max(registrationSeconds, seconds(c.startedAt, created));
    }
    const proofRan = jobsStarted.length > 0 && up.runs.some((x) => x.name.endsWith("jobs-proof") && x.code === 0);
    if (!migrate && !webC && !proofRan) return undefined;
    // The proof waits for one heartbeat after registration: that wait is the app's (Solid Queue's schedule), not ours.
    const firstHeartbeatSeconds = proofRan ? up.evaluation.config.jobs.heartbeatSeconds : 0;
    return {
        dbPrepareSeconds,
        webBootToHealthySeconds: round(webBootToHealthySeconds),
        registrationSeconds: round(registrationSeconds),
        firstHeartbeatSeconds,
        totalSeconds: round(dbPrepareSeconds + webBootToHealthySeconds + registrationSeconds + firstHeartbeatSeconds),
    };
}

export async function upFigures(label: string, r: Rehearsal, up: UpResult, requests?: RequestResult[], newRelease?: (body: string) => boolean, switchAt?: number): Promise<UpFigures> {
    const cp = criticalPath(up);
    const proof = up.runs.find((x) => x.name.endsWith("jobs-proof") && x.code === 0);
    const app = up.ok ? await appFigures(r, up) : undefined;
    const f: UpFigures = {
        label,
        ok: up.ok,
        wallSeconds: round(up.ms / 1000),
        steps: stepFigures(up),
        criticalPath: cp.path,
        criticalPathSeconds: cp.seconds,
        workersProvenSeconds: proof ? round(proof.end / 1000) : undefined,
        app,
        overheadRatio: app && app.totalSeconds > 0 ? round(cp.seconds / app.totalSeconds) : undefined,
    };
    if (requests) {
        f.requests = {
            sent: requests.length,
            failed: requests.filter((x) => x.status !== 200).length,
            servedByNewAfterSwitch: newRelease && switchAt !== undefined ? requests.filter((x) => x.t > switchAt).every((x) => newRelease(x.body)) : undefined,
        };
    }
    return f;
}

export function renderFigures(all: UpFigures[]): string {
    const lines: string[] = [];
    for (const f of all) {
        lines.push(`== ${f.label}: ${f.ok ? "ok" : "FAILED"}, ${f.wallSeconds}s wall, ${f.steps.length} step(s) run`);
        for (const s of f.steps) lines.push(`   ${s.seconds.toFixed(2).padStart(7)}s  ${s.step} (${s.host})`);
        if (f.criticalPath.length > 0) lines.push(`   critical path ${f.criticalPathSeconds}s: ${f.criticalPath.join(" -> ")}`);
        if (f.workersProvenSeconds !== undefined) lines.push(`   up start -> workers proven: ${f.workersProvenSeconds}s`);
        if (f.app) {
            lines.push(
                `   app's own: db:prepare ${f.app.dbPrepareSeconds}s + web boot->healthy ${f.app.webBootToHealthySeconds}s + worker registration ${f.app.registrationSeconds}s + first heartbeat ${f.app.firstHeartbeatSeconds}s = ${f.app.totalSeconds}s; critical path / app's own = ${f.overheadRatio ?? "n/a"}`,
            );
        }
        if (f.requests) lines.push(`   requests: ${f.requests.sent} sent, ${f.requests.failed} failed${f.requests.servedByNewAfterSwitch === undefined ? "" : `, all served by the new release after the switch: ${f.requests.servedByNewAfterSwitch}`}`);
    }
    lines.push("", summaryTable(all));
    return `${lines.join("\n")}\n`;
}

/** One line per up: wall time, critical path, up -> workers proven, the app's own time and the ratio, failed requests. */
export function summaryTable(all: UpFigures[]): string {
    const head = ["up", "result", "wall s", "critical path s", "up->workers proven s", "app's own s", "overhead ratio", "failed/sent requests"];
    const rows = all.map((f) => [
        f.label,
        f.ok ? "ok" : "FAILED",
        String(f.wallSeconds),
        String(f.criticalPathSeconds),
        f.workersProvenSeconds === undefined ? "-" : String(f.workersProvenSeconds),
        f.app ? String(f.app.totalSeconds) : "-",
        f.overheadRatio === undefined ? "-" : String(f.overheadRatio),
        f.requests ? `${f.requests.failed}/${f.requests.sent}` : "-",
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    return ["Summary", line(head), ...rows.map(line)].join("\n");
}

/** Where the jest run leaves the figures for `npm run rehearse` (REHEARSAL_FIGURES). */
export function saveFigures(all: UpFigures[]): void {
    const file = process.env.REHEARSAL_FIGURES;
    if (file) fs.writeFileSync(file, JSON.stringify(all, null, 2));
}

export type { LabHost };
