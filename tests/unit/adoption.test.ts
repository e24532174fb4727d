/**
 * Adoption on mocks: every existing object of today's production is imported by the id
 * format the provider documents, protected, and declares nothing that would differ from
 * the real object (so `pulumi up` shows `= import`, never `~ update` or `+-replace`).
 */
import { ADOPTED_DECLARED, adoptedIgnoreChanges, AdoptableType, HCLOUD_INPUTS } from "../../components/adoption";
import { Captured, evaluate } from "../../scripts/evaluate";
import { productionConfig, withJobsHosts } from "../support/fixtures";
import { productionWorld } from "./adoptionMocks";

const T = {
    server: "hcloud:index/server:Server",
    network: "hcloud:index/network:Network",
    subnet: "hcloud:index/networkSubnet:NetworkSubnet",
    serverNetwork: "hcloud:index/serverNetwork:ServerNetwork",
    firewall: "hcloud:index/firewall:Firewall",
    attachment: "hcloud:index/firewallAttachment:FirewallAttachment",
} as const;

/**
 * What an import would diff: every declared input that is not ignored, compared with the
 * real object's value. The provider diffs exactly those (ignored inputs are taken from the
 * real object on import).
 */
function importDiff(r: Captured, real: Record<string, unknown>): string[] {
    const ignored = new Set(r.ignoreChanges);
    return Object.keys(r.inputs)
        .filter((key) => !ignored.has(key) && !key.startsWith("__"))
        .filter((key) => JSON.stringify(r.inputs[key]) !== JSON.stringify(real[key]))
        .map((key) => `${r.name}.${key}: declared ${JSON.stringify(r.inputs[key])}, real ${JSON.stringify(real[key])}`);
}

