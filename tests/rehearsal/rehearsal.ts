/**
 * One rehearsal: the lab built from what the program says its hosts are, the test images on
 * them (as a registry would have them), the driver, and the probes the scenarios assert with
 * (SQL in the Postgres container, containers per host, a bounded request loop through the
 * proxy, a job queue whose every claim is recorded).
 *
 * Images: tests/support's stand-ins (app, kamal-proxy, postgres from Debian packages), built or
 * taken from their cache by tests/support/docker.ts, saved once and loaded into each lab host's
 * engine under the names the config uses; each app tag is its own content (the app image plus
 * a label naming the tag), the same image id on every host. The lab has no registry: the
 * image-pull step finds them present, as after a pull, and (no registry digest on a loaded
 * image) reports the image id as the content.
 */
import * as fs from "fs";
import * as path from "path";
import { POSTGRES_CONTAINER } from "../../components/postgresAccessory";
import { evaluate } from "../../scripts/evaluate";
import { ExecResult } from "../support/integration";
import { APP_REPOSITORY, PROXY_IMAGE, Raw, rehearsalConfig } from "./config";
import { Driver, hostsOf } from "./driver";
import { Lab, LabHost, PUBLIC_CIDR, startLab } from "./lab";
import ipaddr from "ipaddr.js";

export const REQUEST_LOOP = path.join(__dirname, "requestLoop.js");

/** Where the images come from: a tar of `docker save` with the refs it holds. */
export interface ImageSource {
    /** `docker save` tars holding the refs below. */
    tars: string[];
    app: string;
    proxy: string;
    postgres: string;
    /**
     * App refs already in the tars as their own content (`repo:tag`). A tag not among them is
     * the app image tagged again, the same content as every other such tag.
     */
    tagged?: string[];
}

export interface Rehearsal {
    lab: Lab;
    driver: Driver;
    web: LabHost;
    jobs: LabHost[];
    /** The rehearsal config for an app tag, with overrides applied to a copy. */
    config(tag: string, edit?: (c: Raw) => void): Raw;
    /** SQL in the Postgres container (as the superuser role, on its socket); `psql -At` output. */
    sql(db: string, query: string): Promise<string>;
    /** A bounded request loop through the proxy on the web host's public address. */
    requests(opts: { maxRequests: number; maxSeconds: number; intervalMs: number; concurrency?: number }): RequestLoop;
    /** Containers of a host: name|state|hostname|labels role,release. */
    containers(h: LabHost): Promise<ContainerInfo[]>;
    stop(): Promise<void>;
}

export interface ContainerInfo {
    name: string;
    running: boolean;
    restarting: boolean;
    restartCount: number;
    hostname: string;
    image: string;
    role: string;
    release: string;
    startedAt: string;
    ports: string;
}

export interface RequestResult {
    t: number;
    ms: number;
    status: number;
    body: string;
    error?: string;
}

export interface RequestLoop {
    /** Stop (SIGTERM) and collect every result. */
    stop(): Promise<RequestResult[]>;
    /** Results so far. */
    results(): RequestResult[];
}

/** Every container of a lab host with what the scenarios look at. */
export async function containersOf(h: LabHost): Promise<ContainerInfo[]> {
    const ids = (await h.docker(["ps", "-aq"])).stdout.split(/\s+/).filter(Boolean);
    if (ids.length === 0) return [];
    const fmt =
        '{{.Name}}|{{.State.Running}}|{{.State.Restarting}}|{{.RestartCount}}|{{.Config.Hostname}}|{{.Config.Image}}|{{index .Config.Labels "role"}}|{{index .Config.Labels "release"}}|{{.State.StartedAt}}|{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostIp}}:{{.HostPort}}->{{$p}} {{end}}{{end}}';
    const r = await h.docker(["inspect", "--format", fmt, ...ids]);
    return r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => {
            const f = l.split("|");
            return {
                name: f[0].replace(/^\//, ""),
                running: f[1] === "true",
                restarting: f[2] === "true",
                restartCount: Number(f[3]),
                hostname: f[4],
                image: f[5],
                role: f[6],
                release: f[7],
                startedAt: f[8],
                ports: f[9].trim(),
            };
        });
}

/** Load the images into every lab host, under the names the rehearsal config uses. */
async function loadImages(lab: Lab, src: ImageSource, tags: string[]): Promise<void> {
    await Promise.all(
        lab.hosts.map(async (h) => {
            for (const tar of src.tars) {
                const load = await h.docker(["load", "-q", "-i", tar], { timeoutMs: 600_000 });
                if (load.code !== 0) throw new Error(`docker load on ${h.name} failed: ${load.stderr}`);
            }
            const tag = async (from: string, to: string) => {
                const r = await h.docker(["tag", from, to]);
                if (r.code !== 0) throw new Error(`docker tag ${from} ${to} on ${h.name}: ${r.stderr}`);
            };
            // Each tag is its own content (built once in imagesFromSupport, so the same image id on every host).
            for (const t of tags) {
                const ref = `${APP_REPOSITORY}:${t}`;
                if (src.tagged?.includes(ref)) continue;
                await tag(src.app, ref);
            }
            if (h.role === "web") await tag(src.proxy, PROXY_IMAGE);
        }),
    );
}

/**
 * The images from tests/support/docker.ts, saved into one tar (shared layers once) in `dir`.
 * Starts a private dockerd of tests/support for the build/cache and stops it again.
 */
