import * as pulumi from "@pulumi/pulumi";
import { attachFirewall, Firewalls } from "../components/firewalls";
import { hostReady } from "../components/hostReady";
import { JobsServer } from "../components/jobsServer";
import { POSTGRES_CONTAINER, PostgresAccessory } from "../components/postgresAccessory";
import { PrivateNetwork } from "../components/privateNetwork";
import { Release } from "../components/release";
import { knownHostsText } from "../components/hostKeys";
import { SshAccess, sshClientFiles } from "../components/remote";
import { WebServer } from "../components/webServer";
import { StackConfig } from "./config";

export interface HostOutput {
    role: "web" | "jobs";
    publicIp: pulumi.Output<string>;
    privateIp: pulumi.Input<string>;
    ssh: pulumi.Output<string>;
    /** Its public SSH host key (ops builds its known_hosts from these). */
    hostKey: pulumi.Output<string>;
}

/**
 * Whether the jobs firewall reaches the jobs servers through one FirewallAttachment (when a
 * jobs server or the jobs firewall is adopted) instead of `firewallIds` at creation. New jobs
 * servers are then created with the boot firewall (no rules: nothing gets in) and get the jobs
 * firewall from the attachment; their SSH steps wait for it.
 */
export function jobsFirewallByAttachment(config: StackConfig): boolean {
    return config.firewalls.jobs !== undefined || config.jobs.hosts.some((h) => h.importId !== undefined);
}

/**
 * Whether the stack needs the boot firewall: a new server whose role firewall comes by
 * attachment. A new web server always (the web firewall is applied by attachment); a new jobs
 * server when the jobs firewall is.
 */
export function needsBootFirewall(config: StackConfig): boolean {
    const newJobsByAttachment = jobsFirewallByAttachment(config) && config.jobs.hosts.some((h) => h.importId === undefined);
    return config.web.importId === undefined || newJobsByAttachment;
}

/** The `ssh` command a person types to reach a host. */
export function sshCommand(user: string, ip: string): string {
    return `ssh ${user}@${ip}`;
}

/**
 * One shred-day stack, composed in the order a deploy happens:
 * network and firewalls -> web host (adopted) -> jobs hosts -> Postgres on the private address -> the release
 * (env files, pulls, db:prepare, web, workers, the proof they registered).
 *
 * Secrets arrive here as plain config values and are wrapped with pulumi.secret() at once;
 * everything below gets them as secret Outputs.
 */
export class ShredDay extends pulumi.ComponentResource {
    readonly network: PrivateNetwork;
    readonly firewalls: Firewalls;
    readonly web: WebServer;
    readonly jobs: JobsServer[];
    readonly postgres: PostgresAccessory;
    readonly release: Release;
    readonly hosts: Record<string, HostOutput>;

