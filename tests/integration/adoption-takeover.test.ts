/**
 * Taking over Kamal's Postgres accessory on a REAL Docker engine (a private dockerd, the
 * test Postgres image): the remote scripts run for real, with the exact command text the
 * command provider sends (scriptCommand), in the order `pulumi up` runs them:
 *
 *   postgres-preflight -> postgres-takeover -> our container (created as the docker provider
 *   would from postgresContainerSpec: same name, port on 10.0.0.3, bind mount, labels, kamal
 *   network alias) -> postgres-wait-ready
 *
 * Kamal's era: the accessory `shred-day-db` (Kamal's `docker run`: --network kamal, restart
 * unless-stopped, 127.0.0.1:5432, label service=shred-day-db) with real rows, its data in a
 * bind mount, then in a named volume; and a Kamal-era web stand-in on the `kamal` network that
 * queries `shred-day-db` by name every 200 ms, for the whole switch. A sampler asks the daemon
 * every ~150 ms which Postgres servers run: never two at once.
 *
 * The timeline and the count of failed queries are written to $ADOPTION_REPORT (default
 * /tmp/shred-day-adoption-report.txt) as well as asserted.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { POSTGRES_CONTAINER, postgresContainerSpec } from "../../components/postgresAccessory";
import { ScriptParams } from "../../components/remote";
import { DOCKER_START_TIMEOUT_MS, TestDocker } from "../support/docker";
import { LocalScriptHost, startLocalScriptHost } from "../support/localScripts";
import { execLocal, ExecResult } from "../support/integration";

jest.setTimeout(240_000);

const OLD = "shred-day-db";
const USER = "shred_day";
const PASSWORD = "kamal-era-password-0123";
const DB = "shred_day_production";
const ROWS = 500;
const PRIVATE_IP = "10.0.0.3";
const REPORT = process.env.ADOPTION_REPORT ?? path.join(os.tmpdir(), "shred-day-adoption-report.txt");

let host: LocalScriptHost;
let docker: TestDocker;
let pgImage: string;
let major: number;
let scratch: string;

beforeAll(async () => {
    host = await startLocalScriptHost(PRIVATE_IP, "adoption");
    ({ docker, pgImage, major, scratch } = host);
    fs.writeFileSync(REPORT, "");
}, DOCKER_START_TIMEOUT_MS);

afterAll(async () => {
    await host?.stop();
});

function report(line: string): void {
    fs.appendFileSync(REPORT, `${line}\n`);
}

/** A script as the command provider runs it, on the host that runs dockerd. */
const runScript = (name: string, params: ScriptParams): Promise<ExecResult> => host.run(name, params, { timeoutMs: 180_000 });

const sh = (args: string[]) => docker.ok(args);

