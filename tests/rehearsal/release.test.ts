/**
 * The program's own release, end to end, on the lab: every remote command and the Postgres
 * container the evaluation yields, run over SSH in the engine's order by the driver, against
 * hosts with real sshd, dockerd and Postgres. Each test asserts on the lab's real state, and
 * the tests run in order on one lab (each starts from where the previous left it).
 *
 * Figures go to REHEARSAL_FIGURES (npm run rehearse prints them).
 */
import * as fs from "fs";
import * as path from "path";
import { containerHostname } from "../../components/release";
import { runReference } from "../../components/imageContent";
import { SECRETS } from "../support/fixtures";
import { valueOf } from "../../scripts/evaluate";
import { UpResult } from "./driver";
import { renderFigures, saveFigures, UpFigures, upFigures } from "./figures";
import { KAMAL_DB, KAMAL_TAG, KAMAL_WEB, kamalSetup, POSTS } from "./kamal";
import { enqueue, installClaimLog, liveProcesses, QUEUE_DB, waitFinished } from "./queue";
import { Rehearsal, startRehearsal } from "./rehearsal";

jest.setTimeout(900_000);

const figures: UpFigures[] = [];
let r: Rehearsal;
/** Who else reads the driver's progress lines (a scenario that acts when a step starts). */
const listeners = new Set<(line: string) => void>();
const log = (l: string) => {
    if (process.env.REHEARSAL_VERBOSE) process.stderr.write(`${l}\n`);
    for (const f of listeners) f(l);
};

beforeAll(async () => {
    r = await startRehearsal({ tags: [KAMAL_TAG, "v1", "v2", "v3"], log });
}, 1_200_000);

afterAll(async () => {
    saveFigures(figures);
    if (figures.length > 0) process.stderr.write(renderFigures(figures));
    await r?.stop();
});

async function releases(up: UpResult): Promise<{ web: string; jobs: string }> {
    return { web: await valueOf(up.evaluation.stack.release.webRelease), jobs: await valueOf(up.evaluation.stack.release.jobsRelease) };
}

function expectOk(up: UpResult): void {
    if (!up.ok) throw new Error(`up failed:\n${up.error}`);
}

/** The state a converged release leaves: asserted after every successful up. */
async function expectConverged(up: UpResult, tag: string): Promise<void> {
    const rel = await releases(up);
    const web = await r.containers(r.web);
    const pg = web.filter((c) => c.name === "shred-day-postgres");
    expect(pg).toHaveLength(1);
    expect(pg[0].running).toBe(true);
    // Postgres is published on the private address only.
    expect(pg[0].ports).toBe("10.0.0.3:5432->5432/tcp");
    const webApps = web.filter((c) => c.role === "web");
    // Containers run by the content every host's image-pull reported (components/imageContent.ts
    // runReference). The lab's images are loaded, not pulled, so they have no registry digest and
    // image-pull.sh reports the image id: the container must run exactly the id of this tag.
    const ref = `ghcr.io/shred-day/shred-day:${tag}`;
    const id = (await r.web.docker(["image", "inspect", "--format", "{{.Id}}", ref])).stdout.trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(webApps.map((c) => [c.release, c.running, c.image])).toEqual([[rel.web, true, runReference(ref, id)]]);
    expect(web.filter((c) => c.role === "jobs" || c.role === "job")).toEqual([]);
    for (const h of r.jobs) {
        const cs = (await r.containers(h)).filter((c) => c.role === "jobs");
        expect(cs.map((c) => [c.release, c.running, c.hostname])).toEqual([[rel.jobs, true, containerHostname(h.name, rel.jobs)]]);
    }
    // Every jobs host has a live supervisor and workers of this release; nothing live on the web host.
    const live = await liveProcesses(r);
    for (const h of r.jobs) {
        const mine = live.filter((p) => p.hostname === containerHostname(h.name, rel.jobs));
        expect(mine.filter((p) => p.kind.startsWith("Supervisor"))).toHaveLength(1);
        expect(mine.filter((p) => p.kind === "Worker").length).toBe(up.evaluation.config.jobs.concurrency);
    }
    expect(live.filter((p) => p.hostname.startsWith("shred-day-web") || p.hostname.startsWith(r.web.publicIp))).toEqual([]);
    // The proxy serves the new web container.
    const probe = r.requests({ maxRequests: 3, maxSeconds: 10, intervalMs: 50 });
    const results = await waitDone(probe, 3);
    expect(results.map((x) => x.status)).toEqual([200, 200, 200]);
    for (const x of results) expect(x.body).toContain(`release=${tag} host=${containerHostname(r.web.name, rel.web)}`);
}

