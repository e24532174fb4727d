import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { appRolePassword } from "./appRole";
import { ENV_DIR } from "./cloudConfig";
import { connectionTo, dockerSshOpts, remoteStep, SshAccess, SshClientFiles, stepTimeoutFor } from "./remote";

export interface PostgresAccessoryArgs {
    /** The web host's public address (for SSH) and private address (the only one Postgres listens on). */
    hostPublicIp: pulumi.Input<string>;
    privateIp: string;
    ssh: SshAccess;
    /** The web host's public SSH host key: remote steps and the Docker provider check it. */
    hostKey: pulumi.Input<string>;
    /** The key file (none: the agent) and known_hosts for the local `ssh` that @pulumi/docker runs. */
    sshClient: pulumi.Input<SshClientFiles>;
    image: string;
    major: number;
    dataDir: string;
    /** /var/lib/postgresql/data before 18, /var/lib/postgresql from 18. */
    mountPath: string;
    user: string;
    /** The app's own role (no superuser rights): owns the databases, used in the URLs. */
    appUser: string;
    databases: string[];
    roles: { primary: string; queue: string; cache?: string; cable?: string };
    password: pulumi.Output<string>;
    /** Kamal's accessory container to take over (postgres.adoptFrom): dumped, stopped for good, then ours starts on its data. */
    adoptFrom?: string;
    /** postgres.initialize: only then may the preflight accept an empty dataDir. */
    initialize: boolean;
    /** postgres.handBack: the rollback of a takeover. Ours is stopped and removed, adoptFrom serves the data again. */
    handBack: boolean;
    /** max_connections, from components/postgresConnections.ts (i12-release). */
    maxConnections?: number;
    /** What must exist first (the host joined to the private network). */
    dependsOn: pulumi.Resource[];
}

export const POSTGRES_CONTAINER = "shred-day-postgres";
/**
 * How the scripts tell our container from any other (components/scripts/lib/pg-containers.sh):
 * by labels, never by name (Kamal names an accessory called `postgres` shred-day-postgres too).
 */
export const POSTGRES_LABELS: Record<string, string> = {
    service: "shred-day",
    role: "postgres",
    "shred-day.part": "postgres",
    "managed-by": "pulumi",
};
/** Kamal's docker network: its web containers reach the accessory there by its name. */
export const KAMAL_NETWORK = "kamal";
/** Where the takeover writes its pg_dumpall (root-only). */
export const DUMP_DIR = "/var/backups/shred-day";
/** Seconds Postgres gets to shut down cleanly on SIGTERM. */
export const STOP_TIMEOUT_SECONDS = 120;
/** How long the takeover's pg_dumpall of Kamal's accessory may take before the takeover gives up (nothing changed). */
export const DUMP_TIMEOUT_SECONDS = 3600;
export const POSTGRES_PORT = 5432;
/** The superuser's password on the host, root-only, for POSTGRES_PASSWORD_FILE (never in the container's env). */
export const PASSWORD_FILE = `${ENV_DIR}/postgres-password`;
export const PASSWORD_FILE_IN_CONTAINER = "/run/secrets/postgres-password";
/** How long the readiness step waits for Postgres before failing `pulumi up`. */
export const READY_TIMEOUT_SECONDS = 180;

