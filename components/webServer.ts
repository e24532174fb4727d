import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { cloudConfig } from "./cloudConfig";

export interface WebServerArgs {
    name: string;
    /** hcloud id of the existing server to adopt; undefined creates a new one. */
    importId?: string;
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

/**
 * What adoption must never change. A change of sshKeys would recreate the server, and
 * import does not read sshKeys, userData or image back, so they are left alone.
 */
export const ADOPTED_IGNORE_CHANGES = ["sshKeys", "userData", "image"];

/**
 * The web host. The production one exists (Kamal era) and is adopted with `import`, protected,
 * never recreated. It joins the private network and its firewall through separate resources,
 * so nothing about the server itself has to change for that.
 */
export class WebServer extends pulumi.ComponentResource {
    readonly server: hcloud.Server;
    readonly attachment: hcloud.ServerNetwork;
    readonly firewallAttachment: hcloud.FirewallAttachment;
    readonly publicIp: pulumi.Output<string>;
    readonly privateIp: pulumi.Output<string>;

    constructor(name: string, args: WebServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:hosts:WebServer", name, {}, opts);
        const adopted = args.importId !== undefined;
        this.server = new hcloud.Server(
            `${name}-server`,
            {
                name: args.name,
                serverType: args.serverType,
                image: args.image,
                location: args.location,
                labels: { ...args.labels, role: "web" },
                deleteProtection: true,
                rebuildProtection: true,
                ...(adopted ? {} : { sshKeys: args.sshKeyNames, userData: cloudConfig() }),
            },
            adopted
                ? { parent: this, import: args.importId, protect: true, ignoreChanges: ADOPTED_IGNORE_CHANGES }
                : { parent: this, protect: true },
        );
        const serverId = this.server.id.apply((id) => Number(id));
        this.attachment = new hcloud.ServerNetwork(
            `${name}-private`,
            { serverId, networkId: args.networkId, ip: args.privateIp, aliasIps: [] },
            { parent: this, dependsOn: [args.subnet] },
        );
        this.firewallAttachment = new hcloud.FirewallAttachment(
            `${name}-firewall`,
            { firewallId: args.firewallId, serverIds: [serverId] },
            { parent: this },
        );
        this.publicIp = this.server.ipv4Address;
        this.privateIp = this.attachment.ip.apply((ip) => ip ?? args.privateIp);
        this.registerOutputs({ publicIp: this.publicIp, privateIp: this.privateIp });
    }
}
