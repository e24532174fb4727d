import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";

export interface PrivateNetworkArgs {
    name: string;
    ipRange: string;
    subnetRange: string;
    zone: string;
    labels: Record<string, string>;
}

/** The Hetzner private network and its `cloud` subnet. Postgres is reachable only here. */
export class PrivateNetwork extends pulumi.ComponentResource {
    readonly network: hcloud.Network;
    readonly subnet: hcloud.NetworkSubnet;
    /** hcloud wants numeric network ids; the resource id is a string. */
    readonly networkId: pulumi.Output<number>;

    constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:network:PrivateNetwork", name, {}, opts);
        this.network = new hcloud.Network(
            `${name}-network`,
            { name: args.name, ipRange: args.ipRange, labels: args.labels, deleteProtection: true },
            { parent: this },
        );
        this.networkId = this.network.id.apply((id) => Number(id));
        this.subnet = new hcloud.NetworkSubnet(
            `${name}-subnet`,
            { networkId: this.networkId, type: "cloud", networkZone: args.zone, ipRange: args.subnetRange },
            { parent: this },
        );
        this.registerOutputs({ networkId: this.networkId });
    }
}
