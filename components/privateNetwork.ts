import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { adoptedOptions, subnetImportId } from "./adoption";

export interface PrivateNetworkArgs {
    name: string;
    ipRange: string;
    subnetRange: string;
    zone: string;
    labels: Record<string, string>;
    /** hcloud id of the existing network to adopt (with its subnet); undefined creates both. */
    importId?: string;
}

/**
 * The Hetzner private network and its `cloud` subnet. Postgres is reachable only here.
 *
 * Adopted (`importId`): the network is imported by its id and the subnet by
 * `NETWORKID-IPRANGE`, both protected; they declare only what the adoption check compared
 * with the real network (name, range) or what is their import id, and ignore every other
 * input (labels, protection, zone, vSwitch), so the import changes nothing.
 */
export class PrivateNetwork extends pulumi.ComponentResource {
    readonly network: hcloud.Network;
    readonly subnet: hcloud.NetworkSubnet;
    /** hcloud wants numeric network ids; the resource id is a string. */
    readonly networkId: pulumi.Output<number>;
    readonly adopted: boolean;

    constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:network:PrivateNetwork", name, {}, opts);
        this.adopted = args.importId !== undefined;
        this.network = new hcloud.Network(
            `${name}-network`,
            { name: args.name, ipRange: args.ipRange, labels: args.labels, deleteProtection: true },
            args.importId !== undefined
                ? { parent: this, ...adoptedOptions("hcloud:index/network:Network", args.importId) }
                : { parent: this },
        );
        this.networkId = this.network.id.apply((id) => Number(id));
        this.subnet = new hcloud.NetworkSubnet(
            `${name}-subnet`,
            { networkId: this.networkId, type: "cloud", networkZone: args.zone, ipRange: args.subnetRange },
            args.importId !== undefined
                ? { parent: this, ...adoptedOptions("hcloud:index/networkSubnet:NetworkSubnet", subnetImportId(args.importId, args.subnetRange)) }
                : { parent: this },
        );
        this.registerOutputs({ networkId: this.networkId });
    }
}
