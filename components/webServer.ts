import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { adoptedIgnoreChanges, adoptedOptions, serverNetworkImportId } from "./adoption";
import { cloudConfig } from "./cloudConfig";
import { newHostKey, publicKeyOnly } from "./hostKeys";
import { attachFirewall } from "./firewalls";

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
    /** The adopted network's id: an adopted server's attachment to it is imported (`SERVERID-NETWORKID`). */
    networkImportId?: string;
    subnet: pulumi.Resource;
    /** The web firewall: applied by a FirewallAttachment (`firewallAttachment`), for a new server and an adopted one. */
    firewallId: pulumi.Input<number>;
    /** The adopted web firewall's id: its attachment is imported, not created. */
    firewallImportId?: string;
    /**
     * The boot firewall (no rules; components/firewalls.ts BOOT_FIREWALL): a new server is
     * created with it, so it is never without a firewall before the attachment applies the web
     * firewall. Required for a new server.
     */
    bootFirewallId?: pulumi.Input<number>;
    labels: Record<string, string>;
    /** An adopted server's public SSH host key (shred-day:web.hostKey); a new server gets one made by the program. */
    hostKey?: string;
}

/**
 * What adoption must never change: every input of the provider's Server schema except
 * `name`, which the adoption check compares with the real server first (see adoption.ts).
 * Among them sshKeys (a change would recreate the server), backups (disabling deletes them),
 * serverType (power-off and disk upgrade), labels, protection and placement.
 */
export const ADOPTED_IGNORE_CHANGES = adoptedIgnoreChanges("hcloud:index/server:Server");

/**
 * The web host. The production one exists (Kamal era) and is adopted with `import`, protected,
 * never recreated. It joins the private network and its firewall through separate resources,
 * so nothing about the server itself has to change for that; when the network is adopted
 * too, the existing attachment is imported.
 */
export class WebServer extends pulumi.ComponentResource {
    readonly server: hcloud.Server;
    /** Its public SSH host key, `ssh-ed25519 AAAA...`: made by the program for a new server, from the config for an adopted one. */
    readonly hostKey: pulumi.Output<string>;
    readonly attachment: hcloud.ServerNetwork;
    readonly firewallAttachment: hcloud.FirewallAttachment;
    readonly publicIp: pulumi.Output<string>;
    readonly privateIp: pulumi.Output<string>;

    constructor(name: string, args: WebServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:hosts:WebServer", name, {}, opts);
        const adopted = args.importId !== undefined;
        if (adopted && args.hostKey === undefined) throw new Error(`web server ${args.name}: an adopted server needs its public host key (shred-day:web.hostKey)`);
        if (!adopted && args.bootFirewallId === undefined) throw new Error(`web server ${args.name}: a new server needs the boot firewall (it would be without a firewall until the attachment applies)`);
        const generated = adopted ? undefined : newHostKey(name, this);
        this.hostKey = generated?.publicKey ?? pulumi.output(publicKeyOnly(args.hostKey!));
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
                ...(generated === undefined
                    ? {}
                    : {
                          sshKeys: args.sshKeyNames,
                          // created behind the boot firewall; the attachment alone manages the web firewall
                          firewallIds: [args.bootFirewallId!],
                          ignoreRemoteFirewallIds: true,
                          userData: pulumi.secret(pulumi.all([generated.privateKey, generated.publicKey]).apply(([privateKey, publicKey]) => cloudConfig({ privateKey, publicKey }))),
                      }),
            },
            args.importId !== undefined
                ? { parent: this, ...adoptedOptions("hcloud:index/server:Server", args.importId) }
                : { parent: this, protect: true, ignoreChanges: ["firewallIds"] },
        );
        const serverId = this.server.id.apply((id) => Number(id));
        const attachmentImport =
            args.importId !== undefined && args.networkImportId !== undefined ? serverNetworkImportId(args.importId, args.networkImportId) : undefined;
        this.attachment = new hcloud.ServerNetwork(
            `${name}-private`,
            { serverId, networkId: args.networkId, ip: args.privateIp, aliasIps: [] },
            attachmentImport === undefined
                ? { parent: this, dependsOn: [args.subnet] }
                : { parent: this, dependsOn: [args.subnet], ...adoptedOptions("hcloud:index/serverNetwork:ServerNetwork", attachmentImport) },
        );
        this.firewallAttachment = attachFirewall(
            `${name}-firewall`,
            { firewallId: args.firewallId, serverIds: [serverId], importId: args.firewallImportId },
            { parent: this },
        );
        this.publicIp = this.server.ipv4Address;
        this.privateIp = this.attachment.ip.apply((ip) => ip ?? args.privateIp);
        this.registerOutputs({ publicIp: this.publicIp, privateIp: this.privateIp });
    }
}
