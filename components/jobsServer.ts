import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { adoptedOptions, serverNetworkImportId } from "./adoption";
import { cloudConfig } from "./cloudConfig";
import { newHostKey, publicKeyOnly } from "./hostKeys";

export interface JobsServerArgs {
    name: string;
    privateIp: string;
    /** hcloud id of an existing server to adopt (it exists today: Kamal deploys to it); undefined creates one. */
    importId?: string;
    serverType: string;
    image: string;
    location: string;
    sshKeyNames: string[];
    networkId: pulumi.Input<number>;
    /** The adopted network's id: an adopted server's attachment to it is imported (`SERVERID-NETWORKID`). */
    networkImportId?: string;
    subnet: pulumi.Resource;
    /**
     * The firewall a new server is created with (`firewallIds`), so it is never without one:
     * the jobs firewall itself, or, with `firewallAttached`, the boot firewall (no rules).
     * Required for a new server; an adopted one keeps the firewalls it has.
     */
    firewallId?: pulumi.Input<number>;
    /**
     * The jobs firewall reaches this server through the stack's one FirewallAttachment (as
     * soon as one jobs server or the jobs firewall is adopted: one attachment per firewall,
     * and an adopted server must not be updated to get it). A new server then keeps only the
     * boot firewall as its own and ignores the firewalls applied to it from elsewhere
     * (`ignoreRemoteFirewallIds`), so the attachment alone manages jobs firewall <-> server
     * (components/firewalls.ts `BOOT_FIREWALL` says why, from the provider's source).
     */
    firewallAttached: boolean;
    labels: Record<string, string>;
    /** An adopted server's public SSH host key (shred-day:jobs.hosts[].hostKey); a new server gets one made by the program. */
    hostKey?: string;
}

/**
 * One Solid Queue host. A new one is created on the private network with a firewall from
 * first boot (the jobs firewall, or the boot firewall until the jobs attachment applies). An adopted one (`importId`) is imported like the web server (protected,
 * every input but its checked name ignored) and joins the network by a separate attachment,
 * imported when it is already on the adopted network.
 */
export class JobsServer extends pulumi.ComponentResource {
    readonly server: hcloud.Server;
    /** The adopted server's attachment to the private network (new servers attach inline). */
    readonly attachment?: hcloud.ServerNetwork;
    readonly publicIp: pulumi.Output<string>;
    readonly privateIp: string;
    readonly serverId: pulumi.Output<number>;
    /** Its public SSH host key, `ssh-ed25519 AAAA...`. */
    readonly hostKey: pulumi.Output<string>;

    constructor(name: string, args: JobsServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:hosts:JobsServer", name, {}, opts);
        this.privateIp = args.privateIp;
        const labels = { ...args.labels, role: "jobs" };
        if (args.importId !== undefined && args.hostKey === undefined) throw new Error(`jobs server ${args.name}: an adopted server needs its public host key (shred-day:jobs.hosts[].hostKey)`);
        const generated = args.importId !== undefined ? undefined : newHostKey(name, this);
        this.hostKey = generated?.publicKey ?? pulumi.output(publicKeyOnly(args.hostKey!));
        if (args.importId !== undefined) {
            this.server = new hcloud.Server(
                `${name}-server`,
                { name: args.name, serverType: args.serverType, image: args.image, location: args.location, labels },
                // after the subnet like a new server (the attachment needs it anyway)
                { parent: this, dependsOn: [args.subnet], ...adoptedOptions("hcloud:index/server:Server", args.importId) },
            );
        } else {
            if (args.firewallId === undefined) throw new Error(`jobs server ${args.name}: a new server needs a firewall from creation (firewallId)`);
            this.server = new hcloud.Server(
                `${name}-server`,
                {
                    name: args.name,
                    serverType: args.serverType,
                    image: args.image,
                    location: args.location,
                    sshKeys: args.sshKeyNames,
                    labels,
                    userData: pulumi.secret(pulumi.all([generated!.privateKey, generated!.publicKey]).apply(([privateKey, publicKey]) => cloudConfig({ privateKey, publicKey }))),
                    // a firewall from creation, before first boot
                    firewallIds: [args.firewallId],
                    ...(args.firewallAttached ? { ignoreRemoteFirewallIds: true } : {}),
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
                // With the jobs firewall attached from outside, the server never updates its own
                // firewalls: the provider reads every applied firewall back into firewall_ids
                // (internal/server/resource.go getServerAttributes), and an update would remove the
                // jobs firewall. ignoreRemoteFirewallIds is the provider's own switch for that; the
                // ignoreChanges makes it hold whatever the provider's diff suppression does with sets.
                { parent: this, dependsOn: [args.subnet], ...(args.firewallAttached ? { ignoreChanges: ["firewallIds"] } : {}) },
            );
        }
        this.serverId = this.server.id.apply((id) => Number(id));
        if (args.importId !== undefined) {
            const attachmentImport = args.networkImportId === undefined ? undefined : serverNetworkImportId(args.importId, args.networkImportId);
            this.attachment = new hcloud.ServerNetwork(
                `${name}-private`,
                { serverId: this.serverId, networkId: args.networkId, ip: args.privateIp, aliasIps: [] },
                attachmentImport === undefined
                    ? { parent: this, dependsOn: [args.subnet] }
                    : { parent: this, dependsOn: [args.subnet], ...adoptedOptions("hcloud:index/serverNetwork:ServerNetwork", attachmentImport) },
            );
        }
        this.publicIp = this.server.ipv4Address;
        this.registerOutputs({ publicIp: this.publicIp, privateIp: this.privateIp });
    }
}
