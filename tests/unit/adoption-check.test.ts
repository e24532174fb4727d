/**
 * The check before any change: each adopted server is the host the config names (public
 * IPv4, name, private IP on the adopted network) and no unmanaged firewall is applied to it.
 * First as a pure function on facts, then through the provider's data sources on mocks
 * (mocked invokes), then as index.ts runs it: a refusal registers no resource at all.
 */
import * as pulumi from "@pulumi/pulumi";
import { spawnSync } from "child_process";
import * as path from "path";
import { adoptionProblems, Facts, lookupFacts, verifyAdoption } from "../../stacks/adoptionCheck";
import { parseConfig } from "../../stacks/config";
import { productionConfig } from "../support/fixtures";
import { GET_FIREWALL, GET_NETWORK, GET_SERVER, hcloudCall, HcloudWorld, productionWorld } from "./adoptionMocks";

async function mockWorld(world: HcloudWorld, calls: { token: string; id: string }[] = [], registered: string[] = []) {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered.push(args.name);
                return { id: "1", state: { ...args.inputs, ipv4Address: "192.0.2.1" } };
            },
            call: (args) => hcloudCall(world, calls)(args) ?? args.inputs,
        },
        "shred-day",
        "production",
    );
}

async function problemsFor(world: HcloudWorld, raw = productionConfig()): Promise<string[]> {
    await mockWorld(world);
    const config = parseConfig(raw);
    return adoptionProblems(config, await lookupFacts(config));
}

const ownWebFirewall = { id: 900, name: "shred-day-web", labels: { app: "shred-day", "managed-by": "pulumi", role: "web" }, rules: [], applyTos: [{ server: 12345678, labelSelector: "" }] };
const oldFirewall = {
    id: 77,
    name: "kamal-era",
    labels: {},
    rules: [{ direction: "in", protocol: "tcp", port: "22", sourceIps: ["0.0.0.0/0", "::/0"] }],
    applyTos: [{ server: 12345678, labelSelector: "" }],
};

describe("the data sources it reads (mocked invokes)", () => {
    test("reads the network, each adopted server and every firewall applied to them, by id", async () => {
        const world = productionWorld();
        world.servers["12345678"].firewallIds = [77];
        world.firewalls["77"] = oldFirewall;
        const calls: { token: string; id: string }[] = [];
        await mockWorld(world, calls);
        const facts: Facts = await lookupFacts(parseConfig(productionConfig()));
        expect(calls).toEqual([
            { token: GET_NETWORK, id: "4711" },
            { token: GET_SERVER, id: "12345678" },
            { token: GET_SERVER, id: "23456789" },
            { token: GET_FIREWALL, id: "77" },
        ]);
        expect(facts.servers["12345678"]).toMatchObject({ ipv4Address: "91.99.62.190", firewallIds: [77], networks: [{ networkId: 4711, ip: "10.0.0.3" }] });
    });

    test("today's production as the config names it: no problem", async () => {
        expect(await problemsFor(productionWorld())).toEqual([]);
    });

    test("nothing adopted: reads nothing", async () => {
        const calls: { token: string; id: string }[] = [];
        await mockWorld(productionWorld(), calls);
        const raw = productionConfig();
        delete raw.network.importId;
        delete raw.web.importId;
        delete raw.jobs.hosts[0].importId;
        await verifyAdoption(parseConfig(raw));
        expect(calls).toEqual([]);
    });
});