    constructor(name: string, config: StackConfig, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:stack:ShredDay", name, {}, opts);
        const labels = { app: "shred-day", "managed-by": "pulumi" };

        const { gateway, ...network } = config.network;
        this.network = new PrivateNetwork("network", { ...network, labels }, { parent: this });
        this.firewalls = new Firewalls(
            name,
            {
                adminCidrs: config.ssh.adminCidrs,
                labels,
                importIds: { web: config.firewalls.web?.importId, jobs: config.firewalls.jobs?.importId },
                boot: needsBootFirewall(config),
            },
            { parent: this },
        );

        this.web = new WebServer(
            "web",
            {
                name: config.web.name,
                importId: config.web.importId,
                privateIp: config.web.privateIp,
                serverType: config.web.serverType,
                image: config.web.image,
                location: config.location,
                sshKeyNames: config.ssh.keyNames,
                networkId: this.network.networkId,
                networkImportId: config.network.importId,
                subnet: this.network.subnet,
                firewallId: this.firewalls.webId,
                firewallImportId: config.firewalls.web?.importId,
                bootFirewallId: this.firewalls.bootId,
                labels,
                hostKey: config.web.hostKey,
            },
            { parent: this },
        );

        // One attachment per firewall: as soon as a jobs server or the jobs firewall is adopted,
        // every jobs server gets the jobs firewall through it (an adopted server is not updated).
        const jobsAttachment = jobsFirewallByAttachment(config);

        this.jobs = config.jobs.hosts.map(
            (host) =>
                new JobsServer(
                    host.name,
                    {
                        name: host.name,
                        privateIp: host.privateIp,
                        importId: host.importId,
                        serverType: config.jobs.serverType,
                        image: config.jobs.image,
                        location: config.location,
                        sshKeyNames: config.ssh.keyNames,
                        networkId: this.network.networkId,
                        networkImportId: config.network.importId,
                        subnet: this.network.subnet,
                        firewallId: jobsAttachment ? this.firewalls.bootId : this.firewalls.jobsId,
                        firewallAttached: jobsAttachment,
                        labels,
                        hostKey: host.hostKey,
                    },
                    { parent: this },
                ),
        );
        let jobsFirewallAttachment: pulumi.Resource | undefined;
        if (jobsAttachment) {
            jobsFirewallAttachment = attachFirewall(
                `${name}-jobs-firewall`,
                { firewallId: this.firewalls.jobsId, serverIds: this.jobs.map((j) => j.serverId), importId: config.firewalls.jobs?.importId },
                { parent: this },
            );
        }

        const privateKey = config.secrets.sshPrivateKey === undefined ? undefined : pulumi.secret(config.secrets.sshPrivateKey);
        const ssh: SshAccess = { user: config.ssh.user, privateKey };
        // SSH once the host is on the network and has the web firewall (a new one boots with the boot firewall: nothing gets in)
        const webReady = hostReady(
            config.web.name,
            { publicIp: this.web.publicIp, ssh, hostKey: this.web.hostKey, dependsOn: [this.web.attachment, this.web.firewallAttachment] },
            this,
        );

        this.postgres = new PostgresAccessory(
            "postgres",
            {
                hostPublicIp: this.web.publicIp,
                privateIp: config.web.privateIp,
                ssh,
                hostKey: this.web.hostKey,
                sshClient: sshClientFiles(
                    privateKey,
                    pulumi.all([this.web.publicIp, this.web.hostKey]).apply(([ip, key]) => knownHostsText([{ patterns: [ip], publicKey: key }])),
                ),
                image: config.postgres.image,
                major: config.postgres.major,
                dataDir: config.postgres.dataDir,
                mountPath: config.postgres.mountPath,
                user: config.postgres.user,
                appUser: config.postgres.appUser,
                databases: config.postgres.databases,
                roles: config.postgres.roles,
                password: pulumi.secret(config.secrets.postgresPassword),
                adoptFrom: config.postgres.adoptFrom,
                initialize: config.postgres.initialize,
                handBack: config.postgres.handBack,
                maxConnections: config.postgres.maxConnections,
                dependsOn: [webReady],
            },
            { parent: this },
        );

        this.release = new Release(
            "release",
            {
                ssh,
                web: { name: config.web.name, publicIp: this.web.publicIp, privateIp: config.web.privateIp, hostKey: this.web.hostKey, ready: webReady },
                jobs: this.jobs.map((j, i) => ({
                    name: config.jobs.hosts[i].name,
                    publicIp: j.publicIp,
                    privateIp: j.privateIp,
                    hostKey: j.hostKey,
                    ready: hostReady(
                        config.jobs.hosts[i].name,
                        // SSH once the host is on the network and has the jobs firewall (the boot firewall lets nothing in)
                        { publicIp: j.publicIp, ssh, hostKey: j.hostKey, dependsOn: [j.server, ...(j.attachment ? [j.attachment] : []), ...(jobsFirewallAttachment ? [jobsFirewallAttachment] : [])] },
                        this,
                    ),
                })),
                image: config.app.image,
                registry: config.app.registry,
                registryPassword: config.secrets.registryPassword === undefined ? undefined : pulumi.secret(config.secrets.registryPassword),
                clearEnv: { web: { ...config.app.env, ...config.web.env }, jobs: { ...config.app.env, ...config.jobs.env } },
                dbHost: this.postgres.host,
                appSecrets: pulumi.secret(config.secrets.appSecrets),
                databaseUrls: this.postgres.urls,
                concurrency: config.jobs.concurrency,
                jobsStopTimeout: config.jobs.stopTimeout,
                heartbeatSeconds: config.jobs.heartbeatSeconds,
                proofTimeoutSeconds: config.jobs.proofTimeout,
                appHost: config.web.appHost,
                appPort: config.web.appPort,
                proxyService: config.web.proxyService,
                kamal: config.web.kamal,
                proxyImage: config.app.proxyImage,
                keepImages: config.app.keepImages,
                postgres: {
                    container: POSTGRES_CONTAINER,
                    user: config.postgres.user,
                    queueDatabase: config.postgres.roles.queue,
                    ready: this.postgres.ready,
                },
            },
            { parent: this },
        );

        const user = config.ssh.user;
        this.hosts = {
            [config.web.name]: {
                role: "web",
                publicIp: this.web.publicIp,
                privateIp: this.web.privateIp,
                ssh: this.web.publicIp.apply((ip) => sshCommand(user, ip)),
                hostKey: this.web.hostKey,
            },
        };
        for (const j of this.jobs) {
            const host = config.jobs.hosts.find((h) => h.privateIp === j.privateIp)!;
            this.hosts[host.name] = { role: "jobs", publicIp: j.publicIp, privateIp: j.privateIp, ssh: j.publicIp.apply((ip) => sshCommand(user, ip)), hostKey: j.hostKey };
        }
        this.registerOutputs({ networkId: this.network.networkId, hosts: this.hosts, logs: this.release.logs });
    }
}
