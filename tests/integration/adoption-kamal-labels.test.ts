/**
 * The first web rollout after adoption retires Kamal's web containers of THIS app, found by the
 * labels Kamal gives them, on a REAL Docker engine (a private dockerd, the stand-in app and
 * kamal-proxy images), with web-rollout.sh run as the command provider runs it.
 *
 * Kamal labels every app container `service=<service>`, `role=<role>` and
 * `destination=<destination>` (empty when there is none): basecamp/kamal
 * lib/kamal/configuration/role.rb `default_labels`, passed by lib/kamal/utils.rb `argumentize`
 * (a nil value gives a bare `--label destination`), and lib/kamal/commands/app.rb `filters`
 * finds them by the same labels. web.kamal {service, role, destination} in the stack config
 * says which: components/release.ts passes them as KAMAL_SERVICE, KAMAL_ROLE, KAMAL_DESTINATION.
 * Containers of another service, role or destination are never touched.
 */
import * as fs from "fs";
import * as path from "path";
import { ScriptParams } from "../../components/remote";
import { DOCKER_START_TIMEOUT_MS, TestDocker } from "../support/docker";
import { LocalScriptHost, startLocalScriptHost } from "../support/localScripts";
import { ExecResult } from "../support/integration";

jest.setTimeout(300_000);

const SERVICE = "shred-day";
const IMAGE = "ghcr.io/shred-day/shred-day:v2";
const PROXY_IMAGE = "basecamp/kamal-proxy:v0.9.0";
const APP_HOST = "shred.day";

let host: LocalScriptHost;
let docker: TestDocker;
let envFile: string;

beforeAll(async () => {
    host = await startLocalScriptHost("10.0.0.3", "kamal-labels");
    docker = host.docker;
    await docker.tag(await docker.image("app"), IMAGE);
    await docker.tag(await docker.image("kamal-proxy"), PROXY_IMAGE);
    envFile = path.join(host.scratch, "web.env");
    fs.writeFileSync(envFile, "WEB_CONCURRENCY=2\nRAILS_MASTER_KEY=not-a-real-key\n", { mode: 0o600 });
}, DOCKER_START_TIMEOUT_MS);

afterAll(async () => {
    await host?.stop();
});

beforeEach(async () => {
    const names = (await docker.ok(["ps", "-a", "--format", "{{.Names}}"])).split("\n").filter(Boolean);
    if (names.length) await docker.ok(["rm", "-f", "-v", ...names]);
    await docker.run(["network", "rm", "kamal"]);
    await docker.run(["volume", "rm", "kamal-proxy-config"]);
    await docker.ok(["network", "create", "kamal"]);
});

/** A web container as `kamal deploy` leaves it: the app on the kamal network, Kamal's three labels. */
async function kamalWeb(name: string, labels: { service: string; role: string; destination?: string }): Promise<void> {
    await docker.ok([
        "run", "--detach", "--name", name, "--network", "kamal", "--restart", "unless-stopped", "--env-file", envFile,
        "--label", `service=${labels.service}`, "--label", `role=${labels.role}`,
        // Kamal's argumentize: a nil destination is a bare `--label destination` (empty value)
        "--label", labels.destination === undefined ? "destination" : `destination=${labels.destination}`,
        IMAGE,
    ]);
}

