import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AppEnvInput, envFileText, releaseId, Role, roleEnv, secretEnvNames } from "./appEnv";
import { ENV_DIR } from "./cloudConfig";
import { agreedContent, runReference } from "./imageContent";
import { connectionTo, remoteStep, SshAccess } from "./remote";

/** A host the release runs on. */
export interface ReleaseHost {
    name: string;
    publicIp: pulumi.Input<string>;
    privateIp: string;
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
    appHost: string;
    proxyImage: string;
    keepImages: number;
    postgres: { container: string; user: string; queueDatabase: string; ready: pulumi.Resource };
}

/** Name prefix of every app container; the role and release follow. */
export const SERVICE = "shred-day";
/** Solid Queue's process_alive_threshold: a heartbeat older than this is not live. */
export const LIVE_SECONDS = 300;
/**
 * How long the proof waits before failing `pulumi up`. New workers register within seconds;
 * the wait is longer than LIVE_SECONDS so that the rows of a web container that was killed
 * rather than stopped (its supervisor could not deregister) age out instead of failing the proof.
 */
export const PROOF_TIMEOUT_SECONDS = 360;
/** Docker stop timeout for app containers: above Solid Queue's shutdown_timeout, as Kamal does. */
export const STOP_TIMEOUT_SECONDS = 30;

export function envFilePath(role: Role): string {
    return `${ENV_DIR}/${role}.env`;
}

/** A container hostname for a host and release, within the 63-character limit. */
export function containerHostname(host: string, release: string): string {
    return `${host.slice(0, 63 - release.length - 1)}-${release}`;
}

/**
 * Hostnames that mark a Solid Queue process as running on the web host: our web containers
 * (`<web name>-<release>`), and Kamal's, which are named after the server's address.
 */
export function webHostnamePrefixes(webName: string, addresses: string[]): string[] {
    return [webName, ...addresses];
}

/** The command to tail a role's container logs on a host (what `kamal logs -r job` gave). */
export function logsCommand(user: string, ip: string, role: Role): string {
    return `ssh -t ${user}@${ip} 'docker ps -q --filter label=service=${SERVICE} --filter label=role=${role} | head -n1 | xargs -r docker logs --follow --tail 100'`;
}

/**
 * One release of app.image: env files, pulls, `db:prepare`, the web role behind
 * kamal-proxy, `bin/jobs` on every jobs host, the proof that the workers registered, and
 * only then the old workers stopped.
 *
 * The chain of remote steps is the same length for 1 or 20 jobs hosts: every per-host step
 * runs in parallel with its siblings.
 *
 *   env(h), pull(h) ─► migrate ─► web ─► jobs-start(h) ─► jobs-proof ─► jobs-retire(h)
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
            remoteStep(`${name}-${stepName}`, { connection: connectionTo(host.publicIp, args.ssh), ...stepArgs }, { parent: this, dependsOn });

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
        this.jobsRelease = pulumi.unsecret(pulumi.all([image, jobsEnv]).apply(([content, text]) => releaseId(content, text)));

        // 2. Migrations, once, before anything new serves. On failure the old containers keep running.
        const migrate = step(
            "migrate",
            args.web,
            { script: "db-prepare", params: { IMAGE: image, ENV_FILE: envFilePath("web") } },
            [web.env, web.pull, args.postgres.ready],
        );

        // 3. Web: a new container behind kamal-proxy, switched to once /up is healthy, then the old one stopped.
        const webRollout = step(
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
                    PROXY_IMAGE: args.proxyImage,
                    CONTAINER_HOSTNAME: this.webRelease.apply((r) => containerHostname(args.web.name, r)),
                    STOP_TIMEOUT: STOP_TIMEOUT_SECONDS,
                },
            },
            [migrate],
        );

        // 4. Jobs: like Kamal, only after the web role is healthy, so a broken image never reaches the workers.
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
                        STOP_TIMEOUT: STOP_TIMEOUT_SECONDS,
                    },
                },
                [env, pull, webRollout],
            ),
        );

        // 5. Proof: every jobs host has a live supervisor and worker of this release; nothing from the web host.
        this.proof = step(
            "jobs-proof",
            args.web,
            {
                script: "jobs-proof",
                params: {
                    CONTAINER: args.postgres.container,
                    DB_USER: args.postgres.user,
                    QUEUE_DB: args.postgres.queueDatabase,
                    EXPECTED_HOSTNAMES: pulumi.all(hostnames).apply((h) => h.join(" ")),
                    WEB_HOSTNAME_PREFIXES: pulumi
                        .output(args.web.publicIp)
                        .apply((ip) => webHostnamePrefixes(args.web.name, [ip, args.web.privateIp]).join(" ")),
                    LIVE_SECONDS,
                    TIMEOUT_SECONDS: PROOF_TIMEOUT_SECONDS,
                    INTERVAL_SECONDS: 5,
                },
            },
            starts,
        );

        // 6. Only now stop the previous workers (they drain: stop timeout above Solid Queue's shutdown_timeout).
        jobs.forEach(({ host }) =>
            step(
                `jobs-retire-${host.name}`,
                host,
                { script: "jobs-retire", params: { SERVICE, RELEASE: this.jobsRelease, STOP_TIMEOUT: STOP_TIMEOUT_SECONDS } },
                [this.proof],
            ),
        );

        this.logs = {};
        this.logs[`web ${args.web.name}`] = pulumi.output(args.web.publicIp).apply((ip) => logsCommand(args.ssh.user, ip, "web"));
        for (const host of args.jobs) {
            this.logs[`jobs ${host.name}`] = pulumi.output(host.publicIp).apply((ip) => logsCommand(args.ssh.user, ip, "jobs"));
        }
        this.registerOutputs({ webRelease: this.webRelease, jobsRelease: this.jobsRelease, logs: this.logs });
    }
}
