import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AppEnvInput, envFileText, releaseId, Role, roleEnv, secretEnvNames } from "./appEnv";
import { agreedContent, runReference } from "./imageContent";
import { ENV_DIR } from "./cloudConfig";
import { connectionTo, remoteStep, SshAccess, stepTimeoutFor } from "./remote";

/** A host the release runs on. */
export interface ReleaseHost {
    name: string;
    publicIp: pulumi.Input<string>;
    privateIp: string;
    /** Its public SSH host key: every connection to it checks it. */
    hostKey: pulumi.Input<string>;
    /** The host's `host-ready` step (cloud-init done, Docker up). */
    ready: pulumi.Resource;
}

export interface ReleaseArgs {
    ssh: SshAccess;
    web: ReleaseHost;
    jobs: ReleaseHost[];
    /** `app.image`, with its tag. */
    image: string;
    registry?: { server: string; username: string };
    registryPassword?: pulumi.Output<string>;
    /** Clear env per role (`app.env` plus `web.env` / `jobs.env`) and the DB host; secrets and URLs come as secret Outputs. */
    clearEnv: Record<Role, Record<string, string>>;
    dbHost: string;
    appSecrets: pulumi.Output<Record<string, string>>;
    databaseUrls: pulumi.Output<Record<string, string>>;
    concurrency: number;
    /** `jobs.stopTimeout`: docker stop timeout of a jobs container, above the app's config.solid_queue.shutdown_timeout. */
    jobsStopTimeout: number;
    /** `jobs.heartbeatSeconds`: the app's Solid Queue process_heartbeat_interval. */
    heartbeatSeconds: number;
    /** `jobs.proofTimeout`: how long the proof waits for every new bin/jobs. */
    proofTimeoutSeconds: number;
    appHost: string;
    /** The app's port behind kamal-proxy (Kamal's proxy.app_port). */
    appPort: number;
    /** The kamal-proxy service name Kamal used, so the first rollout replaces Kamal's route. */
    proxyService: string;
    /**
     * How Kamal labelled this app's web containers (web.kamal): the rollout retires the
     * Kamal-era containers labelled service/role/destination with these values, and no others.
     */
    kamal: { service: string; role: string; destination?: string };
    proxyImage: string;
    keepImages: number;
    postgres: { container: string; user: string; queueDatabase: string; ready: pulumi.Resource };
}

/** Name prefix of every app container; the role and release follow. */
export const SERVICE = "shred-day";
/**
 * Solid Queue's process_alive_threshold (5 min): a heartbeat older than LIVE_SECONDS is dead. A
 * process beats first one process_heartbeat_interval (`jobs.heartbeatSeconds`, 60 s by default)
 * after it registers (rails/solid_queue lib/solid_queue/processes/registrable.rb, launch_heartbeat);
 * the proof waits up to `jobs.proofTimeout` (360 s by default) for that.
 */
export const LIVE_SECONDS = 300;
/** How far a jobs host's clock may be from the database's (see jobs-proof.sh). */
export const MAX_CLOCK_OFFSET_SECONDS = 30;
/** Docker stop timeout for the web containers (Puma), as Kamal does. The jobs one is `jobs.stopTimeout`. */
export const WEB_STOP_TIMEOUT_SECONDS = 30;

/** What jobs-start reports about the container it started, for the proof and the retire step. */
export interface JobsStartFacts {
    /** docker's State.StartedAt (UTC), or "unknown" when the step's output does not say (a preview). */
    startedAt: string;
    restartCount: string;
    /**
     * The proof's lower bound for the container's Solid Queue rows: its Created time while it never
     * restarted, else State.StartedAt (see jobs-start.sh: Docker records StartedAt after the process
     * already runs, so a quick supervisor registers before it). A line without it (a jobs-start of an
     * older program version, kept in state) gives State.StartedAt, the bound used before.
     */
    since: string;
    /** When that jobs-start ran: the proof and retire take it, so they run again after every jobs-start run. */
    run: string;
}