async function waitDone(loop: ReturnType<Rehearsal["requests"]>, n: number) {
    for (let i = 0; i < 100 && loop.results().length < n; i++) await new Promise((res) => setTimeout(res, 100));
    return loop.stop();
}

test("from today's Kamal setup, the first up with the adoption config keeps every row, proves workers on both jobs hosts and nothing on the web host, and leaves the old accessory stopped", async () => {
    const kamal = await kamalSetup(r.web, "shred.day");
    // Today: the Kamal-era container serves through kamal-proxy and runs Solid Queue inside (its supervisor is live).
    const today = r.requests({ maxRequests: 3, maxSeconds: 10, intervalMs: 50 });
    expect((await waitDone(today, 3)).map((x) => [x.status, x.body.includes(`host=${kamal.hostname}`)])).toEqual([
        [200, true],
        [200, true],
        [200, true],
    ]);
    for (const h of r.jobs) expect(await r.containers(h)).toEqual([]);

    const up = await r.driver.up(r.config("v1"));
    expectOk(up);
    // Every remote command and the container ran once.
    const remote = up.evaluation.resources.filter((x) => x.type === "command:remote:Command" || x.type.startsWith("docker:index/"));
    expect(up.runs.map((x) => x.name).sort()).toEqual(remote.map((x) => x.name).sort());
    // Every row kept, read through the new container on the private address.
    expect(await r.sql("shred_day_production", "SELECT count(*) FROM posts")).toBe(String(POSTS));
    const tables = await r.sql(QUEUE_DB, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'solid_queue_%'");
    expect(Number(tables)).toBeGreaterThanOrEqual(11);
    const dbs = await r.sql("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'shred_day%' ORDER BY 1");
    expect(dbs.split("\n")).toEqual(["shred_day_production", "shred_day_production_cable", "shred_day_production_cache", "shred_day_production_queue"]);
    // The old accessory is stopped (and the old web container with its in-Puma supervisor is gone).
    const web = await r.containers(r.web);
    expect(web.filter((c) => c.name === KAMAL_DB).map((c) => c.running)).toEqual([false]);
    expect(web.filter((c) => c.name === KAMAL_WEB)).toEqual([]);
    expect((await liveProcesses(r)).filter((p) => p.hostname === kamal.hostname)).toEqual([]);
    await expectConverged(up, "v1");
    figures.push(await upFigures("first up from the Kamal setup (adoption)", r, up));
});

test("a no-op up runs zero commands", async () => {
    // Baseline for the request figures: the same client loop while nothing changes.
    const loop = r.requests({ maxRequests: 20_000, maxSeconds: 600, intervalMs: 50 });
    const up = await r.driver.up(r.config("v1"));
    await new Promise((res) => setTimeout(res, 15_000));
    const results = await loop.stop();
    expectOk(up);
    expect(up.runs).toEqual([]);
    figures.push(await upFigures("no-op up (+15 s of requests, baseline)", r, up, results));
});

/**
 * A release of `tag` while a bounded client loop sends requests through the proxy and jobs keep
 * arriving: zero failed requests, only the new release answers once it has, every job runs
 * exactly once, and the old workers stop only after the proof.
 */
let loadRuns = 0;
async function releaseUnderLoad(tag: string, label: string): Promise<UpResult> {
    await installClaimLog(r);
    // Job labels of this call only (a tag can be released under load twice: v2, then the rollback to v2), so the
    // jobs found under them are exactly the jobs enqueued here.
    const loadRun = ++loadRuns;
    const beforeLabel = `before-${tag}-${loadRun}`;
    const duringLabel = `during-${tag}-${loadRun}`;
    const before = await enqueue(r, beforeLabel, 20);
    const loop = r.requests({ maxRequests: 20_000, maxSeconds: 600, intervalMs: 50 });
    const upPromise = r.driver.up(r.config(tag));
    let upDone = false;
    void upPromise.finally(() => (upDone = true));
    const during: number[] = [];
    for (let i = 0; i < 600 && !upDone; i++) {
        during.push(...(await enqueue(r, duringLabel, 2)));
        await new Promise((res) => setTimeout(res, 500));
    }
    const up = await upPromise;
    const results = await loop.stop();
    expectOk(up);
    const rel = await releases(up);
    const newHost = containerHostname(r.web.name, rel.web);

    // Zero failed requests, and once the new release answered, only it answers.
    expect(results.length).toBeGreaterThan(50);
    const stepsAt = (t: number) => up.runs.filter((x) => x.start <= t && t <= x.end).map((x) => x.name);
    expect(results.filter((x) => x.status !== 200).map((x) => ({ ...x, during: stepsAt(x.t) }))).toEqual([]);
    const firstNew = results.findIndex((x) => x.body.includes(`host=${newHost}`));
    expect(firstNew).toBeGreaterThan(0);
    expect(results.slice(firstNew).filter((x) => !x.body.includes(`release=${tag} host=${newHost}`))).toEqual([]);

    // Every job enqueued before and during the release completes exactly once.
    const fate = await waitFinished(r, beforeLabel, 60_000);
    const fateDuring = await waitFinished(r, duringLabel, 60_000);
    expect(before.length).toBe(20);
    expect(during.length).toBeGreaterThan(0);
    // The jobs found are exactly the jobs enqueued: a lost job (or an empty result) fails here, not just a bad fate.
    const byId = (a: number, b: number) => a - b;
    expect(fate.map((j) => j.id).sort(byId)).toEqual([...before].sort(byId));
    expect(fateDuring.map((j) => j.id).sort(byId)).toEqual([...during].sort(byId));
    for (const j of [...fate, ...fateDuring]) {
        expect({ id: j.id, finished: j.finished, claims: j.claims }).toEqual({ id: j.id, finished: true, claims: 1 });
    }

    // Old workers stopped only after the proof: every retire began after the proof ended.
    const proof = up.runs.find((x) => x.name.endsWith("jobs-proof"))!;
    const retires = up.runs.filter((x) => x.name.includes("jobs-retire"));
    expect(retires.length).toBe(r.jobs.length);
    for (const x of retires) expect(x.start).toBeGreaterThanOrEqual(proof.end);
    await expectConverged(up, tag);
    figures.push(await upFigures(label, r, up, results, (b) => b.includes(`host=${newHost}`), results[firstNew].t));
    return up;
}

test("second release under load: zero failed requests, the new release serves after the switch, every job runs exactly once, old workers stop only after the proof", async () => {
    await releaseUnderLoad("v2", "second release (v2) under load");
});

test("a concurrency change runs only the jobs steps", async () => {
    const edit = (c: Record<string, any>) => (c.jobs.concurrency = 3);
    const preview = await r.driver.preview(r.config("v2", edit));
    const changed = [...preview.entries()].filter(([, a]) => a !== "same").map(([n]) => n);
    const webBefore = (await r.containers(r.web)).filter((c) => c.role === "web" || c.role === "postgres");
    const up = await r.driver.up(r.config("v2", edit));
    expectOk(up);
    figures.push(await upFigures("concurrency 2 -> 3", r, up));
    const ran = up.runs.map((x) => x.name).sort();
    // What the engine would run includes what the preview shows as changing.
    for (const n of changed) expect(ran).toContain(n);
    expect(ran.some((n) => n.includes("jobs-start"))).toBe(true);
    // Only steps on the jobs hosts, and the proof (which reads the queue database on the web host):
    // nothing on the web host's containers, the database included.
    expect(up.runs.filter((x) => x.host === r.web.name && !x.name.endsWith("jobs-proof")).map((x) => x.name)).toEqual([]);
    const webAfter = (await r.containers(r.web)).filter((c) => c.role === "web" || c.role === "postgres");
    expect(webAfter.map((c) => [c.name, c.startedAt])).toEqual(webBefore.map((c) => [c.name, c.startedAt]));
    await expectConverged(up, "v2");
});

test("db:prepare fails: the old release keeps serving, up fails with the redacted output; a corrected up converges", async () => {
    const webBefore = (await r.containers(r.web)).find((c) => c.role === "web")!;
    const jobsBefore = await Promise.all(r.jobs.map(async (h) => (await r.containers(h)).find((c) => c.role === "jobs")!));
    const loop = r.requests({ maxRequests: 5_000, maxSeconds: 300, intervalMs: 50 });
    const bad = await r.driver.up(r.config("v3", (c) => (c.app.env.STANDIN_DB_PREPARE = "fail")));
    const results = await loop.stop();
    expect(bad.ok).toBe(false);
    expect(bad.failed.map((f) => f.name)).toEqual(["release-migrate"]);
    // Nothing after the migration started; the old web and workers still run and serve.
    expect(bad.notStarted.filter((n) => /release-(web|jobs-)/.test(n)).length).toBeGreaterThanOrEqual(1 + 2 * r.jobs.length);
    expect(results.filter((x) => x.status !== 200)).toEqual([]);
    expect((await r.containers(r.web)).find((c) => c.role === "web")).toMatchObject({ name: webBefore.name, running: true, startedAt: webBefore.startedAt });
    for (const [i, h] of r.jobs.entries()) {
        expect((await r.containers(h)).filter((c) => c.role === "jobs")).toEqual([expect.objectContaining({ name: jobsBefore[i].name, running: true })]);
    }
    // The migration's output is in the error, with the database password redacted.
    expect(bad.error).toContain("bin/rails aborted!");
    expect(bad.error).toContain("db-prepare: FAILED");
    expect(bad.error).not.toContain(SECRETS.postgresPassword);
    expect(bad.error).toMatch(/\[(value|password) (of|in) DATABASE_URL\]/);

    const fixed = await r.driver.up(r.config("v3"));
    expectOk(fixed);
    expect(fixed.runs.map((x) => x.name)).toContain("release-migrate");
    await expectConverged(fixed, "v3");
    figures.push(await upFigures("db:prepare fails (v3)", r, bad, results));
    figures.push(await upFigures("corrected up (v3)", r, fixed));
});

/** What the lab runs of the current release: web container, and each jobs host's jobs containers. */
async function snapshot() {
    const web = (await r.containers(r.web)).find((c) => c.role === "web" && c.running)!;
    const jobs = await Promise.all(r.jobs.map(async (h) => (await r.containers(h)).filter((c) => c.role === "jobs")));
    return { web, jobs };
}

/**
 * A release whose new workers are broken: the proof fails, no old worker is retired, the web is not
 * switched and keeps serving the old release; then the corrected config converges to the state
 * before the fault (the same releases: the previous containers were never touched).
 */
async function brokenWorkers(label: string, jobsEnv: Record<string, string>, expected: RegExp): Promise<void> {
    const before = await snapshot();
    const beforeUp = await r.driver.up(r.config("v3"));
    expectOk(beforeUp);
    expect(beforeUp.runs).toEqual([]);
    const rel = await releases(beforeUp);
    const oldWebHost = containerHostname(r.web.name, rel.web);
    const loop = r.requests({ maxRequests: 5_000, maxSeconds: 300, intervalMs: 100 });
    const bad = await r.driver.up(r.config("v3", (c) => (c.jobs.env = { ...c.jobs.env, ...jobsEnv })));
    const results = await loop.stop();
    expect(bad.ok).toBe(false);
    expect(bad.failed.map((f) => f.name)).toEqual(["release-jobs-proof"]);
    expect(bad.error).toMatch(expected);
    expect(bad.error).toContain("No old worker was stopped and the web was not switched");
    expect(bad.notStarted.filter((n) => /release-(web|jobs-retire-)/.test(n)).sort()).toEqual(["release-web", ...r.jobs.map((h) => `release-jobs-retire-${h.name}`)].sort());
    // The old workers still run (never restarted), beside the broken new ones; the web and the proxy are untouched.
    const badRel = await releases(bad);
    expect(badRel.jobs).not.toBe(rel.jobs);
    for (const [i, h] of r.jobs.entries()) {
        const cs = (await r.containers(h)).filter((c) => c.role === "jobs");
        const old = before.jobs[i].find((c) => c.release === rel.jobs)!;
        expect(cs.find((c) => c.release === rel.jobs)).toMatchObject({ name: old.name, running: true, startedAt: old.startedAt, restartCount: 0 });
        expect(cs.map((c) => c.release).sort()).toEqual([rel.jobs, badRel.jobs].sort());
    }
    const live = await liveProcesses(r);
    for (const h of r.jobs) {
        expect(live.filter((p) => p.hostname === containerHostname(h.name, rel.jobs) && p.kind.startsWith("Supervisor"))).toHaveLength(1);
    }
    expect((await snapshot()).web).toMatchObject({ name: before.web.name, startedAt: before.web.startedAt, running: true });
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((x) => x.status !== 200 || !x.body.includes(`host=${oldWebHost}`))).toEqual([]);
    figures.push(await upFigures(label, r, bad, results));

    // Corrected: the config as before the fault. The previous release is still there, so it converges to it,
    // and the broken containers are retired.
    const fixed = await r.driver.up(r.config("v3"));
    expectOk(fixed);
    expect(await releases(fixed)).toEqual(rel);
    await expectConverged(fixed, "v3");
    for (const [i, h] of r.jobs.entries()) {
        const old = before.jobs[i].find((c) => c.release === rel.jobs)!;
        expect((await r.containers(h)).filter((c) => c.role === "jobs").map((c) => [c.name, c.startedAt])).toEqual([[old.name, old.startedAt]]);
    }
    figures.push(await upFigures(`corrected up after: ${label}`, r, fixed));
}