async function states(): Promise<Record<string, string>> {
    const out = await docker.ok(["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    return Object.fromEntries(out.split("\n").filter(Boolean).map((l) => l.split(" ") as [string, string]));
}

function rollout(release: string, extra: ScriptParams = {}): Promise<ExecResult> {
    return host.run(
        "web-rollout",
        {
            SERVICE,
            IMAGE,
            ENV_FILE: envFile,
            RELEASE: release,
            APP_HOST,
            PROXY_IMAGE,
            CONTAINER_HOSTNAME: `shred-day-web-${release}`,
            STOP_TIMEOUT: 30,
            DEPLOY_TIMEOUT: 30,
            ...extra,
        },
        { timeoutMs: 240_000 },
    );
}

test("web.kamal.service=myapp: Kamal's myapp web container is retired after the switch; other services, roles and destinations keep running", async () => {
    await kamalWeb("myapp-web-9c1e2f3a4b5c", { service: "myapp", role: "web" });
    await kamalWeb("otherapp-web-0a1b2c3d4e5f", { service: "otherapp", role: "web" });
    await kamalWeb("myapp-web-staging-1f2e3d4c5b6a", { service: "myapp", role: "web", destination: "staging" });
    await kamalWeb("myapp-workers-2a3b4c5d6e7f", { service: "myapp", role: "workers" });

    // Without web.kamal's labels (the service name alone), Kamal's container of `myapp` is not ours to find.
    const plain = await rollout("1111111111");
    expect([plain.code, plain.stderr]).toEqual([0, ""]);
    expect(plain.stdout).toContain("0 old web container(s) retired");
    expect((await states())["myapp-web-9c1e2f3a4b5c"]).toBe("running");

    // With web.kamal {service: myapp, role: web}: retired once the new release serves.
    const r = await rollout("2222222222", { KAMAL_SERVICE: "myapp", KAMAL_ROLE: "web", PROXY_SERVICE: "myapp-web" });
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const switched = r.stdout.indexOf("web-rollout: kamal-proxy serves shred.day from shred-day-web-2222222222");
    const retired = r.stdout.indexOf("web-rollout: stopped and removed myapp-web-9c1e2f3a4b5c");
    expect(switched).toBeGreaterThan(0);
    expect(retired).toBeGreaterThan(switched);
    expect(r.stdout).toContain("web-rollout: stopped and removed shred-day-web-1111111111");
    expect(r.stdout).toContain("2 old web container(s) retired");
    expect(r.stdout).toContain("web-rollout: kept myapp-web-staging-1f2e3d4c5b6a: Kamal destination 'staging', not '' (web.kamal.destination)");
    expect(await states()).toEqual({
        "kamal-proxy": "running",
        "shred-day-web-2222222222": "running",
        "otherapp-web-0a1b2c3d4e5f": "running",
        "myapp-web-staging-1f2e3d4c5b6a": "running",
        "myapp-workers-2a3b4c5d6e7f": "running",
    });
    expect((await docker.http("127.0.0.1", 80, "/", { host: APP_HOST })).body).toContain("host=shred-day-web-2222222222");
});

test("web.kamal.destination=production: only Kamal's production web container is retired, not staging's nor the one without a destination", async () => {
    await kamalWeb("myapp-web-production-3a4b5c6d7e8f", { service: "myapp", role: "web", destination: "production" });
    await kamalWeb("myapp-web-staging-4b5c6d7e8f9a", { service: "myapp", role: "web", destination: "staging" });
    await kamalWeb("myapp-web-5c6d7e8f9a0b", { service: "myapp", role: "web" });
    const r = await rollout("3333333333", { KAMAL_SERVICE: "myapp", KAMAL_ROLE: "web", KAMAL_DESTINATION: "production", PROXY_SERVICE: "myapp-web-production" });
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain("web-rollout: stopped and removed myapp-web-production-3a4b5c6d7e8f");
    expect(r.stdout).toContain("1 old web container(s) retired");
    expect(await states()).toEqual({
        "kamal-proxy": "running",
        "shred-day-web-3333333333": "running",
        "myapp-web-staging-4b5c6d7e8f9a": "running",
        "myapp-web-5c6d7e8f9a0b": "running",
    });
});

test("a Kamal name that is not a plain label value is refused before anything starts", async () => {
    const r = await rollout("4444444444", { KAMAL_SERVICE: "myapp --all" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("web-rollout: KAMAL_SERVICE may hold only letters, digits, '_', '.', '-' (web.kamal in the stack config), got 'myapp --all'.");
    expect(Object.keys(await states())).toEqual([]);
});

test("jobs-retire on a jobs host Kamal deployed to: retires Kamal's `job` containers of web.kamal's service and destination, keeps other services, roles and destinations", async () => {
    const RELEASE = "5555555555";
    const current = `${SERVICE}-jobs-${RELEASE}`;
    const worker = async (name: string, labels: string[]) =>
        docker.ok(["run", "--detach", "--name", name, ...labels.flatMap((l) => ["--label", l]), IMAGE, "sleep", "600"]);
    await worker(current, [`service=${SERVICE}`, "role=jobs", `release=${RELEASE}`]);
    await worker(`${SERVICE}-jobs-0000000000`, [`service=${SERVICE}`, "role=jobs", "release=0000000000"]);
    await worker("myapp-job-production-6d7e8f9a0b1c", ["service=myapp", "role=job", "destination=production"]);
    await worker("myapp-job-staging-7e8f9a0b1c2d", ["service=myapp", "role=job", "destination=staging"]);
    await worker("myapp-web-production-8f9a0b1c2d3e", ["service=myapp", "role=web", "destination=production"]);
    await worker("otherapp-job-9a0b1c2d3e4f", ["service=otherapp", "role=job", "destination"]);
    const [started, restarts] = (await docker.ok(["inspect", "--format", "{{.State.StartedAt}} {{.RestartCount}}", current])).split(" ");

    const r = await host.run(
        "jobs-retire",
        { SERVICE, RELEASE, STOP_TIMEOUT: 10, STARTED_AT: started, RESTART_COUNT: restarts, KAMAL_SERVICE: "myapp", KAMAL_DESTINATION: "production" },
        { timeoutMs: 120_000 },
    );
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain(`jobs-retire: stopped (within 10s) and removed ${SERVICE}-jobs-0000000000`);
    expect(r.stdout).toContain("jobs-retire: stopped (within 10s) and removed myapp-job-production-6d7e8f9a0b1c");
    expect(r.stdout).toContain("jobs-retire: kept myapp-job-staging-7e8f9a0b1c2d: Kamal destination 'staging', not 'production' (web.kamal.destination)");
    expect(r.stdout).toContain(`jobs-retire: ${current} keeps running; 2 old worker container(s) retired`);
    expect(await states()).toEqual({
        [current]: "running",
        "myapp-job-staging-7e8f9a0b1c2d": "running",
        "myapp-web-production-8f9a0b1c2d3e": "running",
        "otherapp-job-9a0b1c2d3e4f": "running",
    });
});
