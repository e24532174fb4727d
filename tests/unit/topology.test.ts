import { ADOPTED_IGNORE_CHANGES } from "../../components/webServer";
import { ANYWHERE, ruleCoversPort } from "../../components/firewalls";
import { productionConfig, withJobsHosts } from "../support/fixtures";
import { Captured, evaluate, valueOf } from "../../scripts/evaluate";

const SERVER = "hcloud:index/server:Server";
const FIREWALL = "hcloud:index/firewall:Firewall";
const ATTACHMENT = "hcloud:index/firewallAttachment:FirewallAttachment";
const SERVER_NETWORK = "hcloud:index/serverNetwork:ServerNetwork";

/** The firewall id each server ends up behind, whether set at creation or attached. */
function firewallOf(server: Captured, all: Captured[], ids: Map<string, number>): number | undefined {
    const atCreation = server.inputs.firewallIds?.[0];
    if (atCreation !== undefined) return atCreation;
    const serverId = server.importId ? Number(server.importId) : ids.get(server.name) ?? Number(server.id);
    return all.filter((r) => r.type === ATTACHMENT).find((a) => a.inputs.serverIds.includes(serverId))?.inputs.firewallId;
}

describe("production topology", () => {
    test("network 10.0.0.0/16 with the cloud subnet 10.0.0.0/24 in eu-central", async () => {
        const e = await evaluate(productionConfig());
        const [net] = e.ofType("hcloud:index/network:Network");
        const [sub] = e.ofType("hcloud:index/networkSubnet:NetworkSubnet");
        expect(net.inputs).toMatchObject({ name: "shred-day", ipRange: "10.0.0.0/16" });
        expect(sub.inputs).toMatchObject({ type: "cloud", ipRange: "10.0.0.0/24", networkZone: "eu-central" });
    });

    test("the web server is adopted by import, protected, never recreated by sshKeys/userData/image", async () => {
        const e = await evaluate(productionConfig());
        const web = e.named("web-server");
        expect(web.importId).toBe("12345678");
        expect(web.protect).toBe(true);
        expect(web.ignoreChanges).toEqual(expect.arrayContaining(["sshKeys", "userData", "image"]));
        expect(web.inputs.name).toBe("shred-day-web");
        // Adoption must not send anything whose change would replace the server.
        expect(web.inputs.sshKeys).toBeUndefined();
        expect(web.inputs.userData).toBeUndefined();
        expect(web.inputs.deleteProtection).toBe(web.inputs.rebuildProtection);
        // It joins the network and its firewall through separate resources.
        const attach = e.named("web-private");
        expect(attach.inputs).toMatchObject({ serverId: 12345678, ip: "10.0.0.3", aliasIps: [] });
        expect(attach.dependsOn).toContain("network-subnet");
        expect(e.named("web-firewall").inputs.serverIds).toEqual([12345678]);
    });

    test("without importId a new web server is created (still protected), with sshKeys and cloud-config", async () => {
        const c = productionConfig();
        delete c.web.importId;
        const e = await evaluate(c);
        const web = e.named("web-server");
        expect(web.importId).toBeUndefined();
        expect(web.protect).toBe(true);
        expect(web.inputs.sshKeys).toEqual(["shred-day-deploy"]);
        expect(web.inputs.userData).toMatch(/^#cloud-config/);
    });

    test("a new jobs server at 10.0.0.2, after the subnet, behind the jobs firewall from first boot", async () => {
        const c = productionConfig();
        delete c.jobs.hosts[0].importId; // production adopts it (tests/unit/adoption.test.ts); here it is created
        const e = await evaluate(c);
        const jobs = e.named("shred-day-jobs-ubuntu-server");
        expect(jobs.inputs.name).toBe("shred-day-jobs-ubuntu");
        expect(jobs.inputs.networks).toEqual([{ networkId: expect.any(Number), ip: "10.0.0.2", aliasIps: [] }]);
        expect(jobs.dependsOn).toContain("network-subnet");
        expect(jobs.inputs.deleteProtection).toBe(jobs.inputs.rebuildProtection);
        // Removing a host from jobs.hosts shuts it down gracefully (workers drain) before deletion.
        expect(jobs.inputs.shutdownBeforeDeletion).toBe(true);
        expect(jobs.inputs.labels).toEqual({ app: "shred-day", "managed-by": "pulumi", role: "jobs" });
        expect(jobs.inputs.userData).toContain("net.ipv4.ip_nonlocal_bind = 1");
        const jobsFw = e.ofType(FIREWALL).find((f) => f.inputs.name === "shred-day-jobs")!;
        expect(jobs.inputs.firewallIds).toHaveLength(1);
        expect(jobsFw.inputs.rules.map((r: any) => r.port)).toEqual(["22"]);
    });

    test("firewalls: web 80/443 from anywhere and 22 from admin CIDRs only; jobs 22 only", async () => {
        const e = await evaluate(productionConfig());
        const byName = Object.fromEntries(e.ofType(FIREWALL).map((f) => [f.inputs.name, f.inputs.rules]));
        expect(byName["shred-day-web"].map((r: any) => [r.port, r.sourceIps])).toEqual([
            ["22", ["203.0.113.7/32"]],
            ["80", ANYWHERE],
            ["443", ANYWHERE],
        ]);
        expect(byName["shred-day-jobs"].map((r: any) => [r.port, r.sourceIps])).toEqual([["22", ["203.0.113.7/32"]]]);
    });

    test("outputs: every host's public and private IP, a ready ssh command, the network id", async () => {
        const e = await evaluate(productionConfig());
        const hosts = e.stack.hosts;
        expect(Object.keys(hosts)).toEqual(["shred-day-web", "shred-day-jobs-ubuntu"]);
        const web = hosts["shred-day-web"];
        const ip = await valueOf(web.publicIp);
        expect(await valueOf(web.ssh)).toBe(`ssh root@${ip}`);
        expect(await valueOf(e.stack.network.networkId)).toEqual(expect.any(Number));
        expect(hosts["shred-day-jobs-ubuntu"].privateIp).toBe("10.0.0.2");
    });
});

describe("nothing reaches Postgres from outside", () => {
    test.each([1, 3])("with %i jobs host(s): no rule covers 5432 and every server has a firewall", async (n) => {
        const e = await evaluate(withJobsHosts(n));
        for (const fw of e.ofType(FIREWALL)) {
            for (const rule of fw.inputs.rules) expect(ruleCoversPort(rule, 5432)).toBe(false);
        }
        const servers = e.ofType(SERVER);
        expect(servers).toHaveLength(n + 1);
        const ids = new Map<string, number>();
        for (const s of servers) expect(firewallOf(s, e.resources, ids)).toEqual(expect.any(Number));
    });

    test("the rule check itself catches ranges and `any`", () => {
        expect(ruleCoversPort({ protocol: "tcp", port: "5000-6000" }, 5432)).toBe(true);
        expect(ruleCoversPort({ protocol: "tcp", port: "any" }, 5432)).toBe(true);
        expect(ruleCoversPort({ protocol: "tcp" }, 5432)).toBe(true);
        expect(ruleCoversPort({ protocol: "tcp", port: "443" }, 5432)).toBe(false);
        expect(ruleCoversPort({ protocol: "icmp" }, 5432)).toBe(false);
    });
});

describe("three jobs hosts", () => {
    test("each its own server at its own private IP; the web host unchanged", async () => {
        const created = productionConfig();
        delete created.jobs.hosts[0].importId; // production adopts it (tests/unit/adoption.test.ts); here all are created
        const one = await evaluate(withJobsHosts(1, created));
        const three = await evaluate(withJobsHosts(3, created));
        const jobs = three.ofType(SERVER).filter((s) => s.inputs.labels.role === "jobs");
        expect(jobs.map((s) => [s.inputs.name, s.inputs.networks[0].ip])).toEqual([
            ["shred-day-jobs-ubuntu", "10.0.0.2"],
            ["shred-day-jobs-2", "10.0.0.4"],
            ["shred-day-jobs-3", "10.0.0.5"],
        ]);
        expect(three.named("web-server").inputs).toEqual(one.named("web-server").inputs);
        expect(Object.keys(three.stack.hosts)).toHaveLength(4);
        // Adding hosts keeps the existing host's resource identity (name) and inputs.
        expect(three.named("shred-day-jobs-ubuntu-server").inputs).toEqual(one.named("shred-day-jobs-ubuntu-server").inputs);
    });
});

describe("adoption never recreates the web server", () => {
    test("changing the keys adoption ignores leaves every web server input as it was", async () => {
        const before = await evaluate(productionConfig());
        const c = productionConfig();
        c.ssh.keyNames = ["another-key"];
        c.web.image = "ubuntu-22.04";
        const after = await evaluate(c);
        const b = before.named("web-server");
        const a = after.named("web-server");
        for (const key of ADOPTED_IGNORE_CHANGES) expect(a.ignoreChanges).toContain(key);
        const { image: _i1, ...bRest } = b.inputs;
        const { image: _i2, ...aRest } = a.inputs;
        expect(aRest).toEqual(bRest);
        expect(a.importId).toBe(b.importId);
    });
});

describe("SERVER_NETWORK", () => {
    test("only the web host and adopted jobs hosts use a separate attachment (new jobs hosts attach at creation)", async () => {
        const e = await evaluate(withJobsHosts(2));
        expect(e.ofType(SERVER_NETWORK).map((r) => r.name).sort()).toEqual(["shred-day-jobs-ubuntu-private", "web-private"]);
    });
});