test("new workers crash-loop: the proof fails (restarted), the old workers still run, nothing is retired, the web keeps the old release; a corrected up converges", async () => {
    await brokenWorkers("new workers crash-loop", { STANDIN_JOBS: "crashloop" }, /RESTARTED: more than one supervisor registered since the container started/);
});

test("new workers never register: the proof fails (no process ever registered), the old workers still run, nothing is retired; a corrected up converges", async () => {
    await brokenWorkers("new workers never register", { STANDIN_JOBS: "noregister" }, /MISSING: no Solid Queue process ever registered with this hostname/);
});

test("the new web never gets healthy: the up fails at the web switch, the proxy keeps serving the old web; a corrected up converges", async () => {
    const before = await snapshot();
    const beforeUp = await r.driver.up(r.config("v3"));
    expect(beforeUp.runs).toEqual([]);
    const rel = await releases(beforeUp);
    const oldWebHost = containerHostname(r.web.name, rel.web);
    const loop = r.requests({ maxRequests: 5_000, maxSeconds: 300, intervalMs: 100 });
    const bad = await r.driver.up(r.config("v3", (c) => (c.web.env = { ...c.web.env, STANDIN_WEB: "unhealthy" })));
    const results = await loop.stop();
    expect(bad.ok).toBe(false);
    expect(bad.failed.map((f) => f.name)).toEqual(["release-web"]);
    expect(bad.error).toContain("did not become healthy on /up");
    expect(bad.error).toContain("kamal-proxy keeps serving shred.day from the previous container");
    // Only the web steps ran (a web env change): the workers are untouched.
    expect(bad.runs.map((x) => x.name).sort()).toEqual(["release-env-shred-day-web", "release-web"]);
    const web = await r.containers(r.web);
    expect(web.find((c) => c.name === before.web.name)).toMatchObject({ running: true, startedAt: before.web.startedAt });
    const badRel = await releases(bad);
    // The unhealthy container was stopped and removed (left stopped, nothing would remove it: the corrected up does
    // not run the web step, whose inputs are those of the last good rollout).
    expect(web.filter((c) => c.role === "web" && c.release === badRel.web)).toEqual([]);
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((x) => x.status !== 200 || !x.body.includes(`host=${oldWebHost}`))).toEqual([]);
    for (const [i, h] of r.jobs.entries()) {
        expect((await r.containers(h)).filter((c) => c.role === "jobs").map((c) => [c.name, c.startedAt])).toEqual(before.jobs[i].map((c) => [c.name, c.startedAt]));
    }
    figures.push(await upFigures("the new web never gets healthy", r, bad, results));

    const fixed = await r.driver.up(r.config("v3"));
    expectOk(fixed);
    expect(await releases(fixed)).toEqual(rel);
    await expectConverged(fixed, "v3");
    expect((await r.containers(r.web)).filter((c) => c.role === "web").map((c) => [c.name, c.startedAt])).toEqual([[before.web.name, before.web.startedAt]]);
    figures.push(await upFigures("corrected up after: the new web never gets healthy", r, fixed));
});

