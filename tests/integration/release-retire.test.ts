/**
 * jobs-retire.sh's gate, run for real over sshd against a private Docker engine
 * (tests/support/docker.ts): before any old worker is stopped, the new container must be
 * running, not restarting, with the restart count and State.StartedAt that jobs-start
 * reported (Docker keeps State.Running true while it restarts a crashed container). The
 * containers are real (the app stand-in); the old ones are stopped and removed for real.
 * (Converted from the retired docker test double by i9, minimally.)
 */
import { ScriptParams } from "../../components/remote";
import { TestDocker } from "../support/docker";
import { HARNESS_START_TIMEOUT_MS, RemoteHost, ScriptRun, startRemoteHost } from "../support/integration";

jest.setTimeout(90_000);

const RELEASE = "4f2a9c01de";
const NEW = `shred-day-jobs-${RELEASE}`;
const OLD = "shred-day-jobs-0b1c2d3e4f";

let host: RemoteHost;
let docker: TestDocker;
let appImage: string;

beforeAll(async () => {
    host = await startRemoteHost({ postgres: false });
    docker = host.docker;
    appImage = await docker.image("app");
}, HARNESS_START_TIMEOUT_MS);
afterAll(() => host?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The new worker (a sleeping stand-in, or the given command), the old one and a web container; returns the new one's facts as jobs-start reports them. */
async function containers(newCommand: string[] = ["sleep", "3600"], restart = "no"): Promise<{ STARTED_AT: string; RESTART_COUNT: number }> {
    const all = (await docker.ok(["ps", "-aq"])).split("\n").filter(Boolean);
    if (all.length) await docker.ok(["rm", "-f", ...all]);
    const run = (name: string, role: string, cmd: string[], policy = "no") =>
        docker.ok(["run", "--detach", "--name", name, "--restart", policy, "--label", "service=shred-day", "--label", `role=${role}`, appImage, ...cmd]);
    await run(NEW, "jobs", newCommand, restart);
    await run(OLD, "jobs", ["sleep", "3600"]);
    await run("shred-day-web-x", "web", ["sleep", "3600"]);
    const [started, count] = (await docker.ok(["inspect", "--format", "{{.State.StartedAt}} {{.RestartCount}}", NEW])).split(" ");
    return { STARTED_AT: started, RESTART_COUNT: Number(count) };
}

function retire(overrides: ScriptParams = {}): Promise<ScriptRun> {
    return host.runScript("jobs-retire", { SERVICE: "shred-day", RELEASE, STOP_TIMEOUT: 30, STARTED_AT: "2026-11-29T06:00:01.123456789Z", RESTART_COUNT: 0, ...overrides });
}

const names = async () => (await docker.ok(["ps", "-a", "--format", "{{.Names}}"])).split("\n").filter(Boolean).sort();

describe("jobs-retire.sh: the docker side of the proof, before anything is stopped", () => {
    test("the new container as jobs-start saw it: the old worker is stopped with docker stop -t and removed", async () => {
        const facts = await containers();
        const r = await retire(facts);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`jobs-retire: ${NEW} running=true restarting=false restart_count=0 (at start: 0) started_at=${facts.STARTED_AT} (at start: ${facts.STARTED_AT})`);
        expect(await names()).toEqual([NEW, "shred-day-web-x"]);
    });

    test("two runs at once (an earlier run goes on on the host after its SSH connection dropped, and up runs the step again): both succeed, the old worker is gone", async () => {
        const facts = await containers();
        // An old worker that takes a few seconds to stop (Solid Queue's shutdown_timeout), so both runs meet it.
        await docker.ok(["rm", "-f", OLD]);
        await docker.ok(["run", "--detach", "--name", OLD, "--label", "service=shred-day", "--label", "role=jobs", appImage, "bash", "-c", 'trap "sleep 3; exit 0" TERM; sleep 3600 & wait']);
        const [a, b] = await Promise.all([retire(facts), retire(facts)]);
        expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, "", ""]);
        expect(await names()).toEqual([NEW, "shred-day-web-x"]);
    });

    test("restarting (a crash loop: State.Running stays true): nothing is stopped, and the chain stops before the web switch", async () => {
        const facts = await containers(["bash", "-c", "sleep 1; exit 1"], "always");
        // wait until the engine is restarting it
        let state = "";
        for (let i = 0; i < 60 && !state.startsWith("true true"); i++) {
            await sleep(200);
            state = await docker.ok(["inspect", "--format", "{{.State.Running}} {{.State.Restarting}} {{.RestartCount}}", NEW]);
        }
        expect(state).toMatch(/^true true \d+$/); // the engine was restarting it: else the test below proves nothing
        const r = await retire(facts);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`the current worker ${NEW} restarted or stopped since jobs-start (a crash loop?), so the previous workers are kept (nothing was stopped) and the web is not switched.`);
        expect(r.stderr).toContain("--replace on this host's release-jobs-start step");
        expect(await names()).toEqual([NEW, OLD, "shred-day-web-x"].sort());
    });

    test("restarted since jobs-start (docker restart: StartedAt moved, RestartCount the same) or stopped: nothing is stopped", async () => {
        const facts = await containers();
        await docker.ok(["restart", "--time", "1", NEW]);
        expect(Number(await docker.ok(["inspect", "--format", "{{.RestartCount}}", NEW]))).toBe(0); // a manual restart does not count
        const r = await retire(facts);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("restarted or stopped since jobs-start");
        await docker.ok(["stop", "--time", "1", NEW]);
        const stopped = await retire(facts);
        expect(stopped.code).toBe(1);
        expect(stopped.stdout).toContain(`${NEW} running=false restarting=false`);
        expect(await names()).toEqual([NEW, OLD, "shred-day-web-x"].sort());
    });

    test("the new container missing: not found, nothing stopped", async () => {
        const facts = await containers();
        await docker.ok(["rm", "-f", NEW]);
        const r = await retire(facts);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("was not found (or docker inspect gave unexpected output)");
        expect(await names()).toEqual([OLD, "shred-day-web-x"]);
    });

    test("both facts unknown (jobs-start's output not passed on): refused, nothing stopped", async () => {
        await containers();
        const r = await retire({ STARTED_AT: "unknown", RESTART_COUNT: "unknown" });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("STARTED_AT 'unknown' is not docker's State.StartedAt; jobs-start did not report it.");
        expect(await names()).toEqual([NEW, OLD, "shred-day-web-x"].sort());
    });

    test("refuses unknown start facts (a preview, or a jobs-start that did not report) and bad stop timeouts before calling docker", async () => {
        await containers();
        for (const [over, message] of [
            [{ STARTED_AT: "unknown" }, /STARTED_AT 'unknown' is not docker's State.StartedAt/],
            [{ RESTART_COUNT: "unknown" }, /RESTART_COUNT must be a whole number/],
            [{ STOP_TIMEOUT: 5 }, /STOP_TIMEOUT must be 10\.\.3600 seconds \(shred-day:jobs\.stopTimeout/],
        ] as const) {
            const r = await retire(over as ScriptParams);
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(message);
        }
        expect(await names()).toEqual([NEW, OLD, "shred-day-web-x"].sort());
    });
});