/** A Rails database URL for one database on the private address. */
export function databaseUrl(user: string, password: string, host: string, database: string): string {
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${POSTGRES_PORT}/${database}`;
}

/** The container's port binding: the private address only, never 0.0.0.0 or a bare port. */
export function postgresPorts(privateIp: string): docker.types.input.ContainerPort[] {
    return [{ internal: POSTGRES_PORT, external: POSTGRES_PORT, ip: privateIp, protocol: "tcp" }];
}

/** The non-secret parts of our container: any change to them creates it anew, so they trigger the preflight and the takeover. */
export interface PostgresContainerSpec {
    name: string;
    image: string;
    ports: docker.types.input.ContainerPort[];
    volumes: { hostPath: string; containerPath: string; readOnly?: boolean }[];
    labels: Record<string, string>;
    networks: { name: string; aliases: string[] }[];
    /** `postgres -c max_connections=N` when set. */
    command?: string[];
}

export function postgresContainerSpec(
    args: Pick<PostgresAccessoryArgs, "image" | "privateIp" | "dataDir" | "mountPath" | "adoptFrom" | "maxConnections">,
): PostgresContainerSpec {
    return {
        ...(args.maxConnections === undefined ? {} : { command: ["postgres", "-c", `max_connections=${args.maxConnections}`] }),
        name: POSTGRES_CONTAINER,
        image: args.image,
        ports: postgresPorts(args.privateIp),
        volumes: [
            { hostPath: args.dataDir, containerPath: args.mountPath },
            // the superuser's password, root-only on the host, for POSTGRES_PASSWORD_FILE (issue 11 point 6)
            { hostPath: PASSWORD_FILE, containerPath: PASSWORD_FILE_IN_CONTAINER, readOnly: true },
        ],
        labels: POSTGRES_LABELS,
        // Kamal's web container reaches the accessory by its name on the kamal network: ours takes it over as an alias.
        networks: args.adoptFrom === undefined ? [] : [{ name: KAMAL_NETWORK, aliases: [args.adoptFrom] }],
    };
}

/**
 * The Postgres accessory on the web host: published on the private address only, its
 * cluster in `dataDir` (reused, never re-initialised), and every configured database present.
 *
 * Order: image pull -> preflight (read-only: refuses a major-version mismatch, an empty dataDir
 * without `initialize`, adoptFrom's data elsewhere, another container on the data or the port)
 * -> takeover (adoptFrom only: dump, stop it for good) -> container -> ready (pg_isready on the
 * private address, bounded) -> databases (idempotent CREATE DATABASE, password by stdin).
 * The preflight and the takeover carry everything the container is made of as triggers, so
 * they run again whenever it is created or replaced.
 *
 * `handBack` is the way back: no container is declared (this `up` deletes ours from the host
 * and the state), and the hand-back step stops ours, then starts adoptFrom on the same data.
 */
export class PostgresAccessory extends pulumi.ComponentResource {
    /** Ours; undefined after a hand back. */
    readonly container?: docker.Container;
    /** The last step: when it is done, every database exists and accepts the app's password (or, handed back, adoptFrom serves). */
    readonly ready: pulumi.Resource;
    readonly host: string;
    readonly port: number;
    /** Secret URLs for Rails: DATABASE_URL, QUEUE_DATABASE_URL, CACHE_DATABASE_URL, CABLE_DATABASE_URL. */
    readonly urls: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: PostgresAccessoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:data:PostgresAccessory", name, {}, opts);
        this.host = args.privateIp;
        this.port = POSTGRES_PORT;
        const connection = connectionTo(args.hostPublicIp, args.ssh, args.hostKey);
        // The app connects as its own role, never as the superuser (issue 11 point 7).
        const url = (db: string) => args.password.apply((p) => databaseUrl(args.appUser, appRolePassword(p), args.privateIp, db));
        const urls: Record<string, pulumi.Output<string>> = {
            DATABASE_URL: url(args.roles.primary),
            QUEUE_DATABASE_URL: url(args.roles.queue),
        };
        if (args.roles.cache) urls.CACHE_DATABASE_URL = url(args.roles.cache);
        if (args.roles.cable) urls.CABLE_DATABASE_URL = url(args.roles.cable);
        this.urls = pulumi.secret(pulumi.all(urls));

        if (args.handBack) {
            // The way back from a takeover: ours stops, adoptFrom serves the same data again.
            this.ready = remoteStep(
                `${name}-handback`,
                {
                    connection,
                    script: "postgres-handback",
                    params: { ADOPT_FROM: args.adoptFrom!, DATA_DIR: args.dataDir, PG_MAJOR: args.major, CONTAINER: POSTGRES_CONTAINER, STOP_TIMEOUT: STOP_TIMEOUT_SECONDS },
                },
                { parent: this, dependsOn: args.dependsOn },
            );
            this.registerOutputs({ host: this.host, port: this.port, urls: this.urls });
            return;
        }

        const provider = new docker.Provider(
            `${name}-docker`,
            {
                host: pulumi.interpolate`ssh://${args.ssh.user}@${args.hostPublicIp}`,
                // Do not dial the host when the provider is configured: `pulumi preview` in a pull
                // request runs where port 22 is closed (admin CIDRs only). `up` connects when it acts.
                disableDockerDaemonCheck: true,
                // Only the stack's host key for the web host is trusted (issue 11 point 2).
                sshOpts: pulumi.output(args.sshClient).apply(dockerSshOpts),
            },
            { parent: this, dependsOn: args.dependsOn },
        );

        const image = new docker.RemoteImage(
            `${name}-image`,
            // keepLocally: the previous image stays on the host, so going back needs no pull.
            // A pull changes no container: it may come before the preflight, whose triggers need its id.
            { name: args.image, keepLocally: true },
            { parent: this, provider, dependsOn: args.dependsOn },
        );

        const spec = postgresContainerSpec(args);
        // POSTGRES_* act only on an empty data dir (first init); an existing cluster keeps its own.
        // The password comes from a root-only file (issue 11 point 6): `docker inspect` never shows it.
        const envs = [`POSTGRES_USER=${args.user}`, `POSTGRES_PASSWORD_FILE=${PASSWORD_FILE_IN_CONTAINER}`, `POSTGRES_DB=${args.roles.primary}`];
        // Everything the container is made of: a change creates it anew, so the checks run again first.
        // The password counts too (a new one is written to the password file first), as a digest, secret in the state.
        const passwordDigest = pulumi.secret(args.password.apply((p) => createHash("sha256").update(p).digest("hex")));
        const containerTriggers = [JSON.stringify(spec), image.imageId, JSON.stringify(envs), passwordDigest];

        const preflight = remoteStep(
            `${name}-preflight`,
            {
                connection,
                script: "postgres-preflight",
                params: {
                    DATA_DIR: args.dataDir,
                    PG_MAJOR: args.major,
                    PRIVATE_IP: args.privateIp,
                    CONTAINER: POSTGRES_CONTAINER,
                    IMAGE: args.image,
                    ADOPT_FROM: args.adoptFrom ?? "",
                    INITIALIZE: args.initialize,
                },
                triggers: containerTriggers,
            },
            { parent: this, dependsOn: args.dependsOn },
        );

        const takeover =
            args.adoptFrom === undefined
                ? undefined
                : remoteStep(
                      `${name}-takeover`,
                      {
                          connection,
                          script: "postgres-takeover",
                          params: {
                              ADOPT_FROM: args.adoptFrom,
                              DATA_DIR: args.dataDir,
                              PG_MAJOR: args.major,
                              CONTAINER: POSTGRES_CONTAINER,
                              DUMP_DIR,
                              NETWORK: KAMAL_NETWORK,
                              STOP_TIMEOUT: STOP_TIMEOUT_SECONDS,
                              DUMP_TIMEOUT: DUMP_TIMEOUT_SECONDS,
                          },
                          triggers: containerTriggers,
                          // the dump and the stop are each bounded by the script; the step outlasts both
                          timeout: stepTimeoutFor(DUMP_TIMEOUT_SECONDS + STOP_TIMEOUT_SECONDS + 30 + 120),
                      },
                      { parent: this, dependsOn: [preflight] },
                  );

        const passwordFile = remoteStep(
            `${name}-password-file`,
            { connection, script: "postgres-password-file", params: { FILE: PASSWORD_FILE }, stdin: args.password.apply((p) => `${p}\n`) },
            { parent: this, dependsOn: [preflight] },
        );

        this.container = new docker.Container(
            `${name}-container`,
            {
                name: spec.name,
                image: image.imageId,
                restart: "unless-stopped",
                ...(spec.command === undefined ? {} : { command: spec.command }),
                ports: spec.ports,
                volumes: spec.volumes,
                ...(spec.networks.length === 0 ? {} : { networksAdvanced: spec.networks }),
                envs,
                healthcheck: {
                    tests: ["CMD", "pg_isready", "-h", args.privateIp, "-U", args.user],
                    interval: "10s",
                    timeout: "5s",
                    retries: 6,
                    startPeriod: "30s",
                },
                // Postgres shuts down cleanly on SIGTERM when given the time.
                destroyGraceSeconds: STOP_TIMEOUT_SECONDS,
                stopTimeout: STOP_TIMEOUT_SECONDS,
                mustRun: true,
                // The data is a host bind mount: removing the container never removes it.
                removeVolumes: false,
                labels: Object.entries(spec.labels).map(([label, value]) => ({ label, value })),
            },
            // A fixed name and port cannot be held by two containers: the old one goes first.
            // Created only after the preflight and (adoptFrom) the takeover have stopped the old accessory.
            { parent: this, provider, dependsOn: [takeover ?? preflight, passwordFile], deleteBeforeReplace: true },
        );

        const waitReady = remoteStep(
            `${name}-ready`,
            {
                connection,
                script: "postgres-wait-ready",
                params: { CONTAINER: POSTGRES_CONTAINER, PRIVATE_IP: args.privateIp, DB_USER: args.user, TIMEOUT_SECONDS: READY_TIMEOUT_SECONDS },
                // A new container (new id) must be waited for again.
                triggers: [this.container.id],
            },
            { parent: this, dependsOn: [this.container] },
        );

        this.ready = remoteStep(
            `${name}-databases`,
            {
                connection,
                script: "postgres-databases",
                params: { CONTAINER: POSTGRES_CONTAINER, PRIVATE_IP: args.privateIp, DB_USER: args.user, APP_USER: args.appUser, DATABASES: args.databases.join(" ") },
                // The superuser's password, then the app role's.
                stdin: args.password.apply((p) => `${p}\n${appRolePassword(p)}\n`),
                triggers: [this.container.id],
            },
            { parent: this, dependsOn: [waitReady] },
        );

        this.registerOutputs({ host: this.host, port: this.port, urls: this.urls });
    }
}