test("Postgres restarts during the proof: the proof still decides right (the healthy new workers are proven once it is back) and the release converges", async () => {
    const before = await releases(await r.driver.up(r.config("v3")));
    const pgBefore = (await r.containers(r.web)).find((c) => c.name === "shred-day-postgres")!;
    const config = r.config("v3", (c) => (c.jobs.env = { ...c.jobs.env, REHEARSAL_NOTE: "postgres-restart" }));
    const upStart = await r.sql(QUEUE_DB, "SELECT now() AT TIME ZONE 'UTC'");
    const processes = r.jobs.length * (config.jobs.concurrency + 2);
    let triggered = false;
    let restartDone = 0;
    const onStep = (l: string) => {
        if (!triggered && /\] (update|replace) release-jobs-proof$/.test(l)) { // replace: its triggers (jobs-start runs) changed
            triggered = true;
            // While the proof waits for the first heartbeats (every new process registered, none proven yet), the
            // Postgres container restarts (a crash, an OOM kill, an operator's docker restart): the proof's queries and
            // the workers' heartbeats fail until it is back.
            void (async () => {
                for (let i = 0; i < 50; i++) {
                    const n = await r.sql(QUEUE_DB, `SELECT count(*) FROM solid_queue_processes WHERE created_at > '${upStart}'`).catch(() => "0");
                    if (Number(n) >= processes) break;
                    await new Promise((res) => setTimeout(res, 100));
                }
                const x = await r.web.docker(["restart", "-t", "5", "shred-day-postgres"], { timeoutMs: 60_000 });
                if (x.code === 0) restartDone = Date.now();
            })();
        }
    };
    listeners.add(onStep);
    const up = await r.driver.up(config).finally(() => listeners.delete(onStep));
    const upEnded = Date.now();
    expectOk(up);
    // Postgres was back before the up ended: the proof ran across the restart, then proved the new workers.
    expect(restartDone).toBeGreaterThan(0);
    expect(restartDone).toBeLessThan(upEnded);
    const proof = up.runs.find((x) => x.name === "release-jobs-proof")!;
    expect(proof.stdout).toContain("jobs-proof: PROVEN");
    const pgAfter = (await r.containers(r.web)).find((c) => c.name === "shred-day-postgres")!;
    expect(pgAfter.startedAt).not.toBe(pgBefore.startedAt);
    // Postgres came back while the proof was running (the driver's times are relative to the up's start).
    const upT0 = upEnded - up.ms;
    expect(Date.parse(pgAfter.startedAt)).toBeGreaterThan(upT0 + proof.start);
    expect(Date.parse(pgAfter.startedAt)).toBeLessThan(upT0 + proof.end);
    expect((await releases(up)).jobs).not.toBe(before.jobs);
    await expectConverged(up, "v3");
    figures.push(await upFigures("Postgres restarts during the proof", r, up));

    // Back to the config before (its release is new again: its containers were retired by this up).
    const back = await r.driver.up(r.config("v3"));
    expectOk(back);
    expect(await releases(back)).toEqual(before);
    await expectConverged(back, "v3");
});