describe("refusals: the key, what was found, the fix", () => {
    test("web.importId of another server (its public IPv4 is not web.publicIp)", async () => {
        const world = productionWorld();
        world.servers["12345678"].ipv4Address = "198.51.100.9";
        world.servers["12345678"].name = "someone-else";
        const p = await problemsFor(world);
        expect(p).toEqual([
            'shred-day:web.importId = "12345678": server 12345678 ("someone-else", 198.51.100.9) has the public IPv4 198.51.100.9, not web.publicIp 91.99.62.190: this id is another server; use the id of 91.99.62.190 (`hcloud server list -o columns=id,name,ipv4`), or correct web.publicIp if the server moved',
        ]);
    });

    test("an id that does not exist", async () => {
        const world = productionWorld();
        delete world.servers["23456789"];
        // (the mocks drop the provider's error text: the real one says e.g. "no Server found with id 23456789")
        expect(await problemsFor(world)).toEqual([
            'shred-day:jobs.hosts[0].importId = "23456789": no such server in this hcloud project (the provider said: Error); find the id of 203.0.113.20 with `hcloud server list -o columns=id,name,ipv4`',
        ]);
    });

    test("another name (adoption never renames) and another private IP (never moves)", async () => {
        const world = productionWorld();
        world.servers["23456789"].name = "jobs-old";
        world.servers["23456789"].networks[0].ip = "10.0.0.7";
        const p = await problemsFor(world);
        expect(p).toContain('shred-day:jobs.hosts[0].name = "shred-day-jobs-ubuntu": server 23456789 ("jobs-old", 203.0.113.20) is named "jobs-old"; set jobs.hosts[0].name to "jobs-old" (adoption never renames)');
        expect(p).toContain('shred-day:jobs.hosts[0].privateIp = "10.0.0.2": server 23456789 ("jobs-old", 203.0.113.20) is on network 4711 at 10.0.0.7; set jobs.hosts[0].privateIp to 10.0.0.7 (adoption never moves a server)');
    });

    test("an adopted server already on a network while network.importId is missing (networks_overlap)", async () => {
        const raw = productionConfig();
        delete raw.network.importId;
        const p = await problemsFor(productionWorld(), raw);
        expect(p).toContain(
            'shred-day:network.importId = missing: server 12345678 ("shred-day-web", 91.99.62.190) (web) is already on network 4711 at 10.0.0.3; a second network overlapping it is refused by Hetzner (networks_overlap): set network.importId to 4711 to adopt it',
        );
    });

    test("the network's name or range differs", async () => {
        const world = productionWorld();
        world.networks["4711"].name = "prod-net";
        const p = await problemsFor(world);
        expect(p).toEqual(['shred-day:network.name = "shred-day": network 4711 is named "prod-net"; set network.name to "prod-net" (adoption never renames)']);
    });

    test("an unmanaged firewall applied to the web server: its rules would stay in force", async () => {
        const world = productionWorld();
        world.servers["12345678"].firewallIds = [77];
        world.firewalls["77"] = oldFirewall;
        const p = await problemsFor(world);
        expect(p).toEqual([
            'shred-day:firewalls.web.importId = missing: server 12345678 ("shred-day-web", 91.99.62.190) (web) has firewall 77 ("kamal-era": tcp 22 from 0.0.0.0/0 ::/0) applied, which this stack does not manage; Hetzner combines the rules of every applied firewall, so its rules would stay in force beside the web firewall\'s. Adopt it (`pulumi config set --path shred-day:firewalls.web.importId 77`: its rules become the configured ones) or remove it from the server (`hcloud firewall remove-from-resource 77 --type server --server 12345678`)',
        ]);
    });

    test("the same firewall adopted: no problem; the stack's own firewall from an earlier run: no problem", async () => {
        const world = productionWorld();
        world.servers["12345678"].firewallIds = [77];
        world.firewalls["77"] = oldFirewall;
        const raw = productionConfig();
        raw.firewalls = { web: { importId: "77" } };
        expect(await problemsFor(world, raw)).toEqual([]);
        const world2 = productionWorld();
        world2.servers["12345678"].firewallIds = [900];
        world2.firewalls["900"] = ownWebFirewall;
        expect(await problemsFor(world2)).toEqual([]);
    });

    test("the stack's own jobs firewall on the web server is not the web firewall", async () => {
        const world = productionWorld();
        world.servers["12345678"].firewallIds = [901];
        world.firewalls["901"] = { ...ownWebFirewall, id: 901, name: "shred-day-jobs", labels: { ...ownWebFirewall.labels, role: "jobs" } };
        const p = await problemsFor(world);
        expect(p).toHaveLength(1);
        expect(p[0]).toMatch(/^shred-day:firewalls\.web\.importId = missing: .* has firewall 901 \("shred-day-jobs": no inbound rules\) applied/);
    });

    test("an adopted firewall applied elsewhere or by label selector: the attachment would take it away there", async () => {
        const world = productionWorld();
        world.servers["12345678"].firewallIds = [77];
        world.firewalls["77"] = { ...oldFirewall, applyTos: [{ server: 12345678, labelSelector: "" }, { server: 31337, labelSelector: "" }, { server: 0, labelSelector: "env=prod" }] };
        const raw = productionConfig();
        raw.firewalls = { web: { importId: "77" } };
        const p = await problemsFor(world, raw);
        expect(p).toEqual([
            'shred-day:firewalls.web.importId = "77": firewall "kamal-era" is also applied to server 31337, which is not an adopted web server of this stack; the web attachment would remove it from there: remove it from that server first, or adopt another firewall',
            'shred-day:firewalls.web.importId = "77": firewall "kamal-era" is applied by the label selector "env=prod"; this stack applies it to its web servers only and would remove the selector: remove it first (`hcloud firewall remove-from-resource 77 --type label_selector --label-selector \'env=prod\'`)',
        ]);
    });
});

describe("index.ts: a refusal comes before any change", () => {
    /** index.ts in its own process (an unhandled rejection fails the program there, as under the engine). */
    function runIndex(world: HcloudWorld): { registered: string[]; errors: string[]; log: string } {
        const r = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin"), "-T", path.join(__dirname, "adoptionIndexRun.ts"), JSON.stringify(world)], {
            encoding: "utf8",
            timeout: 110_000,
            env: { ...process.env, SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK ?? "/nonexistent-agent" },
        });
        // (a refused program exits non-zero: the runtime reports the registrations left waiting)
        const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
        if (line === undefined) throw new Error(`adoptionIndexRun printed no RESULT: ${r.stdout}\n${r.stderr}`);
        return { ...JSON.parse(line.slice("RESULT ".length)), log: r.stdout };
    }

    test("wrong web server: nothing is registered (no import, no create), and the error says why", () => {
        const world = productionWorld();
        world.servers["12345678"].ipv4Address = "198.51.100.9";
        const r = runIndex(world);
        expect(r.registered).toEqual([]);
        expect(r.errors.join("\n")).toContain('Adoption refused before any change (nothing was imported, created or changed)');
        expect(r.errors.join("\n")).toContain('shred-day:web.importId = "12345678": server 12345678 ("shred-day-web", 198.51.100.9) has the public IPv4 198.51.100.9');
    }, 120_000);

    test("the real production: the stack registers, the adopted objects among them", () => {
        const r = runIndex(productionWorld());
        expect(r.errors).toEqual([]);
        expect(r.registered).toEqual(expect.arrayContaining(["network-network", "web-server", "shred-day-jobs-ubuntu-server"]));
        expect(r.log).toContain('adoption: web = server 12345678 ("shred-day-web", 91.99.62.190, 10.0.0.3): checked');
    }, 120_000);

    test("verifyAdoption rejects with every problem in one message", async () => {
        const world = productionWorld();
        world.servers["12345678"].name = "x";
        world.networks["4711"].ipRange = "10.1.0.0/16";
        await mockWorld(world);
        await expect(verifyAdoption(parseConfig(productionConfig()))).rejects.toThrow(/2 problem\(s\):\n  - shred-day:network\.ipRange = .*\n  - shred-day:web\.name = /);
    });
});
