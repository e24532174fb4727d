/**
 * Adoption of existing Hetzner objects: import ids and what an imported object may never
 * have changed. Pure decisions, used by the components and tested on their own.
 *
 * Since Pulumi CLI 3.174 an `import` whose declared inputs differ from the real object is
 * imported and then UPDATED in the same `up`. For a server that can mean backups disabled
 * (Hetzner deletes them), a new type (power-off, disk upgrade), a new name or labels. So an
 * adopted object declares only what the adoption check (stacks/adoptionCheck.ts) has compared
 * with the real object before any change, or what is part of its import id, and lists every
 * other input of the provider's schema in `ignoreChanges`: on import, Pulumi takes ignored
 * inputs from the real object, so nothing of it can differ.
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * Every input property of the hcloud resources this stack adopts, as @pulumi/hcloud 1.41.0
 * declares them: `inputProperties` in pulumi/pulumi-hcloud
 * provider/cmd/pulumi-resource-hcloud/schema.json, i.e. the `...Args` interfaces in
 * node_modules/@pulumi/hcloud/<resource>.d.ts. tests/unit/adoption-schema.test.ts reads
 * those interfaces from the installed package, so a provider upgrade that adds an input
 * fails the tests until the new input is declared or ignored here.
 */
export const HCLOUD_INPUTS = {
    "hcloud:index/server:Server": [
        "allowDeprecatedImages",
        "backups",
        "datacenter",
        "deleteProtection",
        "firewallIds",
        "ignoreRemoteFirewallIds",
        "image",
        "iso",
        "keepDisk",
        "labels",
        "location",
        "name",
        "networks",
        "placementGroupId",
        "publicNets",
        "rebuildProtection",
        "rescue",
        "serverType",
        "shutdownBeforeDeletion",
        "sshKeys",
        "userData",
    ],
    "hcloud:index/network:Network": ["deleteProtection", "exposeRoutesToVswitch", "ipRange", "labels", "name"],
    "hcloud:index/networkSubnet:NetworkSubnet": ["ipRange", "networkId", "networkZone", "type", "vswitchId"],
    "hcloud:index/serverNetwork:ServerNetwork": ["aliasIps", "ip", "networkId", "serverId", "subnetId"],
    "hcloud:index/firewall:Firewall": ["applyTos", "labels", "name", "rules"],
    "hcloud:index/firewallAttachment:FirewallAttachment": ["firewallId", "labelSelectors", "serverIds"],
} as const;

export type AdoptableType = keyof typeof HCLOUD_INPUTS;

/**
 * What an adopted object keeps declared, and why each is safe:
 * - Server `name`: the check refuses unless the real server has this name (and the
 *   configured public IPv4 and private IP). Type, location, image, backups, labels,
 *   protection, placement group, networks and firewalls stay as they are.
 * - Network `name`, `ipRange`: compared with the real network by the check.
 * - NetworkSubnet `networkId`, `ipRange`: they are its import id (`NETWORKID-IPRANGE`).
 * - ServerNetwork `serverId`, `networkId`: its import id (`SERVERID-NETWORKID`); `ip`: the
 *   check refuses unless the server has this address on this network.
 * - Firewall `rules`: adopting a firewall is how its rules become the configured ones
 *   (22 from the admin CIDRs only, ...): the one intended `~ update` of an adoption,
 *   shown in the preview as a diff of `rules` only.
 * - FirewallAttachment `firewallId`: its import id; `serverIds`: the check refuses unless
 *   the adopted firewall is applied to no server outside this list and to no label selector.
 */
export const ADOPTED_DECLARED: Record<AdoptableType, readonly string[]> = {
    "hcloud:index/server:Server": ["name"],
    "hcloud:index/network:Network": ["name", "ipRange"],
    "hcloud:index/networkSubnet:NetworkSubnet": ["networkId", "ipRange"],
    "hcloud:index/serverNetwork:ServerNetwork": ["serverId", "networkId", "ip"],
    "hcloud:index/firewall:Firewall": ["rules"],
    "hcloud:index/firewallAttachment:FirewallAttachment": ["firewallId", "serverIds"],
};

/**
 * The one intended diff of an adoption, per type: an adopted firewall's `rules` become the
 * configured ones (see ADOPTED_DECLARED). Any other diff on an adopted object is a defect of
 * the config or the program; `npm run plan -- --preview FILE` flags it (scripts/plan/preview.ts).
 */
export const ADOPTED_INTENDED_DIFFS: Partial<Record<AdoptableType, readonly string[]>> = {
    "hcloud:index/firewall:Firewall": ["rules"],
};

/** Is `type` one this stack adopts? */
export function isAdoptableType(type: string): type is AdoptableType {
    return Object.prototype.hasOwnProperty.call(HCLOUD_INPUTS, type);
}

/** The inputs an adopted object of `type` ignores: every input of the schema it does not declare. */
export function adoptedIgnoreChanges(type: AdoptableType): string[] {
    const declared = new Set(ADOPTED_DECLARED[type]);
    return HCLOUD_INPUTS[type].filter((input) => !declared.has(input));
}

/** Resource options of an adopted object: import by id, protected, nothing undeclared ever changed. */
export function adoptedOptions(type: AdoptableType, importId: string): Pick<pulumi.CustomResourceOptions, "import" | "protect" | "ignoreChanges"> {
    return { import: importId, protect: true, ignoreChanges: adoptedIgnoreChanges(type) };
}

/** Import id of a subnet, as the provider documents it: `<network-id>-<ip_range>`. */
export function subnetImportId(networkId: string, ipRange: string): string {
    return `${networkId}-${ipRange}`;
}

/** Import id of a server's attachment to a network: `$SERVER_ID-$NETWORK_ID`. */
export function serverNetworkImportId(serverId: string, networkId: string): string {
    return `${serverId}-${networkId}`;
}

/** Import id of a firewall attachment: the firewall's id. */
export function firewallAttachmentImportId(firewallId: string): string {
    return firewallId;
}