/**
 * The lab host's sshd per-connection processes (`sshd: root@notty`, descendants of its listener,
 * which this test's lab started): killing them drops that host's SSH connections as a network cut
 * or an sshd crash would, leaving the listener up.
 */
function sshSessions(host: string): number[] {
    const cfg = path.join(r.lab.dir, host, "sshd_config");
    const read = (pid: string, f: string) => {
        try {
            return fs.readFileSync(`/proc/${pid}/${f}`, "utf8");
        } catch {
            return "";
        }
    };
    const procs = fs
        .readdirSync("/proc")
        .filter((d) => /^[0-9]+$/.test(d))
        .map((pid) => ({ pid, cmd: read(pid, "cmdline").replace(/\0/g, " ").trim(), ppid: read(pid, "stat").replace(/^.*\) /, "").split(" ")[1] }));
    const listener = procs.find((p) => p.cmd.includes(cfg) && !p.cmd.startsWith("nsenter"));
    if (!listener) return [];
    const below = new Set([listener.pid]);
    for (let changed = true; changed; ) {
        changed = false;
        for (const p of procs) if (!below.has(p.pid) && below.has(p.ppid)) (below.add(p.pid), (changed = true));
    }
    return procs.filter((p) => p.pid !== listener.pid && below.has(p.pid) && p.cmd.startsWith("sshd:") && !p.cmd.includes("[listener]")).map((p) => Number(p.pid));
}

