/**
 * The hcloud objects production has today, as the provider's data sources return them, for
 * tests that run index.ts (which checks adoption before any change) on Pulumi mocks.
 * Matches tests/support/fixtures.ts productionConfig(): network 4711, web server 12345678 at
 * 91.99.62.190 / 10.0.0.3, jobs server 23456789 at 203.0.113.20 / 10.0.0.2, no firewalls.
 */
import * as pulumi from "@pulumi/pulumi";

export const GET_SERVER = "hcloud:index/getServer:getServer";
export const GET_NETWORK = "hcloud:index/getNetwork:getNetwork";
export const GET_FIREWALL = "hcloud:index/getFirewall:getFirewall";

export interface HcloudWorld {
    networks: Record<string, any>;
    servers: Record<string, any>;
    firewalls: Record<string, any>;
}

/** Today's production: everything the adoption config names, as it is. */
export function productionWorld(): HcloudWorld {
    return {
        networks: { "4711": { id: 4711, name: "shred-day", ipRange: "10.0.0.0/16", labels: {}, deleteProtection: false, exposeRoutesToVswitch: false } },
        servers: {
            "12345678": {
                id: 12345678,
                name: "shred-day-web",
                ipv4Address: "91.99.62.190",
                serverType: "cpx21",
                backups: true,
                networks: [{ networkId: 4711, ip: "10.0.0.3", aliasIps: [], macAddress: "86:00:00:00:00:01" }],
                firewallIds: [],
                labels: {},
            },
            "23456789": {
                id: 23456789,
                name: "shred-day-jobs-ubuntu",
                ipv4Address: "203.0.113.20",
                serverType: "cpx21",
                backups: false,
                networks: [{ networkId: 4711, ip: "10.0.0.2", aliasIps: [], macAddress: "86:00:00:00:00:02" }],
                firewallIds: [],
                labels: {},
            },
        },
        firewalls: {},
    };
}

/**
 * A mock `call` for the hcloud data sources: answers from `world`, and like the provider
 * fails for an id that does not exist. Returns undefined for any other token.
 */
export function hcloudCall(world: HcloudWorld, calls: { token: string; id: string }[] = []) {
    return (args: pulumi.runtime.MockCallArgs): Record<string, any> | undefined => {
        const table = args.token === GET_SERVER ? world.servers : args.token === GET_NETWORK ? world.networks : args.token === GET_FIREWALL ? world.firewalls : undefined;
        if (table === undefined) return undefined;
        const id = String(args.inputs.id);
        calls.push({ token: args.token, id });
        const found = table[id];
        if (found === undefined) throw new Error(`${args.token}: no object with id ${id} found`);
        return found;
    };
}
