import { FORBIDDEN_WEB_ENV } from "../../components/appEnv";
import { appRolePassword } from "../../components/appRole";
import { productionConfig, refusedConfig, SECRET_VALUES, SECRETS, withJobsHosts } from "../support/fixtures";
import { Captured, evaluate, valueOf } from "../../scripts/evaluate";
import { longestCommandChain, reruns } from "../support/rerun";
import { databaseEnvText, jobsStartFacts } from "../../components/release";

const COMMAND = "command:remote:Command";

function envOf(stdin: string): Record<string, string> {
    return Object.fromEntries(
        stdin
            .trim()
            .split("\n")
            .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
}

describe("env files", () => {
    test("each role's env reaches its hosts by stdin (secret), with URLs, DB host and, for jobs, JOB_CONCURRENCY", async () => {
        const e = await evaluate(productionConfig());
        const web = e.named("release-env-shred-day-web");
        const jobs = e.named("release-env-shred-day-jobs-ubuntu");
        expect(web.secretPaths).toContain("stdin");
        expect(jobs.secretPaths).toContain("stdin");
        const webEnv = envOf(web.inputs.stdin);
        const jobsEnv = envOf(jobs.inputs.stdin);
        expect(webEnv).toMatchObject({
            WEB_CONCURRENCY: "2",
            RAILS_MASTER_KEY: SECRETS.appSecrets.RAILS_MASTER_KEY,
            DB_HOST: "10.0.0.3",
            DATABASE_URL: `postgres://shred_day_app:${appRolePassword(SECRETS.postgresPassword)}@10.0.0.3:5432/shred_day_production`,
            QUEUE_DATABASE_URL: `postgres://shred_day_app:${appRolePassword(SECRETS.postgresPassword)}@10.0.0.3:5432/shred_day_production_queue`,
        });
        expect(webEnv.JOB_CONCURRENCY).toBeUndefined();
        expect(jobsEnv.JOB_CONCURRENCY).toBe("2");
        expect(Object.keys(webEnv)).not.toContain(FORBIDDEN_WEB_ENV);
        expect(Object.keys(jobsEnv)).not.toContain(FORBIDDEN_WEB_ENV);
        expect(web.inputs.create).toContain("ROLE='web'");
        expect(web.inputs.create).toContain("ENV_DIR='/etc/shred-day'");
    });
});

describe("secrets never leave stdin", () => {
    test("no secret value in any command text, trigger, connection or SSH environment; registry password only on stdin", async () => {
        const e = await evaluate(withJobsHosts(2));
        const commands = e.ofType(COMMAND);
        expect(commands.length).toBeGreaterThan(10);
        for (const c of commands) {
            const { stdin, connection, ...rest } = c.inputs;
            const { privateKey, ...conn } = connection;
            const visible = JSON.stringify({ rest, conn });
            for (const secret of SECRET_VALUES) expect(visible).not.toContain(secret);
            expect(c.inputs.environment).toBeUndefined();
            expect(c.inputs.addPreviousOutputInEnv).toBe(false);
            if (stdin !== undefined) expect(c.secretPaths).toContain("stdin");
            // a trigger holding a database URL with its password (migrate's) is secret in state and preview
            if (/postgres:\/\/[^/@]*:[^/@]*@/.test(JSON.stringify(c.inputs.triggers ?? []))) expect([c.name, c.secretPaths.some((p) => p.startsWith("triggers"))]).toEqual([c.name, true]);
            if (privateKey !== undefined) expect(c.secretPaths.some((p) => p === "connection" || p === "connection.privateKey")).toBe(true);
        }
        const pull = e.named("release-pull-shred-day-jobs-2");
        expect(pull.inputs.stdin).toBe(`${SECRETS.registryPassword}\n`);
    });

    test("stack outputs that carry secrets are secret", async () => {
        const e = await evaluate(productionConfig());
        expect(await (e.stack.postgres.urls as any).isSecret).toBe(true);
        expect(await (e.stack.release.webRelease as any).isSecret).toBe(false);
    });
});

describe("order of a release", () => {
    test("migrate after Postgres, pulls and env; jobs-start after migrate; proof after every start; retire after the proof; the web switch last, after every retire", async () => {
        const e = await evaluate(withJobsHosts(2));
        expect(e.named("release-migrate").dependsOn).toEqual(
            expect.arrayContaining(["release-env-shred-day-web", "release-pull-shred-day-web", "postgres-databases"]),
        );
        expect(e.named("release-migrate").inputs.create).toContain("IMAGE='ghcr.io/shred-day/shred-day:v1@sha256:");
        for (const host of ["shred-day-jobs-ubuntu", "shred-day-jobs-2"]) {
            expect(e.named(`release-jobs-start-${host}`).dependsOn.sort()).toEqual([`release-env-${host}`, "release-migrate", `release-pull-${host}`]);
            expect(e.named(`release-jobs-retire-${host}`).dependsOn).toEqual(["release-jobs-proof"]);
        }
        expect(e.named("release-jobs-proof").dependsOn.sort()).toEqual([
            "release-jobs-start-shred-day-jobs-2",
            "release-jobs-start-shred-day-jobs-ubuntu",
        ]);
        // Invariant: the web (the only thing that enqueues new-code jobs) switches after every old worker is retired.
        expect(e.named("release-web").dependsOn.sort()).toEqual([
            "release-jobs-retire-shred-day-jobs-2",
            "release-jobs-retire-shred-day-jobs-ubuntu",
            "release-migrate",
        ]);
    });

    test("the proof gets each jobs host's release hostname with its container start, and JOB_CONCURRENCY; retire gets the start facts", async () => {
        const e = await evaluate(withJobsHosts(2));
        const release = await valueOf(e.stack.release.jobsRelease);
        const proof = e.named("release-jobs-proof").inputs.create as string;
        // On mocks jobs-start printed nothing, so the start is "unknown" (the scripts then use their weaker rule and say so).
        expect(proof).toContain(`JOBS_HOSTS='shred-day-jobs-ubuntu-${release},unknown shred-day-jobs-2-${release},unknown'`);
        expect(proof).toContain("JOB_CONCURRENCY='2'");
        expect(proof).toContain("HEARTBEAT_SECONDS='60'");
        expect(proof).toContain("MAX_CLOCK_OFFSET_SECONDS='30'");
        expect(proof).not.toContain("WEB_HOSTNAME_PREFIXES");
        expect(proof).toContain("QUEUE_DB='shred_day_production_queue'");
        const start = e.named("release-jobs-start-shred-day-jobs-2").inputs.create as string;
        expect(start).toContain(`CONTAINER_HOSTNAME='shred-day-jobs-2-${release}'`);
        expect(start).toContain("STOP_TIMEOUT='30'");
        const retire = e.named("release-jobs-retire-shred-day-jobs-2").inputs.create as string;
        expect(retire).toContain("STARTED_AT='unknown'");
        expect(retire).toContain("RESTART_COUNT='unknown'");
        const migrate = e.named("release-migrate").inputs.create as string;
        expect(migrate).toContain("PG_CONTAINER='shred-day-postgres'");
        expect(migrate).toContain("QUEUE_DB='shred_day_production_queue'");
    });

    test("jobs.heartbeatSeconds and jobs.proofTimeout (the app's process_heartbeat_interval, how long to wait) reach the proof, and only the proof re-runs on them; a timeout that cannot see a boot and a heartbeat is refused", async () => {
        const c = withJobsHosts(1);
        c.jobs.heartbeatSeconds = 5;
        c.jobs.proofTimeout = 40;
        const e = await evaluate(c);
        const proof = e.named("release-jobs-proof").inputs.create as string;
        expect(proof).toContain("HEARTBEAT_SECONDS='5'");
        expect(proof).toContain("TIMEOUT_SECONDS='40'");
        expect(reruns(await evaluate(withJobsHosts(1)), e).changed).toEqual(["release-jobs-proof"]);
        const err = refusedConfig((x) => {
            x.jobs.heartbeatSeconds = 60;
            x.jobs.proofTimeout = 100;
        });
        expect(err.message).toContain("shred-day:jobs.proofTimeout = 100");
        expect(err.message).toContain("set it to at least 125");
    });

    test("a long jobs.proofTimeout or jobs.stopTimeout lengthens the proof's and retire's step bound (customTimeouts), which is 20 m otherwise", async () => {
        const bound = (e: Awaited<ReturnType<typeof evaluate>>, name: string) => e.named(name).customTimeouts?.create;
        const plain = await evaluate(productionConfig());
        expect([bound(plain, "release-jobs-proof"), bound(plain, "release-jobs-retire-shred-day-jobs-ubuntu")]).toEqual(["20m", "20m"]);
        const c = productionConfig();
        c.jobs.proofTimeout = 3600;
        c.jobs.stopTimeout = 900;
        const long = await evaluate(c);
        expect(bound(long, "release-jobs-proof")).toBe("3720s");
        expect(bound(long, "release-jobs-retire-shred-day-jobs-ubuntu")).toBe(`${3 * (900 + 30) + 120}s`);
    });

    test("the longest chain of remote commands does not grow with the number of jobs hosts, and ends with the web switch", async () => {
        const one = longestCommandChain(await evaluate(withJobsHosts(1)));
        const five = longestCommandChain(await evaluate(withJobsHosts(5)));
        expect(five.length).toBe(one.length);
        expect(one.slice(-5).map((n) => n.replace(/-shred-day-jobs-\S+$/, "(h)"))).toEqual([
            "release-migrate",
            "release-jobs-start(h)",
            "release-jobs-proof",
            "release-jobs-retire(h)",
            "release-web",
        ]);
    });
});

describe("jobs-start facts", () => {
    const U = { startedAt: "unknown", restartCount: "unknown", since: "unknown", run: "unknown" };
    test("the last facts line of jobs-start gives the container's start, restart count and the proof's lower bound; anything else is unknown", () => {
        const out = [
            "jobs-start: started shred-day-jobs-abc (bin/jobs, hostname h, stop timeout 30s); the previous worker keeps running until the proof passes",
            "jobs-start: facts container=shred-day-jobs-abc started_at=2026-11-29T06:00:01.123456789Z restart_count=0 since=2026-11-29T06:00:00.98765Z run=2026-11-29T06:00:02.5Z",
            "",
        ].join("\n");
        expect(jobsStartFacts(out)).toEqual({ startedAt: "2026-11-29T06:00:01.123456789Z", restartCount: "0", since: "2026-11-29T06:00:00.98765Z", run: "2026-11-29T06:00:02.5Z" });
        // A line of the previous program version (in state): the bound is State.StartedAt, as before.
        expect(jobsStartFacts("jobs-start: facts container=x started_at=2026-11-29T06:00:01Z restart_count=2")).toEqual({ startedAt: "2026-11-29T06:00:01Z", restartCount: "2", since: "2026-11-29T06:00:01Z", run: "unknown" });
        expect(jobsStartFacts("")).toEqual(U);
        expect(jobsStartFacts(undefined)).toEqual(U);
        expect(jobsStartFacts("jobs-start: facts container=x started_at=$(id) restart_count=0")).toEqual(U);
        expect(jobsStartFacts("jobs-start: facts container=x started_at=2026-11-29T06:00:01Z restart_count=1;x")).toEqual(U);
        expect(jobsStartFacts("jobs-start: facts container=x started_at=2026-11-29T06:00:01Z restart_count=0 since=$(id)")).toEqual(U);
    });

    test("the proof counts a container's rows from jobs-start's since= (docker's Created), not State.StartedAt, which Docker records after the process already runs; retire still compares State.StartedAt", async () => {
        const stdout = (s: number) => `jobs-start: facts container=shred-day-jobs-r started_at=2026-11-29T06:00:0${s}.500000000Z restart_count=0 since=2026-11-29T06:00:0${s}.200000000Z\n`;
        const outputs = { "release-jobs-start-shred-day-jobs-ubuntu": { stdout: stdout(1) }, "release-jobs-start-shred-day-jobs-2": { stdout: stdout(2) } };
        const e = await evaluate(withJobsHosts(2), { outputs });
        const release = await valueOf(e.stack.release.jobsRelease);
        const proof = e.named("release-jobs-proof").inputs.create as string;
        expect(proof).toContain(`JOBS_HOSTS='shred-day-jobs-ubuntu-${release},2026-11-29T06:00:01.200000000Z shred-day-jobs-2-${release},2026-11-29T06:00:02.200000000Z'`);
        const retire = e.named("release-jobs-retire-shred-day-jobs-2").inputs.create as string;
        expect(retire).toContain("STARTED_AT='2026-11-29T06:00:02.500000000Z'");
        expect(retire).toContain("RESTART_COUNT='0'");
    });
});

test("every jobs-start run re-runs the proof and jobs-retire: reverting a failed release (its retire never ran) retires its broken containers", async () => {
    // jobs-start ran again (the config was reverted: it found the previous release's container running); same
    // container, same facts, only the run time differs. Before, retire's inputs equalled its last good run and it
    // did not run: the crash-looping containers of the failed release stayed on the hosts (the rehearsal caught it).
    const stdout = (run: string) => ({ stdout: `jobs-start: facts container=shred-day-jobs-r started_at=2026-11-29T06:00:01.5Z restart_count=0 since=2026-11-29T06:00:01.2Z run=${run}\n` });
    const good = await evaluate(withJobsHosts(1), { outputs: { "release-jobs-start-shred-day-jobs-ubuntu": stdout("2026-11-29T06:00:02Z") } });
    const reverted = await evaluate(withJobsHosts(1), { outputs: { "release-jobs-start-shred-day-jobs-ubuntu": stdout("2026-11-29T07:30:00Z") } });
    expect(reruns(good, reverted).changed).toEqual(["release-jobs-proof", "release-jobs-retire-shred-day-jobs-ubuntu"]);
});

describe("re-run only what changed", () => {
    const base = () => productionConfig();
    const run = async (edit: (c: Record<string, any>) => void) => {
        const before = await evaluate(base());
        const c = base();
        edit(c);
        return reruns(before, await evaluate(c));
    };

    test("no change re-runs nothing", async () => {
        expect(await run(() => undefined)).toEqual({ changed: [], added: [], removed: [] });
    });

    test("a new image re-runs pull, migrate, web, jobs and the proof (not env files, not Postgres)", async () => {
        const r = await run((c) => (c.app.image = "ghcr.io/shred-day/shred-day:v2"));
        expect(r.changed).toEqual([
            "release-jobs-proof",
            "release-jobs-retire-shred-day-jobs-ubuntu",
            "release-jobs-start-shred-day-jobs-ubuntu",
            "release-migrate",
            "release-pull-shred-day-jobs-ubuntu",
            "release-pull-shred-day-web",
            "release-web",
        ]);
        expect(r.added).toEqual([]);
    });

    test("a concurrency change re-runs only the jobs rollout and the proof", async () => {
        const r = await run((c) => (c.jobs.concurrency = 4));
        expect(r.changed).toEqual([
            "release-env-shred-day-jobs-ubuntu",
            "release-jobs-proof",
            "release-jobs-retire-shred-day-jobs-ubuntu",
            "release-jobs-start-shred-day-jobs-ubuntu",
        ]);
    });

    test("a jobs.stopTimeout change is a new jobs release (docker cannot change a running container's stop timeout): start beside the old one, proof, retire; not the web", async () => {
        const before = await evaluate(base());
        const c = base();
        c.jobs.stopTimeout = 45;
        const after = await evaluate(c);
        expect(reruns(before, after).changed).toEqual(["release-jobs-proof", "release-jobs-retire-shred-day-jobs-ubuntu", "release-jobs-start-shred-day-jobs-ubuntu"]);
        const releaseOf = (e: Awaited<ReturnType<typeof evaluate>>) => /RELEASE='([0-9a-f]{10})'/.exec(e.named("release-jobs-start-shred-day-jobs-ubuntu").inputs.create)![1];
        expect(releaseOf(after)).not.toBe(releaseOf(before));
        expect(after.named("release-jobs-start-shred-day-jobs-ubuntu").inputs.create).toContain("STOP_TIMEOUT='45'");
    });

    test("a web env change re-runs only the web rollout", async () => {
        const r = await run((c) => (c.web.env = { ...c.web.env, WEB_CONCURRENCY: "3" }));
        expect(r.changed).toEqual([
            "release-env-shred-day-web",
            "release-web",
        ]);
    });

    test("an env change that can point the app at other databases re-runs db:prepare with the same image (idempotent); other env changes do not", async () => {
        const db = await run((c) => (c.web.env = { ...c.web.env, PGSSLMODE: "require" }));
        expect(db.changed).toEqual(["release-env-shred-day-web", "release-migrate", "release-web"]);
        const other = await run((c) => (c.web.env = { ...c.web.env, RAILS_LOG_LEVEL: "debug" }));
        expect(other.changed).toEqual(["release-env-shred-day-web", "release-web"]);
        // The variables are the step's triggers, secret (the URLs hold passwords), never in its command text.
        const e = await evaluate(base());
        const migrate = e.named("release-migrate");
        expect(migrate.inputs.triggers[0]).toContain("DATABASE_URL=postgres://");
        expect(migrate.secretPaths.some((p) => p.startsWith("triggers"))).toBe(true);
        for (const secret of SECRET_VALUES) expect(migrate.inputs.create).not.toContain(secret);
    });

    test("databaseEnvText: the database URLs (any <NAME>_DATABASE_URL), DB_*, PG*, POSTGRES_* and RAILS_ENV count, nothing else", () => {
        const env = { DATABASE_URL: "postgres://a@h/db", QUEUE_DATABASE_URL: "postgres://a@h/q", DB_HOST: "10.0.0.3", RAILS_LOG_LEVEL: "info", WEB_CONCURRENCY: "2" };
        const d = databaseEnvText(env);
        expect(d).toBe("DATABASE_URL=postgres://a@h/db\nDB_HOST=10.0.0.3\nQUEUE_DATABASE_URL=postgres://a@h/q");
        expect(databaseEnvText({ ...env, RAILS_LOG_LEVEL: "debug", WEB_CONCURRENCY: "3", JOB_CONCURRENCY: "4" })).toBe(d);
        const changes: Record<string, string>[] = [{ QUEUE_DATABASE_URL: "postgres://b@h/q" }, { DB_HOST: "10.0.0.4" }, { PGSSLMODE: "require" }, { POSTGRES_DB: "x" }, { RAILS_ENV: "staging" }, { CACHE_DATABASE_URL: "postgres://a@h/c" }];
        for (const change of changes) {
            expect(databaseEnvText({ ...env, ...change })).not.toBe(d);
        }
    });

    test("adding a jobs host adds only that host's steps, and the proof re-runs", async () => {
        const before = await evaluate(withJobsHosts(1));
        const after = await evaluate(withJobsHosts(2));
        const r = reruns(before, after);
        expect(r.changed).toEqual([
            "release-jobs-proof",
        ]);
        expect(r.added).toEqual([
            "host-ready-shred-day-jobs-2",
            "release-env-shred-day-jobs-2",
            "release-jobs-retire-shred-day-jobs-2",
            "release-jobs-start-shred-day-jobs-2",
            "release-pull-shred-day-jobs-2",
        ]);
        expect(r.removed).toEqual([]);
    });
});

test("app.env is for both roles: a change there rolls both, and migrates nothing", async () => {
    const before = await evaluate(productionConfig());
    const c = productionConfig();
    c.app.env.RAILS_LOG_LEVEL = "debug";
    const r = reruns(before, await evaluate(c));
    expect(r.changed).toEqual([
        "release-env-shred-day-jobs-ubuntu",
        "release-env-shred-day-web",
        "release-jobs-proof",
        "release-jobs-retire-shred-day-jobs-ubuntu",
        "release-jobs-start-shred-day-jobs-ubuntu",
        "release-web",
    ]);
});

describe("outputs", () => {
    test("a logs command per role and host", async () => {
        const e = await evaluate(withJobsHosts(2));
        const logs = e.stack.release.logs;
        expect(Object.keys(logs).sort()).toEqual(["jobs shred-day-jobs-2", "jobs shred-day-jobs-ubuntu", "web shred-day-web"]);
        expect(await valueOf(logs["jobs shred-day-jobs-2"])).toMatch(/^ssh -t root@192\.0\.2\.\d+ .*label=role=jobs.*docker logs --follow/);
    });
});

export type { Captured };
