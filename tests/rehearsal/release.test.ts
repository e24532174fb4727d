/**
 * The program's own release, end to end, on the lab: every remote command and the Postgres
 * container the evaluation yields, run over SSH in the engine's order by the driver, against
 * hosts with real sshd, dockerd and Postgres. Each test asserts on the lab's real state, and
 * the tests run in order on one lab (each starts from where the previous left it).
 *
 * Figures go to REHEARSAL_FIGURES (npm run rehearse prints them).
 */
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
const log = (l: string) => {
    if (process.env.REHEARSAL_VERBOSE) process.stderr.write(`${l}\n`);
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
async function releaseUnderLoad(tag: string, label: string): Promise<UpResult> {
    await installClaimLog(r);
    const before = await enqueue(r, `before-${tag}`, 20);
    const loop = r.requests({ maxRequests: 20_000, maxSeconds: 600, intervalMs: 50 });
    const upPromise = r.driver.up(r.config(tag));
    let upDone = false;
    void upPromise.finally(() => (upDone = true));
    const during: number[] = [];
    for (let i = 0; i < 600 && !upDone; i++) {
        during.push(...(await enqueue(r, `during-${tag}`, 2)));
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
    const fate = await waitFinished(r, `before-${tag}`, 60_000);
    const fateDuring = await waitFinished(r, `during-${tag}`, 60_000);
    expect(before.length).toBe(20);
    expect(during.length).toBeGreaterThan(0);
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

test("rollback to the previous image: no pull, and the guarantees of a release", async () => {
    const up = await releaseUnderLoad("v2", "rollback to v2 under load");
    const pulls = up.runs.filter((x) => x.name.includes("release-pull"));
    expect(pulls.length).toBe(1 + r.jobs.length);
    for (const p of pulls) {
        expect(p.stdout).toContain("is already present; no pull");
        expect(p.stdout).not.toContain("logged in");
    }
});