const DOCKER_TIME = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z`;
const FACTS_LINE = new RegExp(String.raw`^jobs-start: facts container=\S+ started_at=(${DOCKER_TIME}) restart_count=(\d{1,9})(?: since=(${DOCKER_TIME}))?(?: run=(${DOCKER_TIME}))?$`);

/** Reads jobs-start's last `facts` line; anything else gives "unknown", which the scripts refuse. */
export function jobsStartFacts(stdout: string | undefined): JobsStartFacts {
    const lines = (stdout ?? "").split("\n").reverse();
    for (const line of lines) {
        const m = FACTS_LINE.exec(line.trim());
        if (m) return { startedAt: m[1], restartCount: m[2], since: m[3] ?? m[1], run: m[4] ?? "unknown" };
    }
    return { startedAt: "unknown", restartCount: "unknown", since: "unknown", run: "unknown" };
}

/**
 * The env names a migration can read its databases from: Rails' DATABASE_URL and every
 * <NAME>_DATABASE_URL (QUEUE_DATABASE_URL, ...), and what config/database.yml commonly reads
 * (DB_*, PG*, POSTGRES_*, RAILS_ENV).
 */
export const DATABASE_ENV = /^(DATABASE_URL|[A-Z0-9_]+_DATABASE_URL|DB_[A-Z0-9_]*|PG[A-Z0-9_]*|POSTGRES_[A-Z0-9_]*|RAILS_ENV)$/;

/**
 * The web env's database variables, `NAME=value` lines in name order: a (secret) trigger of the
 * migrate step, so an env change that can point the app at other databases (a rotated password
 * in the URLs, a new DB_HOST, a PGSSLMODE) re-runs db:prepare with the same image (idempotent: it
 * creates what is missing and loads what is not loaded), and any other env change does not.
 */
export function databaseEnvText(env: Record<string, string>): string {
    return Object.keys(env)
        .filter((k) => DATABASE_ENV.test(k))
        .sort()
        .map((k) => `${k}=${env[k]}`)
        .join("\n");
}

export function envFilePath(role: Role): string {
    return `${ENV_DIR}/${role}.env`;
}

/** A container hostname for a host and release, within the 63-character limit. */
export function containerHostname(host: string, release: string): string {
    return `${host.slice(0, 63 - release.length - 1)}-${release}`;
}

/** The command to tail a role's container logs on a host (what `kamal logs -r job` gave). */
export function logsCommand(user: string, ip: string, role: Role): string {
    return `ssh -t ${user}@${ip} 'docker ps -q --filter label=service=${SERVICE} --filter label=role=${role} | head -n1 | xargs -r docker logs --follow --tail 100'`;
}

/**
 * One release of app.image: env files, pulls, migrations, `bin/jobs` on every jobs host, the
 * proof that it runs for real, the old workers retired, and only then the web switched.
 *
 *   env(h), pull(h) ─► migrate ─► jobs-start(h) ─► jobs-proof ─► jobs-retire(h) ─► web
 *
 * Invariant: no job enqueued by the new release's code runs on a worker of the previous
 * release. Only the web enqueues with the new code, and it is switched after every old
 * worker is stopped (jobs-retire), which happens only after the new workers are proven.
 * Each gate stops the chain: a failed migrate leaves everything old; a failed proof or
 * retire leaves the old workers AND the old web running (the new workers run beside them,
 * taking old-code jobs, which is safe: Solid Queue claims with SKIP LOCKED).
 * One exception, at the first release only: Kamal's old web container runs Solid Queue in
 * Puma (SOLID_QUEUE_IN_PUMA) until the web switch stops it; the proof reports it.
 *
 * The chain is the same length for 1 or 20 jobs hosts: every per-host step runs in parallel
 * with its siblings.
 *
 * What re-runs: a step re-runs when its own inputs change, and only then. The web and jobs
 * steps carry a release id made from the image and that role's env, so a new image re-runs
 * everything from the pulls on, a concurrency change only the jobs steps and the proof, a
 * web env change only the web steps.
 */
export class Release extends pulumi.ComponentResource {
    readonly webRelease: pulumi.Output<string>;
    readonly jobsRelease: pulumi.Output<string>;
    readonly proof: command.remote.Command;
    /** Per role and host, the command to follow its logs. */
    readonly logs: Record<string, pulumi.Output<string>>;

    constructor(name: string, args: ReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:release:Release", name, {}, opts);
        const step = (stepName: string, host: ReleaseHost, stepArgs: Omit<Parameters<typeof remoteStep>[1], "connection">, dependsOn: pulumi.Resource[]) =>
            remoteStep(`${name}-${stepName}`, { connection: connectionTo(host.publicIp, args.ssh, host.hostKey), ...stepArgs }, { parent: this, dependsOn });

        // Each role's env file (secret) and the release id made from it (not secret: a short one-way digest).
        const envInput = (role: Role) =>
            pulumi
                .all([args.appSecrets, args.databaseUrls])
                .apply(([secrets, databaseUrls]): AppEnvInput => ({ clear: args.clearEnv[role], secrets, databaseUrls, dbHost: args.dbHost }));
        const envText = (role: Role) => pulumi.secret(envInput(role).apply((input) => envFileText(roleEnv(role, input, args.concurrency), secretEnvNames(input))));
        const webEnv = envText("web");
        const jobsEnv = envText("jobs");

        const registry = args.registry ?? { server: "", username: "" };
        const prepare = (host: ReleaseHost, role: Role) => {
            const env = step(
                `env-${host.name}`,
                host,
                { script: "env-file", params: { ENV_DIR, ROLE: role }, stdin: role === "web" ? webEnv : jobsEnv },
                [host.ready],
            );
            const pull = step(
                `pull-${host.name}`,
                host,
                {
                    script: "image-pull",
                    params: { IMAGE: args.image, REGISTRY_SERVER: registry.server, REGISTRY_USER: registry.username, KEEP_IMAGES: args.keepImages },
                    stdin: args.registryPassword?.apply((p) => `${p}\n`) ?? "",
                },
                [host.ready],
            );
            return { env, pull };
        };

        // 1. Env files and image pulls, on every host at once.
        const web = prepare(args.web, "web");
        const jobs = args.jobs.map((host) => ({ host, ...prepare(host, "jobs") }));

        // The image content every host pulled (issue 11 point 10): containers run by it, the
        // release ids are made from it, and hosts that disagree stop the release here.
        const pulled = [{ host: args.web.name, pull: web.pull }, ...jobs.map((j) => ({ host: j.host.name, pull: j.pull }))];
        const image = pulumi.unsecret(
            pulumi
                .all(pulled.map((p) => p.pull.stdout))
                .apply((outs) => runReference(args.image, agreedContent(args.image, outs.map((stdout, i) => ({ host: pulled[i].host, stdout }))))),
        );
        this.webRelease = pulumi.unsecret(pulumi.all([image, webEnv]).apply(([content, text]) => releaseId(content, text)));
        // the jobs container's stop timeout too: docker cannot change it on a running container
        this.jobsRelease = pulumi.unsecret(
            pulumi.all([image, jobsEnv, args.jobsStopTimeout]).apply(([content, text, stopTimeout]) => releaseId(content, text, { stopTimeout })),
        );

        // 2. Migrations, once, before anything new runs, then a check that Solid Queue's tables
        //    are in the queue database. On failure the old containers keep running. It re-runs on a
        //    new image, and on an env change that can touch the databases (databaseEnvText, a secret
        //    trigger): the env file's path alone would not tell the engine its contents changed.
        const databaseEnv = pulumi.secret(envInput("web").apply((input) => databaseEnvText(roleEnv("web", input, args.concurrency))));
        const migrate = step(
            "migrate",
            args.web,
            {
                script: "db-prepare",
                params: {
                    IMAGE: image,
                    ENV_FILE: envFilePath("web"),
                    PG_CONTAINER: args.postgres.container,
                    DB_USER: args.postgres.user,
                    QUEUE_DB: args.postgres.queueDatabase,
                },
                triggers: [databaseEnv],
            },
            [web.env, web.pull, args.postgres.ready],
        );

        // 3. Jobs: the new bin/jobs on every jobs host, beside the old one.
        const hostnames = jobs.map(({ host }) => this.jobsRelease.apply((r) => containerHostname(host.name, r)));
        const starts = jobs.map(({ host, env, pull }, i) =>
            step(
                `jobs-start-${host.name}`,
                host,
                {
                    script: "jobs-start",
                    params: {
                        SERVICE,
                        IMAGE: image,
                        ENV_FILE: envFilePath("jobs"),
                        RELEASE: this.jobsRelease,
                        CONTAINER_HOSTNAME: hostnames[i],
                        STOP_TIMEOUT: args.jobsStopTimeout,
                    },
                },
                [env, pull, migrate],
            ),
        );
        // Not secret: a timestamp and a count (unsecret in case the provider marks stdout secret).
        const facts = starts.map((s) => pulumi.unsecret(s.stdout.apply(jobsStartFacts)));

        // 4. Proof: every jobs host runs this release's bin/jobs for real (see jobs-proof.sh).
        this.proof = step(
            "jobs-proof",
            args.web,
            {
                script: "jobs-proof",
                params: {
                    CONTAINER: args.postgres.container,
                    DB_USER: args.postgres.user,
                    QUEUE_DB: args.postgres.queueDatabase,
                    JOBS_HOSTS: pulumi.all([pulumi.all(hostnames), pulumi.all(facts)]).apply(([h, f]) => h.map((name, i) => `${name},${f[i].since}`).join(" ")),
                    JOB_CONCURRENCY: args.concurrency,
                    LIVE_SECONDS,
                    HEARTBEAT_SECONDS: args.heartbeatSeconds,
                    MAX_CLOCK_OFFSET_SECONDS,
                    TIMEOUT_SECONDS: args.proofTimeoutSeconds,
                    INTERVAL_SECONDS: 5,
                },
                // the proof runs again after every jobs-start run (see jobs-start.sh)
                triggers: pulumi.all(facts).apply((f) => f.map((x) => x.run)),
                // jobs.proofTimeout may be longer than a step's default bound: room for its last query
                timeout: stepTimeoutFor(args.proofTimeoutSeconds + 120),
            },
            starts,
        );

        // 5. Only now stop the previous workers, each host after checking its new container did
        //    not restart since jobs-start (restart count, State.Restarting, State.StartedAt).
        const retires = jobs.map(({ host }, i) =>
            step(
                `jobs-retire-${host.name}`,
                host,
                {
                    script: "jobs-retire",
                    params: {
                        SERVICE,
                        RELEASE: this.jobsRelease,
                        STOP_TIMEOUT: args.jobsStopTimeout,
                        STARTED_AT: facts[i].apply((f) => f.startedAt),
                        RESTART_COUNT: facts[i].apply((f) => f.restartCount),
                        // Kamal's workers of the old setup: its `job` role, under web.kamal's service and destination
                        KAMAL_SERVICE: args.kamal.service,
                        ...(args.kamal.destination === undefined ? {} : { KAMAL_DESTINATION: args.kamal.destination }),
                    },
                    // retire runs again after every jobs-start run, so reverting a failed release
                    // retires its broken containers (see jobs-start.sh)
                    triggers: [facts[i].apply((f) => f.run)],
                    // each old container's stop is bounded by jobs.stopTimeout + 30 s; a host has at most three
                    // (the previous release, a failed one, Kamal's) in the ordinary course
                    timeout: stepTimeoutFor(3 * (args.jobsStopTimeout + 30) + 120),
                },
                [this.proof],
            ),
        );

        // 6. Web: a new container behind kamal-proxy, switched to once /up is healthy, then the
        //    old one stopped. Last: from here on, new-code jobs are enqueued, and only new workers run.
        step(
            "web",
            args.web,
            {
                script: "web-rollout",
                params: {
                    SERVICE,
                    IMAGE: image,
                    ENV_FILE: envFilePath("web"),
                    RELEASE: this.webRelease,
                    APP_HOST: args.appHost,
                    APP_PORT: args.appPort,
                    PROXY_SERVICE: args.proxyService,
                    KAMAL_SERVICE: args.kamal.service,
                    KAMAL_ROLE: args.kamal.role,
                    ...(args.kamal.destination === undefined ? {} : { KAMAL_DESTINATION: args.kamal.destination }),
                    PROXY_IMAGE: args.proxyImage,
                    CONTAINER_HOSTNAME: this.webRelease.apply((r) => containerHostname(args.web.name, r)),
                    STOP_TIMEOUT: WEB_STOP_TIMEOUT_SECONDS,
                },
            },
            [migrate, ...retires],
        );

        this.logs = {};
        this.logs[`web ${args.web.name}`] = pulumi.output(args.web.publicIp).apply((ip) => logsCommand(args.ssh.user, ip, "web"));
        for (const host of args.jobs) {
            this.logs[`jobs ${host.name}`] = pulumi.output(host.publicIp).apply((ip) => logsCommand(args.ssh.user, ip, "jobs"));
        }
        this.registerOutputs({ webRelease: this.webRelease, jobsRelease: this.jobsRelease, logs: this.logs });
    }
}
