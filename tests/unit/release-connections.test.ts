import { connectionBudget, DEFAULT_MAX_CONNECTIONS, envCount } from "../../components/postgresConnections";
import { KAMAL_PROXY_MINIMUM, parseConfig } from "../../stacks/config";
import { productionConfig, withJobsHosts } from "../support/fixtures";
import { evaluate } from "../../scripts/evaluate";

describe("Postgres connections a release can open (issue 12.8)", () => {
    test("the production shape: 1 jobs host, JOB_CONCURRENCY 2, WEB_CONCURRENCY 2, 3 threads, 4 databases", () => {
        const b = connectionBudget({ jobsHosts: 1, jobConcurrency: 2, webConcurrency: 2, webThreads: 3, databases: 4 });
        expect(b.web).toBe(24); // 2 x 3 x 4
        expect(b.jobsPerHost).toBe(2 * (3 + 2 + 3 * 3) + 3 + 2); // 33
        expect(b.peak).toBe(Math.max(2 * 33 + 24, 33 + 48)); // 90: the jobs overlap
        expect(b.needed).toBe(96);
        expect(b.setting).toBe(DEFAULT_MAX_CONNECTIONS);
        expect(b.explain).toContain("max(2 x 33 + 24, 33 + 2 x 24) = 90; + 6 reserved = 96");
    });

    test("more hosts or concurrency raise the setting past Postgres' default 100, rounded up to 50", () => {
        const two = connectionBudget({ jobsHosts: 2, jobConcurrency: 2, webConcurrency: 2, webThreads: 3, databases: 4 });
        expect(two.needed).toBe(2 * 66 + 24 + 6); // 162
        expect(two.setting).toBe(200);
        const web = connectionBudget({ jobsHosts: 1, jobConcurrency: 1, webConcurrency: 8, webThreads: 5, databases: 2 });
        expect(web.web).toBe(80);
        expect(web.peak).toBe(web.jobs + 160); // the web switch overlap dominates
    });

    test("env counts: unset gives the default, a non-number is NaN", () => {
        expect(envCount(undefined, 3)).toBe(3);
        expect(envCount("5", 3)).toBe(5);
        expect(Number.isNaN(envCount("five", 3))).toBe(true);
    });

    test("20 jobs hosts (the bench) raise it to 1350 (already a multiple of 50)", () => {
        expect(connectionBudget({ jobsHosts: 20, jobConcurrency: 2, webConcurrency: 2, webThreads: 3, databases: 4 })).toMatchObject({ needed: 1350, setting: 1350 });
    });

    test("the Postgres container gets -c max_connections from postgres.maxConnections (default 200), never from the need", async () => {
        const command = async (c: ReturnType<typeof productionConfig>) =>
            (await evaluate(c)).ofType("docker:index/container:Container")[0].inputs.command;
        expect(await command(productionConfig())).toEqual(["postgres", "-c", "max_connections=200"]);
        const more = productionConfig();
        more.jobs.concurrency = 4; // needs 152: fits 200, so Postgres is left alone
        expect(await command(more)).toEqual(["postgres", "-c", "max_connections=200"]);
        const raised = productionConfig();
        raised.postgres.maxConnections = 300;
        expect(await command(raised)).toEqual(["postgres", "-c", "max_connections=300"]);
    });

    test("a need above postgres.maxConnections is refused, naming the key, the numbers and the value to set", () => {
        const c = withJobsHosts(2);
        c.jobs.concurrency = 3; // 2 hosts x 47 + web 24: max(2 x 94 + 24, 94 + 48) + 6 = 218
        c.postgres.maxConnections = 200;
        expect(() => parseConfig(c)).toThrow(
            /shred-day:postgres\.maxConnections = 200: a release of this config can open 218 Postgres connections \(web: .*\); set it to 250 \(`pulumi config set --path shred-day:postgres\.maxConnections 250`: the next up restarts the Postgres container once/,
        );
        c.postgres.maxConnections = 250;
        expect(() => parseConfig(c)).not.toThrow();
    });

    test("postgres.maxConnections outside 100..2000 is refused with the range", () => {
        const c = productionConfig();
        c.postgres.maxConnections = 50;
        expect(() => parseConfig(c)).toThrow(/shred-day:postgres\.maxConnections = 50: must be 100\.\.2000/);
    });

    test("a config needing more than 2000 connections is refused, with the numbers", () => {
        const c = withJobsHosts(5);
        c.jobs.concurrency = 16;
        expect(() => parseConfig(c)).toThrow(/needs 2320 Postgres connections \(web: .* reserved = 2320\), which would need max_connections above 2000/);
    });

    test("a non-numeric WEB_CONCURRENCY or RAILS_MAX_THREADS is refused naming the key", () => {
        const c = productionConfig();
        c.app.env.RAILS_MAX_THREADS = "lots";
        expect(() => parseConfig(c)).toThrow(/shred-day:app.env.RAILS_MAX_THREADS/);
    });
});

describe("kamal-proxy pin (issue 12.10)", () => {
    test("the default pin is at least Kamal's MINIMUM_VERSION (v0.9.0), and an older kamal-proxy is refused with the fix", () => {
        const c = productionConfig();
        delete c.app.proxyImage;
        expect(parseConfig(c).app.proxyImage).toBe("basecamp/kamal-proxy:v0.9.0");
        expect(KAMAL_PROXY_MINIMUM).toEqual([0, 9, 0]);
        for (const old of ["basecamp/kamal-proxy:v0.8.7", "basecamp/kamal-proxy:v0.3.0", "registry.example.com/basecamp/kamal-proxy:v0.8.99"]) {
            const bad = productionConfig();
            bad.app.proxyImage = old;
            expect(() => parseConfig(bad)).toThrow(`shred-day:app.proxyImage = ${JSON.stringify(old)}: older than kamal-proxy v0.9.0, the minimum Kamal itself runs; use basecamp/kamal-proxy:v0.9.0 or newer`);
        }
        for (const ok of ["basecamp/kamal-proxy:v0.9.0", "basecamp/kamal-proxy:v0.10.1", "basecamp/kamal-proxy:v1.0.0"]) {
            const good = productionConfig();
            good.app.proxyImage = ok;
            expect(parseConfig(good).app.proxyImage).toBe(ok);
        }
    });
});