test("SSH to a jobs host drops mid-step: the up fails naming the host and the step, the web is not switched; a corrected up converges", async () => {
    const before = await releases(await r.driver.up(r.config("v3")));
    const victim = r.jobs[r.jobs.length - 1].name;
    // One long job per old worker keeps them busy, so retiring them takes Solid Queue's shutdown_timeout: the step
    // lasts seconds. (Exactly one each: the new workers find none and are proven at once.)
    const longJobs = await enqueue(r, "long-before-ssh-drop", r.config("v3").jobs.concurrency * r.jobs.length, 20);
    expect(longJobs.length).toBe(r.config("v3").jobs.concurrency * r.jobs.length);
    await new Promise((res) => setTimeout(res, 1_500));
    let dropped: number[] = [];
    const onStep = (l: string) => {
        if (dropped.length === 0 && /\] (update|replace) release-jobs-retire-/.test(l) && l.endsWith(`release-jobs-retire-${victim}`)) {
            dropped = [-1];
            void (async () => {
                // The step's session is up; one second into the step, its connection drops.
                for (let i = 0; i < 30 && sshSessions(victim).length === 0; i++) await new Promise((res) => setTimeout(res, 100));
                await new Promise((res) => setTimeout(res, 1_000));
                dropped = sshSessions(victim);
                for (const pid of dropped) {
                    try {
                        process.kill(pid, "SIGKILL");
                    } catch {
                        // already gone
                    }
                }
            })();
        }
    };
    listeners.add(onStep);
    const bad = await r.driver.up(r.config("v3", (c) => (c.jobs.env = { ...c.jobs.env, REHEARSAL_NOTE: "ssh-drop" }))).finally(() => listeners.delete(onStep));
    expect(dropped.filter((p) => p > 0).length).toBeGreaterThan(0);
    expect(bad.ok).toBe(false);
    expect(bad.failed.map((f) => f.name)).toEqual([`release-jobs-retire-${victim}`]);
    expect(bad.failed[0].host).toBe(victim);
    expect(bad.failed[0].code).toBe(255);
    const ip = r.lab.host(victim).publicIp;
    expect(bad.error).toContain(`release-jobs-retire-${victim} on ${victim} failed (exit 255)`);
    expect(bad.error).toMatch(new RegExp(`Connection (to ${ip.replace(/\./g, "\\.")} )?closed|closed by remote host|Broken pipe`));
    expect(bad.notStarted).toContain("release-web");
    figures.push(await upFigures("SSH to a jobs host drops mid-step", r, bad));

    const fixed = await r.driver.up(r.config("v3", (c) => (c.jobs.env = { ...c.jobs.env, REHEARSAL_NOTE: "ssh-drop" })));
    expectOk(fixed);
    expect(fixed.runs.map((x) => x.name)).toContain(`release-jobs-retire-${victim}`);
    await expectConverged(fixed, "v3");
    figures.push(await upFigures("corrected up after: SSH drop", r, fixed));
    // The long jobs the retired workers released ran again on the new ones and finished.
    // Exactly the jobs enqueued above (none lost), every one finished.
    const longFate = await waitFinished(r, "long-before-ssh-drop", 90_000);
    expect(longFate.map((j) => j.id).sort((a, b) => a - b)).toEqual([...longJobs].sort((a, b) => a - b));
    expect(longFate.filter((j) => !j.finished)).toEqual([]);
    const back = await r.driver.up(r.config("v3"));
    expectOk(back);
    expect(await releases(back)).toEqual(before);
    await expectConverged(back, "v3");
});

test("rollback to the previous image: no pull, and the guarantees of a release", async () => {
    const up = await releaseUnderLoad("v2", "rollback to v2 under load");
    const pulls = up.runs.filter((x) => x.name.includes("release-pull"));
    expect(pulls.length).toBe(1 + r.jobs.length);
    for (const p of pulls) {
        expect(p.stdout).toContain("is already present; no pull");
        expect(p.stdout).not.toContain("logged in");
    }
});
