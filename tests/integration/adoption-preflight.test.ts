/**
 * postgres-preflight.sh against a REAL Docker engine: what other containers hold (read with
 * `docker inspect`: bind mounts and named volumes by their source path, published ports from
 * the host config), told apart by labels, not names. Read-only: every test on the real engine
 * checks after its runs that the containers (names and states, snapshot()) are as they were.
 * (The data-directory checks that start no container are the second describe, moved here from
 * postgres-scripts.test.ts.)
 */
import * as fs from "fs";
import * as path from "path";
import { POSTGRES_CONTAINER, POSTGRES_LABELS } from "../../components/postgresAccessory";
import { ScriptParams } from "../../components/remote";
import { DOCKER_START_TIMEOUT_MS, TestDocker } from "../support/docker";
import { LocalScriptHost, startLocalScriptHost } from "../support/localScripts";
import { ExecResult } from "../support/integration";

jest.setTimeout(120_000);

const PRIVATE_IP = "10.0.0.3";
let host: LocalScriptHost;
let docker: TestDocker;
let pgImage: string;
let major: number;
let scratch: string;

beforeAll(async () => {
    host = await startLocalScriptHost(PRIVATE_IP, "preflight");
    ({ docker, pgImage, major, scratch } = host);
}, DOCKER_START_TIMEOUT_MS);

afterAll(async () => {
    await host?.stop();
});