async function waitFor(what: string, probe: () => Promise<boolean>, seconds = 60): Promise<void> {
    for (let i = 0; i < seconds * 4; i++) {
        if (await probe()) return;
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out after ${seconds}s waiting for ${what}`);
}

interface KamalEra {
    /** postgres.dataDir for this setup: the cluster's host path. */
    dataDir: string;
    mount: string;
}

/** Kamal's world: network, accessory with real rows, and (optionally) the web stand-in querying it. */
async function kamalEra(kind: "bind" | "volume", opts: { web: boolean; name?: string }): Promise<KamalEra> {
    const OLD = opts.name ?? "shred-day-db";
    await docker.run(["network", "create", "kamal"]);
    let mount: string;
    if (kind === "bind") {
        const dir = path.join(scratch, `kamal-${Date.now()}`, "shred-day-db", "data");
        fs.mkdirSync(dir, { recursive: true });
        mount = `${dir}:/var/lib/postgresql/data`;
    } else {
        mount = "shred-day-db-data:/var/lib/postgresql/data";
    }
    // as `kamal accessory boot db` runs it (basecamp/kamal lib/kamal/commands/accessory.rb `run`)
    await sh([
        "run", "--name", OLD, "--detach", "--restart", "unless-stopped", "--network", "kamal",
        "--publish", "127.0.0.1:5432:5432",
        "--env", `POSTGRES_USER=${USER}`, "--env", `POSTGRES_PASSWORD=${PASSWORD}`, "--env", `POSTGRES_DB=${DB}`,
        "--volume", mount, "--label", `service=${OLD}`, pgImage,
    ]);
    await waitFor("the accessory", async () => (await docker.run(["exec", OLD, "pg_isready", "-h", "127.0.0.1", "-U", USER])).code === 0);
    await sh(["exec", OLD, "psql", "-U", USER, "-d", DB, "-v", "ON_ERROR_STOP=1", "-qc",
        `CREATE TABLE items (id serial PRIMARY KEY, note text NOT NULL); INSERT INTO items (note) SELECT 'row ' || g FROM generate_series(1, ${ROWS}) g;`]);
    const source = (await sh(["inspect", "--format", '{{range .Mounts}}{{if eq .Destination "/var/lib/postgresql/data"}}{{.Source}}{{end}}{{end}}', OLD])).trim();
    if (opts.web) {
        // the Kamal-era web container: reaches the database by the accessory's name on `kamal`
        await sh([
            "run", "--name", "kamal-web", "--detach", "--network", "kamal", "--env", `PGPASSWORD=${PASSWORD}`, "--entrypoint", "bash", pgImage, "-c",
            `for i in $(seq 1 3000); do
               start=$(date +%s.%N)
               if out=$(timeout 2 psql -h ${OLD} -U ${USER} -d ${DB} -Atc 'SELECT count(*) FROM items' 2>&1); then echo "ok $start $out"; else echo "fail $start $(echo "$out" | head -n1)"; fi
               sleep 0.2
             done`,
        ]);
        await waitFor("the web stand-in's first answer", async () => (await docker.run(["logs", "kamal-web"])).stdout.includes(`ok `), 30);
    }
    return { dataDir: source, mount };
}

async function teardown(): Promise<void> {
    const ids = (await docker.run(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
    if (ids.length) await docker.run(["rm", "-f", "-v", ...ids]);
    await docker.run(["network", "rm", "kamal"]);
    await docker.run(["volume", "rm", "shred-day-db-data"]);
}

/** Samples which Postgres servers run (names of running containers of the postgres image), every ~150 ms. */
function sampler() {
    const samples: { t: number; running: string[] }[] = [];
    let stop = false;
    const loop = (async () => {
        for (let i = 0; i < 2000 && !stop; i++) {
            const r = await docker.run(["ps", "--filter", "status=running", "--filter", `ancestor=${pgImage}`, "--format", "{{.Names}}"]);
            samples.push({ t: Date.now(), running: r.stdout.split("\n").filter((n) => n && n !== "kamal-web") });
            await new Promise((res) => setTimeout(res, 150));
        }
    })();
    return {
        samples,
        async done() {
            stop = true;
            await loop;
            return samples;
        },
    };
}

function preflightParams(dataDir: string, extra: ScriptParams = {}): ScriptParams {
    return { DATA_DIR: dataDir, PG_MAJOR: major, PRIVATE_IP, CONTAINER: POSTGRES_CONTAINER, IMAGE: pgImage, ADOPT_FROM: OLD, INITIALIZE: false, ...extra };
}

function takeoverParams(dataDir: string, dumpDir: string, extra: ScriptParams = {}): ScriptParams {
    return { ADOPT_FROM: OLD, DATA_DIR: dataDir, PG_MAJOR: major, CONTAINER: POSTGRES_CONTAINER, DUMP_DIR: dumpDir, NETWORK: "kamal", STOP_TIMEOUT: 60, ...extra };
}

/** Our container, as the docker provider creates it from the component's spec. */
async function startOurs(dataDir: string, adoptFrom = OLD): Promise<void> {
    const spec = postgresContainerSpec({ image: pgImage, privateIp: PRIVATE_IP, dataDir, mountPath: "/var/lib/postgresql/data", adoptFrom });
    const p = spec.ports[0];
    const args = ["run", "--detach", "--name", spec.name, "--restart", "unless-stopped", "--publish", `${p.ip}:${p.external}:${p.internal}/${p.protocol}`];
    for (const v of spec.volumes) args.push("--volume", `${v.hostPath}:${v.containerPath}`);
    for (const [k, v] of Object.entries(spec.labels)) args.push("--label", `${k}=${v}`);
    const [net] = spec.networks;
    args.push("--network", net.name);
    for (const a of net.aliases) args.push("--network-alias", a);
    args.push("--env", `POSTGRES_USER=${USER}`, "--env", "POSTGRES_PASSWORD=not-used-on-an-existing-cluster", "--env", `POSTGRES_DB=${DB}`, pgImage);
    await sh(args);
}

async function state(old = OLD): Promise<string> {
    const r = await docker.run(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    const o = await docker.run(["inspect", "--format", "{{.State.Status}} restart={{.HostConfig.RestartPolicy.Name}}", old]);
    return `${r.stdout.split("\n").filter(Boolean).map((l) => l.replace(/ (Up|Exited) .*/, " $1")).sort().join(", ")} | ${old}: ${o.stdout.trim()}`;
}

function queries(logs: string) {
    const lines = logs.split("\n").filter((l) => /^(ok|fail) /.test(l));
    return lines.map((l) => {
        const [kind, t, ...rest] = l.split(" ");
        return { ok: kind === "ok", t: Math.round(Number(t) * 1000), out: rest.join(" ") };
    });
}

const fmt = (t: number, t0: number) => `+${((t - t0) / 1000).toFixed(2)}s`;

describe.each(["bind", "volume"] as const)("takeover of Kamal's accessory, data in a %s mount", (kind) => {
    afterAll(teardown);

    test("every row kept, never two servers, the Kamal web container's queries resume on ours", async () => {
        const era = await kamalEra(kind, { web: true });
        const dumpDir = path.join(scratch, `dumps-${kind}`);
        const t0 = Date.now();
        const watch = sampler();

        const pre = await runScript("postgres-preflight", preflightParams(era.dataDir));
        expect(pre.stderr).not.toContain("REFUSED");
        expect(pre.code).toBe(0);
        expect(pre.stdout).toContain(`postgres.adoptFrom ${OLD} (${pgImage}, running) keeps its Postgres ${major} cluster at ${era.dataDir}`);
        const tPre = Date.now();

        const take = await runScript("postgres-takeover", takeoverParams(era.dataDir, dumpDir));
        expect(take.stderr).toBe("");
        expect(take.code).toBe(0);
        const tTake = Date.now();
        await startOurs(era.dataDir);
        const tCreated = Date.now();
        const ready = await runScript("postgres-wait-ready", { CONTAINER: POSTGRES_CONTAINER, PRIVATE_IP, DB_USER: USER, TIMEOUT_SECONDS: 60 });
        expect(ready.code).toBe(0);
        const tReady = Date.now();
        // let the web stand-in run on ours for a while
        await waitFor("queries answered by ours", async () => {
            const q = queries((await docker.run(["logs", "kamal-web"])).stdout);
            return q.filter((x) => x.ok && x.t > tReady).length >= 10;
        });
        const samples = await watch.done();

        // every row kept
        const count = await sh(["exec", POSTGRES_CONTAINER, "psql", "-U", USER, "-d", DB, "-Atc", "SELECT count(*), min(id), max(id) FROM items"]);
        expect(count.trim()).toBe(`${ROWS}|1|${ROWS}`);
        // never two servers (and the sampler saw both phases)
        const both = samples.filter((s) => s.running.length > 1);
        expect(both).toEqual([]);
        expect(samples.some((s) => s.running.includes(OLD))).toBe(true);
        expect(samples.some((s) => s.running.includes(POSTGRES_CONTAINER))).toBe(true);
        // the old accessory: kept, stopped, never to start by itself
        expect((await sh(["inspect", "--format", "{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}", OLD])).trim()).toBe("exited no");
        // ours answers by the old name on the kamal network
        const aliases = await sh(["inspect", "--format", '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{join $v.Aliases ","}} {{end}}', POSTGRES_CONTAINER]);
        expect(aliases).toContain(`kamal=`);
        expect(aliases).toContain(OLD);
        // the dump: root-only, complete, size and checksum as printed
        const [dump] = fs.readdirSync(dumpDir).map((f) => path.join(dumpDir, f));
        expect(fs.statSync(dumpDir).mode & 0o777).toBe(0o700);
        expect(fs.statSync(dump).mode & 0o777).toBe(0o600);
        const text = fs.readFileSync(dump, "utf8");
        expect(text).toContain("CREATE TABLE public.items");
        expect(text).toContain("PostgreSQL database cluster dump complete");
        const sha = require("crypto").createHash("sha256").update(fs.readFileSync(dump)).digest("hex");
        expect(take.stdout).toContain(`dump complete: ${dump}, ${fs.statSync(dump).size} bytes, sha256 ${sha}`);

        // the web container's view of the switch
        const q = queries((await docker.run(["logs", "kamal-web"])).stdout).filter((x) => x.t >= t0);
        const failed = q.filter((x) => !x.ok);
        const lastOld = [...q].reverse().find((x) => x.ok && x.t <= tTake);
        const firstOurs = q.find((x) => x.ok && x.t >= tTake);
        expect(firstOurs).toBeDefined();
        expect(q.filter((x) => x.ok).every((x) => x.out === String(ROWS))).toBe(true);
        // no query started after ours is ready failed: the queries resumed for good (each line carries
        // its query's start time: one started before, during the switch, may time out up to 2 s later)
        expect(failed.filter((x) => x.t > tReady + 1000)).toEqual([]);

        const stopLine = take.stdout.split("\n").find((l) => l.includes(" stopped (exited)"))!;
        const lines = [
            `== takeover, data in a ${kind} mount (${era.dataDir}), ${ROWS} rows; web stand-in queries every 200 ms ==`,
            `preflight done           ${fmt(tPre, t0)}`,
            ...take.stdout.trim().split("\n").map((l) => `  ${l}`),
            `takeover done            ${fmt(tTake, t0)}`,
            `our container created    ${fmt(tCreated, t0)}`,
            `ours ready (wait-ready)  ${fmt(tReady, t0)}   ${ready.stdout.trim()}`,
            `last query answered by the old accessory ${lastOld ? fmt(lastOld.t, t0) : "-"}; first by ours ${fmt(firstOurs!.t, t0)}; gap ${(((firstOurs!.t - (lastOld?.t ?? t0)) / 1000)).toFixed(2)} s`,
            `queries: ${q.length} in the window, ${failed.length} failed (${failed.map((f) => `${fmt(f.t, t0)} ${f.out}`).slice(0, 3).join("; ")}${failed.length > 3 ? "; ..." : ""})`,
            `servers sampled ${samples.length} times (every ~150 ms): max running at once ${Math.max(...samples.map((s) => s.running.length))}`,
            `rows after: ${count.trim()} (count|min|max)`,
            `(${stopLine?.trim()})`,
        ];
        report(lines.join("\n"));
        // console output for whoever runs the test by hand
        console.log(lines.join("\n"));
    });

    test("run again (a later pulumi up): preflight and takeover change nothing", async () => {
        const dataDir = (await sh(["inspect", "--format", '{{range .Mounts}}{{if eq .Destination "/var/lib/postgresql/data"}}{{.Source}}{{end}}{{end}}', POSTGRES_CONTAINER])).trim();
        const before = await state();
        const pre = await runScript("postgres-preflight", preflightParams(dataDir));
        expect(pre.code).toBe(0);
        const take = await runScript("postgres-takeover", takeoverParams(dataDir, path.join(scratch, `dumps-${kind}-again`)));
        expect(take.code).toBe(0);
        expect(take.stdout).toContain(`${OLD} is stopped: taken over already, nothing else to do.`);
        expect(fs.existsSync(path.join(scratch, `dumps-${kind}-again`))).toBe(false);
        expect(await state()).toBe(before);
    });
});

describe("Kamal's accessory called `postgres`: named shred-day-postgres, like ours", () => {
    afterAll(teardown);

    test("taken over by labels, not names: renamed <name>-kamal-retired, ours takes the name; a re-run changes nothing", async () => {
        const era = await kamalEra("bind", { web: false, name: POSTGRES_CONTAINER });
        const adopt = { ADOPT_FROM: POSTGRES_CONTAINER };
        const pre = await runScript("postgres-preflight", preflightParams(era.dataDir, adopt));
        expect(pre.code).toBe(0);
        const take = await runScript("postgres-takeover", takeoverParams(era.dataDir, path.join(scratch, "dumps-same-name"), adopt));
        expect(take.stderr).toBe("");
        expect(take.code).toBe(0);
        expect(take.stdout).toContain(`renamed ${POSTGRES_CONTAINER} to ${POSTGRES_CONTAINER}-kamal-retired`);
        await startOurs(era.dataDir, POSTGRES_CONTAINER);
        expect((await runScript("postgres-wait-ready", { CONTAINER: POSTGRES_CONTAINER, PRIVATE_IP, DB_USER: USER, TIMEOUT_SECONDS: 60 })).code).toBe(0);
        expect((await sh(["exec", POSTGRES_CONTAINER, "psql", "-U", USER, "-d", DB, "-Atc", "SELECT count(*) FROM items"])).trim()).toBe(String(ROWS));
        expect((await sh(["inspect", "--format", "{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}", `${POSTGRES_CONTAINER}-kamal-retired`])).trim()).toBe("exited no");
        // a later pulumi up (ours replaced, say): ours holds the name now, the retired one is found
        const before = await state(`${POSTGRES_CONTAINER}-kamal-retired`);
        expect((await runScript("postgres-preflight", preflightParams(era.dataDir, adopt))).code).toBe(0);
        const again = await runScript("postgres-takeover", takeoverParams(era.dataDir, path.join(scratch, "dumps-same-name-again"), adopt));
        expect(again.code).toBe(0);
        expect(again.stdout).toContain(`${POSTGRES_CONTAINER}-kamal-retired is stopped: taken over already, nothing else to do.`);
        expect(await state(`${POSTGRES_CONTAINER}-kamal-retired`)).toBe(before);
    });
});

describe("the way back: postgres-handback", () => {
    afterAll(teardown);

    test("ours stops first, then the old accessory serves the same data again; never both", async () => {
        const era = await kamalEra("bind", { web: true });
        expect((await runScript("postgres-preflight", preflightParams(era.dataDir))).code).toBe(0);
        expect((await runScript("postgres-takeover", takeoverParams(era.dataDir, path.join(scratch, "dumps-back")))).code).toBe(0);
        await startOurs(era.dataDir);
        expect((await runScript("postgres-wait-ready", { CONTAINER: POSTGRES_CONTAINER, PRIVATE_IP, DB_USER: USER, TIMEOUT_SECONDS: 60 })).code).toBe(0);
        // a row written on ours must be there after the hand back
        await sh(["exec", POSTGRES_CONTAINER, "psql", "-U", USER, "-d", DB, "-qc", "INSERT INTO items (note) VALUES ('written by ours')"]);

        const watch = sampler();
        const t0 = Date.now();
        const back = await runScript("postgres-handback", { ADOPT_FROM: OLD, DATA_DIR: era.dataDir, PG_MAJOR: major, CONTAINER: POSTGRES_CONTAINER, STOP_TIMEOUT: 60 });
        expect(back.stderr).toBe("");
        expect(back.code).toBe(0);
        // what the same `pulumi up` then does: the docker provider deletes ours (no longer declared)
        await sh(["rm", POSTGRES_CONTAINER]);
        await waitFor("queries answered by the old accessory again", async () => {
            const q = queries((await docker.run(["logs", "kamal-web"])).stdout);
            return q.filter((x) => x.ok && x.t > Date.now() - 1500).length >= 3;
        });
        const samples = await watch.done();

        expect(samples.filter((s) => s.running.length > 1)).toEqual([]);
        expect((await sh(["inspect", "--format", "{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}", OLD])).trim()).toBe("running unless-stopped");
        expect((await sh(["exec", OLD, "psql", "-U", USER, "-d", DB, "-Atc", "SELECT count(*) FROM items"])).trim()).toBe(String(ROWS + 1));
        // and the state agrees: nothing of ours is left that a later `up` would start beside it
        expect((await docker.run(["ps", "-a", "--filter", "label=shred-day.part=postgres", "--format", "{{.Names}}"])).stdout.trim()).toBe("");
        // run again: nothing to do
        const again = await runScript("postgres-handback", { ADOPT_FROM: OLD, DATA_DIR: era.dataDir, PG_MAJOR: major, CONTAINER: POSTGRES_CONTAINER });
        expect(again.code).toBe(0);
        const q = queries((await docker.run(["logs", "kamal-web"])).stdout).filter((x) => x.t >= t0);
        report(`== hand back: ${back.stdout.trim().split("\n").length} steps in ${((Date.now() - t0) / 1000).toFixed(1)} s; web queries in the window ${q.length}, failed ${q.filter((x) => !x.ok).length}; max servers at once ${Math.max(...samples.map((s) => s.running.length))}`);
    });
});

describe("refusals leave everything as it was", () => {
    let era: KamalEra;
    let before: string;
    const dumps = () => path.join(scratch, "dumps-refused");

    beforeAll(async () => {
        era = await kamalEra("bind", { web: false });
        before = await state();
    });
    afterAll(teardown);

    afterEach(async () => {
        expect(await state()).toBe(before);
        expect(fs.existsSync(dumps()) ? fs.readdirSync(dumps()).filter((f) => !f.endsWith(".lost")) : []).toEqual([]);
        expect((await sh(["exec", OLD, "psql", "-U", USER, "-d", DB, "-Atc", "SELECT count(*) FROM items"])).trim()).toBe(String(ROWS));
    });

    test("postgres.dataDir elsewhere than the accessory's data: both steps refuse, printing where it is", async () => {
        const elsewhere = path.join(scratch, "elsewhere");
        const pre = await runScript("postgres-preflight", preflightParams(elsewhere));
        expect(pre.code).toBe(1);
        expect(pre.stderr).toContain(`postgres.adoptFrom = ${OLD} keeps its cluster at ${era.dataDir} (bind mount ${era.dataDir} -> /var/lib/postgresql/data; PGDATA /var/lib/postgresql/data; Postgres ${major})`);
        expect(pre.stderr).toContain(`Set postgres.dataDir to ${era.dataDir}`);
        const take = await runScript("postgres-takeover", takeoverParams(elsewhere, dumps()));
        expect(take.code).toBe(1);
        expect(take.stderr).toContain(`keeps its cluster at ${era.dataDir}`);
        expect(take.stderr).toContain(`Nothing was changed: ${OLD} keeps running as it was.`);
        expect(fs.existsSync(elsewhere)).toBe(false);
    });

    test("postgres.image of another major: refused, naming the major it runs", async () => {
        const other = major + 1;
        const pre = await runScript("postgres-preflight", preflightParams(era.dataDir, { PG_MAJOR: other, IMAGE: `postgres:${other}` }));
        expect(pre.code).toBe(1);
        expect(pre.stderr).toContain(`holds a Postgres ${major} cluster`);
        const take = await runScript("postgres-takeover", takeoverParams(era.dataDir, dumps(), { PG_MAJOR: other }));
        expect(take.code).toBe(1);
        expect(take.stderr).toMatch(new RegExp(`runs Postgres ${major} \\(image ${pgImage.replace(/[.:]/g, "\\$&")}, PG_MAJOR ${major}, cluster PG_VERSION ${major}\\)`));
    });

    test("a dump that fails (disk full): the takeover stops with nothing changed, no partial file left", async () => {
        const dir = dumps();
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        const mounted = await execLocal("mount", ["-t", "tmpfs", "-o", "size=8k,mode=0700", "tmpfs", dir]);
        expect(mounted.code).toBe(0);
        try {
            const take = await runScript("postgres-takeover", takeoverParams(era.dataDir, dir));
            expect(take.code).toBe(1);
            expect(take.stderr).toMatch(/pg_dumpall of shred-day-db failed \((no|incomplete)\): without a complete dump the takeover does not stop it/);
            expect(fs.readdirSync(dir)).toEqual([]);
        } finally {
            await execLocal("umount", [dir]);
        }
    });

    test("an empty postgres.dataDir without postgres.initialize, and initialize beside another Postgres: refused", async () => {
        const empty = path.join(scratch, "empty-data");
        const pre = await runScript("postgres-preflight", preflightParams(empty, { ADOPT_FROM: "" }));
        expect(pre.code).toBe(1);
        expect(pre.stderr).toContain(`postgres.dataDir ${empty} holds no Postgres cluster`);
        expect(pre.stderr).toContain("Only for a brand-new, empty cluster: pulumi config set --path postgres.initialize true.");
        const init = await runScript("postgres-preflight", preflightParams(empty, { ADOPT_FROM: "", INITIALIZE: true }));
        expect(init.code).toBe(1);
        expect(init.stderr).toContain(`postgres.initialize: true, but another Postgres container exists on this host: ${OLD} (${pgImage}, running)`);
        expect(fs.existsSync(empty)).toBe(false);
    });

    test("another container on the data dir (not adoptFrom, told apart by labels not names): refused", async () => {
        const ours = await runScript("postgres-preflight", preflightParams(era.dataDir, { ADOPT_FROM: "" }));
        expect(ours.code).toBe(1);
        expect(ours.stderr).toContain(`container '${OLD}' (running, image ${pgImage}) mounts bind mount ${era.dataDir} -> /var/lib/postgresql/data, i.e. postgres.dataDir ${era.dataDir}: two Postgres servers on one data directory corrupt it`);
        // a container NAMED like ours but without our labels is not ours
        const takeName = await runScript("postgres-preflight", preflightParams(era.dataDir, { ADOPT_FROM: "", CONTAINER: OLD }));
        expect(takeName.code).toBe(1);
        expect(takeName.stderr).toContain(`container '${OLD}' (running`);
    });

    test("adoptFrom naming no container: refused, listing what exists", async () => {
        const pre = await runScript("postgres-preflight", preflightParams(era.dataDir, { ADOPT_FROM: "shred-day-postgres-typo" }));
        expect(pre.code).toBe(1);
        expect(pre.stderr).toContain(`postgres.adoptFrom = shred-day-postgres-typo: no container of that name on this host (containers: ${OLD} )`);
        const take = await runScript("postgres-takeover", takeoverParams(era.dataDir, dumps(), { ADOPT_FROM: "shred-day-postgres-typo" }));
        expect(take.code).toBe(1);
    });
});