export async function imagesFromSupport(dir: string, log: (l: string) => void, tags: string[] = []): Promise<ImageSource> {
    // tests/support/docker.ts (issue 9): its private dockerd builds the images or loads them from its cache.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const support = require("../support/docker") as {
        startDocker(): Promise<{ image(name: string): Promise<string>; ok(args: string[], o?: { timeoutMs?: number }): Promise<string>; stop(): Promise<void> }>;
    };
    const t0 = Date.now();
    const docker = await support.startDocker();
    try {
        const app = await docker.image("app");
        const proxy = await docker.image("kamal-proxy");
        const postgres = await docker.image("postgres");
        // One content per app tag, as a registry would hold one build per tag: the app image plus a
        // label naming the tag. Built once here and saved into the tar, so every host loads the same
        // image id for a tag (image-pull.sh reports that id as the content; the hosts must agree).
        const tagged: string[] = [];
        const ctx = fs.mkdtempSync(path.join(dir, "tag-build-"));
        try {
            for (const t of tags) {
                if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(t)) throw new Error(`not a docker tag: ${JSON.stringify(t)}`);
                const ref = `${APP_REPOSITORY}:${t}`;
                fs.writeFileSync(path.join(ctx, "Dockerfile"), `FROM ${app}\nLABEL org.shred-day.rehearsal-tag=${t}\n`);
                await docker.ok(["build", "-q", "-t", ref, ctx], { timeoutMs: 300_000 });
                tagged.push(ref);
            }
        } finally {
            fs.rmSync(ctx, { recursive: true, force: true });
        }
        const tar = path.join(dir, "images.tar");
        await docker.ok(["save", "-o", tar, app, proxy, postgres, ...tagged], { timeoutMs: 600_000 });
        log(`images: ${app}, ${proxy}, ${postgres}, ${tagged.join(", ")} saved in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return { tars: [tar], app, proxy, postgres, tagged };
    } finally {
        await docker.stop();
    }
}

export interface StartOptions {
    /** App tags to make available on every host (as if pushed to the registry). */
    tags: string[];
    log?: (line: string) => void;
    /** Images (default: imagesFromSupport). */
    images?: (dir: string, log: (l: string) => void, tags: string[]) => Promise<ImageSource>;
}

export async function startRehearsal(opts: StartOptions): Promise<Rehearsal> {
    const log = opts.log ?? (() => undefined);
    const first = await evaluate(rehearsalConfig({ tag: opts.tags[0] }));
    const specs = await hostsOf(first);
    const lab = await startLab({ hosts: specs, privateCidr: first.config.network.subnetRange, log });
    try {
        const src = await (opts.images ?? imagesFromSupport)(lab.dir, log, opts.tags);
        const t0 = Date.now();
        await loadImages(lab, src, opts.tags);
        for (const tar of src.tars) if (tar.startsWith(lab.dir)) fs.rmSync(tar, { force: true });
        log(`images loaded into ${lab.hosts.length} hosts in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (e) {
        await lab.teardown();
        throw e;
    }
    const keyFile = path.join(lab.dir, "operator_ed25519");
    const driver = new Driver(lab, { log, stepTimeoutMs: 420_000 });
    const web = lab.hosts.find((h) => h.role === "web")!;
    const jobs = lab.hosts.filter((h) => h.role === "jobs");
    const pgUser = first.config.postgres.user;
    const loops: RequestLoop[] = [];

    const rehearsal: Rehearsal = {
        lab,
        driver,
        web,
        jobs,
        config: (tag, edit) => {
            const c = rehearsalConfig({ tag, operatorKeyFile: keyFile });
            // The adopted hosts' public host keys, as the operator reads them from the consoles
            // (web.hostKey, jobs.hosts[].hostKey): the lab's real keys, so every connection's
            // hostKey is the key of the host it dials (the driver checks it).
            c.web.hostKey = web.hostPublicKey;
            for (const j of c.jobs.hosts) if (j.importId !== undefined) j.hostKey = lab.host(j.name).hostPublicKey;
            c.app.env = { ...c.app.env, STANDIN_RELEASE: tag };
            edit?.(c);
            return c;
        },
        sql: async (db, query) => {
            const r: ExecResult = await web.docker(["exec", "-i", POSTGRES_CONTAINER, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", pgUser, "-d", db], {
                stdin: query,
                timeoutMs: 30_000,
            });
            if (r.code !== 0) throw new Error(`psql ${db}: ${r.stderr}`);
            return r.stdout.trim();
        },
        requests: (o) => {
            const url = `http://${web.publicIp}/`;
            const [net, bits] = ipaddr.parseCIDR(PUBLIC_CIDR);
            if (!ipaddr.parse(web.publicIp).match(net, bits)) throw new Error(`refusing to send requests to ${web.publicIp}: not a lab address`);
            const child = lab.spawnOperator("node", [REQUEST_LOOP, url, first.config.web.appHost, String(o.maxRequests), String(o.maxSeconds), String(o.intervalMs), String(o.concurrency ?? 1), "5000"]);
            const results: RequestResult[] = [];
            let buf = "";
            child.stdout!.on("data", (d) => {
                buf += d;
                const lines = buf.split("\n");
                buf = lines.pop()!;
                for (const l of lines) if (l.trim()) results.push(JSON.parse(l));
            });
            const done = new Promise<void>((res) => child.on("close", () => res()));
            const loop: RequestLoop = {
                results: () => results,
                stop: async () => {
                    child.kill("SIGTERM");
                    await done;
                    return results;
                },
            };
            loops.push(loop);
            return loop;
        },
        containers: containersOf,
        stop: async () => {
            for (const l of loops) await l.stop().catch(() => undefined);
            driver.abort();
            await lab.teardown();
        },
    };
    return rehearsal;
}

