/**
 * HCLOUD_INPUTS must be the installed provider's inputs: read each `...Args` interface from
 * node_modules/@pulumi/hcloud (generated from pulumi/pulumi-hcloud's schema.json). A provider
 * upgrade that adds an input fails here until adoption.ts declares or ignores it, so an
 * import can never send a new input the real object does not have.
 */
import * as fs from "fs";
import * as path from "path";
import { AdoptableType, HCLOUD_INPUTS } from "../../components/adoption";

const PKG = path.dirname(require.resolve("@pulumi/hcloud/package.json"));

const FILES: Record<AdoptableType, [string, string]> = {
    "hcloud:index/server:Server": ["server.d.ts", "ServerArgs"],
    "hcloud:index/network:Network": ["network.d.ts", "NetworkArgs"],
    "hcloud:index/networkSubnet:NetworkSubnet": ["networkSubnet.d.ts", "NetworkSubnetArgs"],
    "hcloud:index/serverNetwork:ServerNetwork": ["serverNetwork.d.ts", "ServerNetworkArgs"],
    "hcloud:index/firewall:Firewall": ["firewall.d.ts", "FirewallArgs"],
    "hcloud:index/firewallAttachment:FirewallAttachment": ["firewallAttachment.d.ts", "FirewallAttachmentArgs"],
};

/** Top-level property names of `export interface <name> { ... }` in a .d.ts. */
function interfaceProperties(file: string, name: string): string[] {
    const text = fs.readFileSync(path.join(PKG, file), "utf8");
    const start = text.indexOf(`export interface ${name} {`);
    if (start < 0) throw new Error(`no interface ${name} in ${file}`);
    const body = text.slice(start, text.indexOf("\n}", start));
    return [...body.matchAll(/^ {4}([a-zA-Z]+)\??:/gm)].map((m) => m[1]).sort();
}

describe("HCLOUD_INPUTS is the installed @pulumi/hcloud's schema", () => {
    test("the installed provider is the one package.json pins", () => {
        const pinned = require("../../package.json").dependencies["@pulumi/hcloud"];
        expect(require("@pulumi/hcloud/package.json").version).toBe(pinned);
    });

    test.each(Object.entries(FILES))("%s", (type, [file, args]) => {
        expect([...HCLOUD_INPUTS[type as AdoptableType]].sort()).toEqual(interfaceProperties(file, args));
    });

    test("the import id formats are the ones the provider documents", () => {
        const doc = (file: string) => fs.readFileSync(path.join(PKG, file), "utf8");
        expect(doc("networkSubnet.d.ts")).toContain("`<network-id>-<ip_range>`");
        expect(doc("serverNetwork.d.ts")).toContain('"$SERVER_ID-$NETWORK_ID"');
        expect(doc("firewallAttachment.d.ts")).toContain("Firewall Attachments can be imported using the `id` of the firewall");
        expect(doc("server.d.ts")).toContain("Servers can be imported using the server `id`");
        expect(doc("network.d.ts")).toContain("Networks can be imported using its `id`");
        expect(doc("firewall.d.ts")).toContain("Firewalls can be imported using its `id`");
    });
});