describe("today's production is adopted, not created", () => {
    test("network by id, subnet by NETWORKID-IPRANGE, both protected", async () => {
        const e = await evaluate(productionConfig());
        const net = e.named("network-network");
        const sub = e.named("network-subnet");
        expect([net.importId, net.protect]).toEqual(["4711", true]);
        expect([sub.importId, sub.protect]).toEqual(["4711-10.0.0.0/24", true]);
        expect(net.ignoreChanges.sort()).toEqual(["deleteProtection", "exposeRoutesToVswitch", "labels"]);
        expect(sub.ignoreChanges.sort()).toEqual(["networkZone", "type", "vswitchId"]);
    });

    test("web server by id and its attachment by SERVERID-NETWORKID, protected", async () => {
        const e = await evaluate(productionConfig());
        const web = e.named("web-server");
        const attach = e.named("web-private");
        expect([web.importId, web.protect]).toEqual(["12345678", true]);
        expect([attach.importId, attach.protect]).toEqual(["12345678-4711", true]);
        expect(attach.inputs).toMatchObject({ serverId: 12345678, networkId: 4711, ip: "10.0.0.3" });
    });

    test("jobs server shred-day-jobs-ubuntu by id and its attachment, protected; no second server of that name is created", async () => {
        const e = await evaluate(productionConfig());
        const jobs = e.named("shred-day-jobs-ubuntu-server");
        const attach = e.named("shred-day-jobs-ubuntu-private");
        expect([jobs.importId, jobs.protect]).toEqual(["23456789", true]);
        expect([attach.importId, attach.protect]).toEqual(["23456789-4711", true]);
        // created servers: none (both servers are adopted)
        expect(e.ofType(T.server).filter((s) => s.importId === undefined)).toEqual([]);
        // the jobs firewall reaches it by one attachment, not by an update of the adopted server
        expect(jobs.inputs.firewallIds).toBeUndefined();
        expect(e.named("shred-day-jobs-firewall").inputs.serverIds).toEqual([23456789]);
    });

    test("an adopted server ignores every Server input of the provider schema but its checked name", async () => {
        const e = await evaluate(productionConfig());
        for (const name of ["web-server", "shred-day-jobs-ubuntu-server"]) {
            const s = e.named(name);
            const ignored = new Set(s.ignoreChanges);
            for (const input of HCLOUD_INPUTS[T.server]) expect([input, ignored.has(input)]).toEqual([input, input !== "name"]);
            // the things an import+update would have done to it
            for (const risky of ["backups", "serverType", "labels", "sshKeys", "userData", "image", "placementGroupId", "deleteProtection", "rebuildProtection"]) {
                expect(ignored.has(risky)).toBe(true);
            }
        }
    });

    test("no declared input differs from the real objects: the import would be clean (= import only)", async () => {
        const e = await evaluate(productionConfig());
        const world = productionWorld();
        const webReal = world.servers["12345678"];
        const jobsReal = world.servers["23456789"];
        const diffs = [
            ...importDiff(e.named("network-network"), world.networks["4711"]),
            ...importDiff(e.named("network-subnet"), { networkId: 4711, ipRange: "10.0.0.0/24" }),
            ...importDiff(e.named("web-server"), webReal),
            ...importDiff(e.named("web-private"), { serverId: 12345678, networkId: 4711, ip: webReal.networks[0].ip }),
            ...importDiff(e.named("shred-day-jobs-ubuntu-server"), jobsReal),
            ...importDiff(e.named("shred-day-jobs-ubuntu-private"), { serverId: 23456789, networkId: 4711, ip: jobsReal.networks[0].ip }),
        ];
        expect(diffs).toEqual([]);
    });

    test("the diff check itself sees a declared value that differs (a backups input that was not ignored)", async () => {
        const e = await evaluate(productionConfig());
        const web = { ...e.named("web-server") };
        web.inputs = { ...web.inputs, backups: false };
        web.ignoreChanges = web.ignoreChanges.filter((i) => i !== "backups");
        expect(importDiff(web, productionWorld().servers["12345678"])).toEqual(["web-server.backups: declared false, real true"]);
    });

    test("adopted firewalls: by id, protected, rules enforced; their attachments imported by the firewall's id", async () => {
        const c = productionConfig();
        c.firewalls = { web: { importId: "555" }, jobs: { importId: "556" } };
        const e = await evaluate(c);
        const byName = (n: string) => e.ofType(T.firewall).find((f) => f.inputs.name === n)!;
        const webFw = byName("shred-day-web");
        const jobsFw = byName("shred-day-jobs");
        expect([webFw.importId, webFw.protect, jobsFw.importId, jobsFw.protect]).toEqual(["555", true, "556", true]);
        expect(webFw.ignoreChanges.sort()).toEqual(["applyTos", "labels", "name"]);
        expect(webFw.inputs.rules.map((r: any) => r.port)).toEqual(["22", "80", "443"]);
        const webAtt = e.named("web-firewall");
        const jobsAtt = e.named("shred-day-jobs-firewall");
        expect([webAtt.importId, webAtt.protect, webAtt.inputs.firewallId, webAtt.inputs.serverIds]).toEqual(["555", true, 555, [12345678]]);
        expect([jobsAtt.importId, jobsAtt.protect, jobsAtt.inputs.firewallId]).toEqual(["556", true, 556]);
        expect(jobsAtt.ignoreChanges).toEqual(["labelSelectors"]);
    });

    test("scaling out beside an adopted jobs server: the new one is created, unprotected, and joins the one jobs attachment", async () => {
        const e = await evaluate(withJobsHosts(2));
        const created = e.named("shred-day-jobs-2-server");
        expect([created.importId, created.protect]).toEqual([undefined, false]);
        expect(created.inputs.networks).toEqual([{ networkId: 4711, ip: "10.0.0.4", aliasIps: [] }]);
        expect(e.named("shred-day-jobs-firewall").inputs.serverIds).toEqual([23456789, Number(created.id)]);
    });
});

describe("where no id is given, objects are created as before", () => {
    test("no network.importId, web.importId, jobs importId: nothing imported, new jobs server behind its firewall from first boot", async () => {
        const c = productionConfig();
        delete c.network.importId;
        delete c.web.importId;
        delete c.jobs.hosts[0].importId;
        const e = await evaluate(c);
        expect(e.resources.filter((r) => r.importId !== undefined).map((r) => r.name)).toEqual([]);
        const jobs = e.named("shred-day-jobs-ubuntu-server");
        expect(jobs.inputs.firewallIds).toHaveLength(1);
        expect(e.resources.some((r) => r.name === "shred-day-jobs-firewall")).toBe(false);
        expect(e.named("network-network").protect).toBe(false);
    });

    test("an adopted web server on a new network: its attachment is created, not imported", async () => {
        const c = productionConfig();
        delete c.network.importId;
        const e = await evaluate(c);
        expect(e.named("web-server").importId).toBe("12345678");
        expect(e.named("web-private").importId).toBeUndefined();
        expect(e.named("network-subnet").importId).toBeUndefined();
    });
});

describe("the declared/ignored split", () => {
    test.each(Object.keys(HCLOUD_INPUTS) as AdoptableType[])("%s: declared + ignored = the schema's inputs, disjoint", (type) => {
        const ignored = adoptedIgnoreChanges(type);
        const declared = ADOPTED_DECLARED[type];
        for (const d of declared) expect(HCLOUD_INPUTS[type]).toContain(d);
        expect(ignored.filter((i) => declared.includes(i))).toEqual([]);
        expect([...ignored, ...declared].sort()).toEqual([...HCLOUD_INPUTS[type]].sort());
    });
});