afterEach(async () => {
    const ids = (await docker.run(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
    if (ids.length) await docker.run(["rm", "-f", "-v", ...ids]);
    await docker.run(["volume", "prune", "-f"]);
});

function preflight(params: ScriptParams, env: Record<string, string> = docker.env): Promise<ExecResult> {
    return host.run("postgres-preflight", params, { env });
}

let n = 0;
/** A data dir holding a cluster of this image's major (PG_VERSION is what the preflight reads). */
function clusterDir(): string {
    const dir = path.join(scratch, `data-${++n}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "PG_VERSION"), `${major}\n`);
    return dir;
}

const params = (dataDir: string, extra: ScriptParams = {}): ScriptParams => ({
    DATA_DIR: dataDir,
    PG_MAJOR: major,
    PRIVATE_IP,
    CONTAINER: POSTGRES_CONTAINER,
    IMAGE: pgImage,
    INITIALIZE: false,
    ...extra,
});

/** A container that only sleeps (no server needed to be seen): `run` = running, `create` = stopped. */
async function container(how: "run" | "create", name: string, args: string[]): Promise<void> {
    await docker.ok([how, ...(how === "run" ? ["--detach"] : []), "--name", name, ...args, "--entrypoint", "sleep", pgImage, "600"]);
}

/** This engine's volumes directory. */
async function volumesRoot(): Promise<string> {
    return `${(await docker.ok(["info", "--format", "{{.DockerRootDir}}"])).trim()}/volumes`;
}

async function snapshot(): Promise<string> {
    return (await docker.run(["ps", "-a", "--format", "{{.Names}} {{.State}}"])).stdout.split("\n").sort().join(",");
}

describe("postgres-preflight.sh on a real engine", () => {
    test("a missing data dir is created (0700) only with INITIALIZE=true; without, refused", async () => {
        const dir = path.join(scratch, `new-${++n}`, "postgres");
        const before = await snapshot();
        const refused = await preflight(params(dir));
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`postgres.dataDir ${dir} holds no Postgres cluster`);
        expect(fs.existsSync(dir)).toBe(false);
        // (this machine has its own Debian cluster in /var/lib/postgresql: look in this engine's volumes only)
        const r = await preflight(params(dir, { INITIALIZE: true, CLUSTER_SEARCH_ROOTS: await volumesRoot() }));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("did not exist: created it, empty (mode 0700); postgres.initialize is true");
        expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
        expect(await snapshot()).toBe(before);
    });

    test.each([
        ["on-private", `${PRIVATE_IP}:5432:5432`, "10.0.0.3:5432"],
        ["on-any", "5432:5432", "*:5432"],
        ["on-ipv6-any", "[::]:5432:5432", ":::5432"],
        // Docker expands a range into one binding per port: the one on 5432 is named
        ["by-range", `${PRIVATE_IP}:5430-5434:6430-6434`, "10.0.0.3:5432"],
    ])("a container publishing 5432 (%s, %s): refused, named, left running", async (name, publish, shown) => {
        const dir = clusterDir();
        await container("run", name, ["--publish", publish]);
        const before = await snapshot();
        const r = await preflight(params(dir));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`container '${name}' (running, image ${pgImage}) publishes port 5432 (${shown})`);
        expect(r.stderr).toContain("This step never stops or changes a container itself.");
        expect(await snapshot()).toBe(before);
    });

    test("no conflict: 5432 on another address, 5432/udp, our own container (by labels)", async () => {
        const dir = clusterDir();
        await container("run", "loopback-only", ["--publish", "127.0.0.1:5432:5432"]);
        await container("run", "udp", ["--publish", `${PRIVATE_IP}:5432:5432/udp`]);
        const labels = Object.entries(POSTGRES_LABELS).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
        await container("run", POSTGRES_CONTAINER, ["--volume", `${dir}:/var/lib/postgresql/data`, ...labels]);
        const before = await snapshot();
        const r = await preflight(params(dir));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(await snapshot()).toBe(before);
        expect(r.stdout).toContain(`holds an existing Postgres ${major} cluster`);
    });

    test("a running container on the data dir: by bind mount of the dir, of a dir inside it, of its parent; by a named volume's path", async () => {
        const dir = clusterDir();
        fs.mkdirSync(path.join(dir, "pg_wal"));
        await container("run", "same-dir", ["--volume", `${dir}:/data`]);
        await container("run", "inside", ["--volume", `${path.join(dir, "pg_wal")}:/wal`]);
        await container("run", "parent", ["--volume", `${path.dirname(dir)}:/all`]);
        const before = await snapshot();
        const r = await preflight(params(dir));
        expect(r.code).toBe(1);
        expect(await snapshot()).toBe(before);
        for (const name of ["same-dir", "inside", "parent"]) expect(r.stderr).toContain(`container '${name}' (running`);
        expect(r.stderr).toContain(`mounts bind mount ${dir} -> /data, i.e. postgres.dataDir ${dir}: two Postgres servers on one data directory corrupt it`);

        // a named volume: `docker ps` shows only its name; inspect gives its path, which is what counts
        await docker.ok(["rm", "-f", "same-dir", "inside", "parent"]);
        await container("run", "vol-user", ["--volume", "pgvol:/var/lib/postgresql/data"]);
        const volPath = (await docker.ok(["volume", "inspect", "--format", "{{.Mountpoint}}", "pgvol"])).trim();
        fs.writeFileSync(path.join(volPath, "PG_VERSION"), `${major}\n`);
        const beforeVol = await snapshot();
        const v = await preflight(params(volPath));
        expect(v.code).toBe(1);
        expect(await snapshot()).toBe(beforeVol);
        expect(v.stderr).toContain(`container 'vol-user' (running, image ${pgImage}) mounts volume mount pgvol ${volPath} -> /var/lib/postgresql/data`);
    });

    test("a container NAMED like ours but without our labels is not ours: refused", async () => {
        const dir = clusterDir();
        // e.g. Kamal's accessory called `postgres`: shred-day-postgres
        await container("run", POSTGRES_CONTAINER, ["--volume", `${dir}:/var/lib/postgresql/data`, "--label", "service=shred-day-postgres"]);
        const before = await snapshot();
        const r = await preflight(params(dir));
        expect(r.code).toBe(1);
        expect(await snapshot()).toBe(before);
        expect(r.stderr).toContain(`container '${POSTGRES_CONTAINER}' (running`);
    });

    test("a stopped container on the data dir: a warning; with restart policy always (a daemon restart starts it): refused", async () => {
        const dir = clusterDir();
        await container("create", "stopped-old", ["--volume", `${dir}:/var/lib/postgresql/data`]);
        const before = await snapshot();
        const warn = await preflight(params(dir));
        expect(warn.code).toBe(0);
        expect(await snapshot()).toBe(before); // warned, not started
        expect(warn.stderr).toContain(`postgres-preflight: warning: stopped container 'stopped-old' (created) also mounts bind mount ${dir} -> /var/lib/postgresql/data`);
        await container("create", "comes-back", ["--restart", "always", "--volume", `${dir}:/var/lib/postgresql/data`]);
        const beforeRefusal = await snapshot();
        const r = await preflight(params(dir));
        expect(r.code).toBe(1);
        expect(await snapshot()).toBe(beforeRefusal);
        expect(r.stderr).toContain(`container 'comes-back' (created, image ${pgImage}) is stopped but mounts bind mount ${dir} -> /var/lib/postgresql/data (postgres.dataDir) with restart policy 'always'`);
    });

    test("INITIALIZE=true is refused while another cluster exists on the host (a named volume holding one)", async () => {
        await docker.ok(["volume", "create", "old-cluster"]);
        const volPath = (await docker.ok(["volume", "inspect", "--format", "{{.Mountpoint}}", "old-cluster"])).trim();
        fs.writeFileSync(path.join(volPath, "PG_VERSION"), `${major}\n`);
        const dir = path.join(scratch, `fresh-${++n}`);
        const before = await snapshot();
        const r = await preflight(params(dir, { INITIALIZE: true, CLUSTER_SEARCH_ROOTS: await volumesRoot() }));
        expect(r.code).toBe(1);
        expect(await snapshot()).toBe(before);
        expect(r.stderr).toContain(`postgres.initialize: true, but a Postgres cluster exists on this host at ${volPath} (Postgres ${major})`);
        // by default it looks in Debian's place too, where this machine has a cluster (only roots, not base/<oid>)
        const byDefault = await preflight(params(dir, { INITIALIZE: true }));
        expect(byDefault.code).toBe(1);
        expect(byDefault.stderr).not.toMatch(/cluster exists on this host at [^ ]*\/base\//);
        expect(fs.existsSync(dir)).toBe(false);
        expect(await snapshot()).toBe(before);
    });

    test("the daemon unreachable: refused with the reason", async () => {
        const dir = clusterDir();
        const before = await snapshot();
        const r = await preflight(params(dir), { DOCKER_HOST: `unix://${path.join(scratch, "no-such.sock")}` });
        expect(r.code).toBe(1);
        expect(await snapshot()).toBe(before);
        expect(r.stderr).toContain("cannot read the containers on this host (docker ps / docker inspect failed)");
        expect(r.stderr).toContain("Check that the Docker daemon is running");
    });
});

describe("postgres-preflight.sh: the data directory (moved here from postgres-scripts.test.ts)", () => {
    const runScript = (_name: "postgres-preflight", p: ScriptParams) => preflight(p);
    const CONTAINER = POSTGRES_CONTAINER;
    let n = 0;
    const newDir = () => path.join(scratch, `layout-${++n}`);
    function cluster(dir: string, relPath: string, version: string) {
        fs.mkdirSync(path.join(dir, path.dirname(relPath)), { recursive: true });
        fs.writeFileSync(path.join(dir, relPath), `${version}\n`);
        fs.writeFileSync(path.join(dir, path.dirname(relPath), "postgresql.conf"), "# marker\n");
    }
    const params = (dataDir: string, major: number) => ({ DATA_DIR: dataDir, PG_MAJOR: major, PRIVATE_IP, CONTAINER });

    test("an existing cluster of the configured major is reused, < 18 layout", async () => {
        const dir = newDir();
        cluster(dir, "PG_VERSION", "16");
        const before = fs.readdirSync(dir).sort();
        const r = await runScript("postgres-preflight", params(dir, 16));
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`${dir} holds an existing Postgres 16 cluster (${dir}/PG_VERSION): reused as is, never re-initialised (mounted at /var/lib/postgresql/data)`);
        expect(fs.readdirSync(dir).sort()).toEqual(before);
    });

    test("an existing cluster of the configured major is reused, 18+ layout", async () => {
        const dir = newDir();
        cluster(dir, "18/docker/PG_VERSION", "18");
        const r = await runScript("postgres-preflight", params(dir, 18));
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`holds an existing Postgres 18 cluster (${dir}/18/docker/PG_VERSION): reused as is, never re-initialised (mounted at /var/lib/postgresql)`);
    });

    test("version mismatch: a 15 cluster with a 16 image is refused, with how to upgrade", async () => {
        const dir = newDir();
        cluster(dir, "PG_VERSION", "15");
        const r = await runScript("postgres-preflight", { ...params(dir, 16), IMAGE: "postgres:16.4" });
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain("postgres-preflight: REFUSED.");
        expect(r.stderr).toContain(`postgres.dataDir ${dir} holds a Postgres 15 cluster (${dir}/PG_VERSION), but postgres.image is postgres:16.4, a Postgres 16 image.`);
        expect(r.stderr).toContain("pulumi config set --path postgres.image postgres:15");
        expect(r.stderr).toMatch(/pg_upgrade/);
        expect(r.stderr).toMatch(/pg_dumpall from the 15 server and restore/);
        expect(r.stderr).toContain("Nothing was changed on this host.");
        expect(fs.readFileSync(path.join(dir, "PG_VERSION"), "utf8")).toBe("15\n");
    });

    test("version mismatch: an 18-layout cluster with a 16 image is refused", async () => {
        const dir = newDir();
        cluster(dir, "18/docker/PG_VERSION", "18");
        const r = await runScript("postgres-preflight", params(dir, 16));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`holds a Postgres 18 cluster (${dir}/18/docker/PG_VERSION), but postgres.image is a Postgres 16 image.`);
        expect(r.stderr).toContain("postgres.image postgres:18");
    });

    test("version mismatch: a 16 cluster (pre-18 layout) with an 18 image is refused, not hidden by a new cluster", async () => {
        const dir = newDir();
        cluster(dir, "PG_VERSION", "16");
        const r = await runScript("postgres-preflight", params(dir, 18));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`holds a Postgres 16 cluster (${dir}/PG_VERSION), but postgres.image is a Postgres 18 image.`);
        expect(fs.existsSync(path.join(dir, "18"))).toBe(false);
    });

    test("data dir pointing at the parent of the old accessory's data is refused with the right path", async () => {
        const dir = newDir();
        cluster(dir, "data/PG_VERSION", "16");
        const r = await runScript("postgres-preflight", params(dir, 16));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`holds no cluster itself, but ${dir}/data does (Postgres 16)`);
        expect(r.stderr).toContain(`pulumi config set --path postgres.dataDir ${dir}/data`);
    });

    test("a non-empty dir without a cluster is refused for a pre-18 image", async () => {
        const dir = newDir();
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, "notes.txt"), "x");
        const r = await runScript("postgres-preflight", params(dir, 16));
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/is not empty but holds no Postgres cluster/);
    });

    test("bad parameters are refused", async () => {
        for (const [p, msg] of [
            [{ PG_MAJOR: "16.2" }, /PG_MAJOR must be the major version/],
            [{ DATA_DIR: "relative/dir" }, /must be an absolute path/],
            [{ DATA_DIR: "/var/lib/../etc" }, /without \. or \.\. components/],
        ] as const) {
            const r = await runScript("postgres-preflight", { ...params("/nonexistent-shred-day-test", 16), ...p });
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(msg);
        }
    });
});
