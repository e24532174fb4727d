import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { cloudConfig } from "./cloudConfig";

export interface JobsServerArgs {
    name: string;
    privateIp: string;
    serverType: string;
    image: string;
    location: string;
    sshKeyNames: string[];
    networkId: pulumi.Input<number>;
    subnet: pulumi.Resource;
    firewallId: pulumi.Input<number>;
    labels: Record<string, string>;
}

/** One Solid Queue host: a new server on the private network with the jobs firewall from first boot. */
export class JobsServer extends pulumi.ComponentResource {
    readonly server: hcloud.Server;
    readonly publicIp: pulumi.Output<string>;
    readonly privateIp: string;

    constructor(name: string, args: JobsServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:hosts:JobsServer", name, {}, opts);
        this.privateIp = args.privateIp;
        this.server = new hcloud.Server(
            `${name}-server`,
            {
                name: args.name,
                serverType: args.serverType,
                image: args.image,
                location: args.location,
                sshKeys: args.sshKeyNames,
                labels: { ...args.labels, role: "jobs" },
                userData: cloudConfig(),
                firewallIds: [args.firewallId],
                publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
                // aliasIps: [] or the attachment is redone on every update.
                networks: [{ networkId: args.networkId, ip: args.privateIp, aliasIps: [] }],
                // Cattle, not pets: scaling in is a config edit. The two must be equal.
                deleteProtection: false,
                rebuildProtection: false,
                // Scaling in shuts the server down first: Docker stops bin/jobs with its stop
                // timeout, so Solid Queue finishes or releases its jobs instead of being cut off.
                shutdownBeforeDeletion: true,
            },
            { parent: this, dependsOn: [args.subnet] },
        );
        this.publicIp = this.server.ipv4Address;
        this.registerOutputs({ publicIp: this.publicIp, privateIp: this.privateIp });
    }
}
