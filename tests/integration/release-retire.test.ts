/**
 * jobs-retire.sh's gate, run for real over sshd: before any old worker is stopped, the new
 * container must be running, not restarting, with the restart count and State.StartedAt that
 * jobs-start reported (Docker keeps State.Running true while it restarts a crashed container).
 * The docker test double answers `docker container inspect` / `ps` from a file and records
 * `stop` / `rm`.
 */
import * as fs from "fs";
import * as path from "path";
import { ScriptParams } from "../../components/remote";
import { DockerDouble, HARNESS_START_TIMEOUT_MS, RemoteHost, ScriptRun, startRemoteHost } from "../support/integration";

jest.setTimeout(30_000);

const RELEASE = "4f2a9c01de";
const NEW = `shred-day-jobs-${RELEASE}`;
const OLD = "shred-day-jobs-0b1c2d3e4f";
const STARTED = "2026-11-29T06:00:01.123456789Z";

let host: RemoteHost;
let docker: DockerDouble;

beforeAll(async () => {
    host = await startRemoteHost();
    docker = host.docker;
}, HARNESS_START_TIMEOUT_MS);
afterAll(() => host?.stop());

/** The new container's `Running Restarting RestartCount StartedAt` as docker inspect prints it. */
function newContainer(state: string) {
    docker.reset();
    fs.writeFileSync(path.join(docker.dir, "state"), state + "\n");
    docker.respond(String.raw`
case "$1" in
container) cat "$DOCKER_DOUBLE_DIR/state" ;;
ps) printf '%s\n' "${NEW}|jobs" "${OLD}|jobs" "shred-day-web-x|web" ;;
esac`);
}

function retire(overrides: ScriptParams = {}): Promise<ScriptRun> {
    return host.runScript("jobs-retire", { SERVICE: "shred-day", RELEASE, STOP_TIMEOUT: 30, STARTED_AT: STARTED, RESTART_COUNT: 0, ...overrides });
}

const mutating = () => docker.calls().filter((c) => c[0] === "stop" || c[0] === "rm");

describe("jobs-retire.sh: the docker side of the proof, before anything is stopped", () => {
    test("the new container as jobs-start saw it: the old worker is stopped with docker stop --timeout and removed (docker test double)", async () => {
        newContainer(`true false 0 ${STARTED}`);
        const r = await retire();
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`jobs-retire: ${NEW} running=true restarting=false restart_count=0 (at start: 0) started_at=${STARTED} (at start: ${STARTED})`);
        expect(mutating()).toEqual([["stop", "--timeout", "30", OLD], ["rm", OLD]]);
    });

    for (const [what, state] of [
        ["restarting (a crash loop: State.Running stays true)", `true true 3 ${STARTED}`],
        ["restarted since jobs-start (RestartCount went up)", `true false 1 2026-11-29T06:03:00.5Z`],
        ["restarted since jobs-start (StartedAt moved, count the same)", `true false 0 2026-11-29T06:03:00.5Z`],
        ["stopped", `false false 0 ${STARTED}`],
    ]) {
        test(`the new container ${what}: nothing is stopped, and the chain stops before the web switch (docker test double)`, async () => {
            newContainer(state);
            const r = await retire();
            expect(r.code).toBe(1);
            expect(r.stderr).toContain(`the current worker ${NEW} restarted or stopped since jobs-start (a crash loop?), so the previous workers are kept (nothing was stopped) and the web is not switched.`);
            expect(r.stderr).toContain("--replace on this host's release-jobs-start step");
            expect(mutating()).toEqual([]);
        });
    }

    test("docker output that is not what inspect prints is not trusted and runs nothing (docker test double)", async () => {
        fs.rmSync("/tmp/i12-retire-pwned", { force: true });
        newContainer("true false $(touch /tmp/i12-retire-pwned) f[$(touch /tmp/i12-retire-pwned)]");
        const r = await retire();
        expect(r.code).toBe(1);
        expect(fs.existsSync("/tmp/i12-retire-pwned")).toBe(false);
        expect(r.stderr).toContain("was not found (or docker inspect gave unexpected output)");
        expect(mutating()).toEqual([]);
    });

    test("refuses unknown start facts (a preview, or a jobs-start that did not report) and bad stop timeouts before calling docker", async () => {
        newContainer(`true false 0 ${STARTED}`);
        for (const [over, message] of [
            [{ STARTED_AT: "unknown" }, /STARTED_AT 'unknown' is not docker's State.StartedAt/],
            [{ RESTART_COUNT: "unknown" }, /RESTART_COUNT must be a whole number/],
            [{ STOP_TIMEOUT: 5 }, /STOP_TIMEOUT must be 10\.\.3600 seconds \(shred-day:jobs\.stopTimeout/],
        ] as const) {
            const r = await retire(over as ScriptParams);
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(message);
        }
        expect(docker.calls()).toEqual([]);
    });
});
