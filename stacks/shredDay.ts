import * as pulumi from "@pulumi/pulumi";
import { Firewalls } from "../components/firewalls";
import { JobsServer } from "../components/jobsServer";
import { PostgresAccessory } from "../components/postgresAccessory";
import { PrivateNetwork } from "../components/privateNetwork";
import { SshAccess, sshKeyFile } from "../components/remote";
import { WebServer } from "../components/webServer";
import { StackConfig } from "./config";

export interface HostOutput {
    role: "web" | "jobs";
    publicIp: pulumi.Output<string>;
    privateIp: pulumi.Input<string>;
    ssh: pulumi.Output<string>;
}

/** The `ssh` command a person types to reach a host. */
export function sshCommand(user: string, ip: string): string {
    return `ssh ${user}@${ip}`;
}

/**
 * One shred-day stack, composed in the order a deploy happens:
 * network and firewalls -> web host (adopted) -> jobs hosts -> Postgres on the private address.
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
    readonly hosts: Record<string, HostOutput>;

    constructor(name: string, config: StackConfig, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:stack:ShredDay", name, {}, opts);
        const labels = { app: "shred-day", "managed-by": "pulumi" };

        this.network = new PrivateNetwork("network", { ...config.network, labels }, { parent: this });
        this.firewalls = new Firewalls(name, { adminCidrs: config.ssh.adminCidrs, labels }, { parent: this });

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
                subnet: this.network.subnet,
                firewallId: this.firewalls.webId,
                labels,
            },
            { parent: this },
        );

        this.jobs = config.jobs.hosts.map(
            (host) =>
                new JobsServer(
                    host.name,
                    {
                        name: host.name,
                        privateIp: host.privateIp,
                        serverType: config.jobs.serverType,
                        image: config.jobs.image,
                        location: config.location,
                        sshKeyNames: config.ssh.keyNames,
                        networkId: this.network.networkId,
                        subnet: this.network.subnet,
                        firewallId: this.firewalls.jobsId,
                        labels,
                    },
                    { parent: this },
                ),
        );

        const privateKey = config.secrets.sshPrivateKey === undefined ? undefined : pulumi.secret(config.secrets.sshPrivateKey);
        const ssh: SshAccess = { user: config.ssh.user, privateKey };

        this.postgres = new PostgresAccessory(
            "postgres",
            {
                hostPublicIp: this.web.publicIp,
                privateIp: config.web.privateIp,
                ssh,
                sshKeyFile: privateKey === undefined ? undefined : sshKeyFile(privateKey),
                image: config.postgres.image,
                major: config.postgres.major,
                dataDir: config.postgres.dataDir,
                mountPath: config.postgres.mountPath,
                user: config.postgres.user,
                databases: config.postgres.databases,
                roles: config.postgres.roles,
                password: pulumi.secret(config.secrets.postgresPassword),
                dependsOn: [this.web.attachment],
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
            },
        };
        for (const j of this.jobs) {
            const host = config.jobs.hosts.find((h) => h.privateIp === j.privateIp)!;
            this.hosts[host.name] = { role: "jobs", publicIp: j.publicIp, privateIp: j.privateIp, ssh: j.publicIp.apply((ip) => sshCommand(user, ip)) };
        }
        this.registerOutputs({ networkId: this.network.networkId, hosts: this.hosts });
    }
}
