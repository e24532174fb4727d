/**
 * A new jobs server is never without a firewall, in every mode (issue 10): with the jobs
 * firewall applied by one FirewallAttachment (a jobs server or the jobs firewall adopted), a new
 * server is created with the boot firewall (no rules) in `firewallIds` and
 * `ignoreRemoteFirewallIds`, and the attachment alone manages jobs firewall <-> server; without
 * adoption, it is created with the jobs firewall itself. A new web server (no web.importId) is
 * created behind the boot firewall too. components/firewalls.ts `BOOT_FIREWALL`
 * cites the provider's source for why the two must never manage one association.
 */
import { Captured, evaluate, Evaluation } from "../../scripts/evaluate";
import { productionConfig, withJobsHosts } from "../support/fixtures";

const SERVER = "hcloud:index/server:Server";
const FIREWALL = "hcloud:index/firewall:Firewall";
const ATTACHMENT = "hcloud:index/firewallAttachment:FirewallAttachment";

/** Every (firewall id, server id) association and what manages it: a server's firewallIds or an attachment. */
function managers(e: Evaluation): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const add = (fw: unknown, server: unknown, by: string) => {
        const key = `${fw}->${server}`;
        out.set(key, [...(out.get(key) ?? []), by]);
    };
    for (const s of e.ofType(SERVER)) {
        if (s.ignoreChanges.includes("firewallIds")) continue; // adopted: its own firewalls are not managed
        for (const fw of s.inputs.firewallIds ?? []) add(fw, Number(s.id), `${s.name}.firewallIds`);
    }
    for (const a of e.ofType(ATTACHMENT)) for (const server of a.inputs.serverIds ?? []) add(a.inputs.firewallId, server, `${a.name}.serverIds`);
    return out;
}

/**
 * What the provider's Read does with the declared state, without conflict:
 * - a FirewallAttachment reads back every server its firewall is applied to, so no server may
 *   apply an attached firewall itself (it would be read into serverIds or removed by the update);
 * - a server reads back every firewall applied to it into firewallIds, so a server that an
 *   attachment names must ignore them (adopted: ignoreChanges; new: ignoreRemoteFirewallIds).
 */
function conflicts(e: Evaluation): string[] {
    const problems: string[] = [];
    for (const [pair, by] of managers(e)) if (by.length > 1) problems.push(`${pair} managed twice: ${by.join(", ")}`);
    const attachedFirewalls = new Set(e.ofType(ATTACHMENT).map((a) => a.inputs.firewallId));
    for (const s of e.ofType(SERVER)) {
        if (s.ignoreChanges.includes("firewallIds")) continue;
        for (const fw of s.inputs.firewallIds ?? []) if (attachedFirewalls.has(fw)) problems.push(`${s.name} applies firewall ${fw} itself, which an attachment also manages`);
        const named = e.ofType(ATTACHMENT).some((a) => (a.inputs.serverIds ?? []).includes(Number(s.id)));
        if (named && s.inputs.ignoreRemoteFirewallIds !== true) problems.push(`${s.name} is named by an attachment but reads every applied firewall into firewallIds (no ignoreRemoteFirewallIds): perpetual diff`);
    }
    return problems;
}

const firewallNamed = (e: Evaluation, name: string): Captured => e.ofType(FIREWALL).find((f) => f.inputs.name === name)!;

describe("the conflict check", () => {
    test("catches the naive fix: a new server applying the jobs firewall itself while the attachment names it", () => {
        const r = (type: string, name: string, id: string, inputs: Record<string, any>, ignoreChanges: string[] = []) => ({ type, name, id, inputs, ignoreChanges }) as unknown as Captured;
        const resources = [
            r(SERVER, "adopted-server", "23456789", {}, ["firewallIds"]),
            r(SERVER, "new-server", "42", { firewallIds: [7] }),
            r(ATTACHMENT, "jobs-firewall", "7", { firewallId: 7, serverIds: [23456789, 42] }),
        ];
        const e = { ofType: (t: string) => resources.filter((x) => x.type === t) } as unknown as Evaluation;
        expect(conflicts(e)).toEqual([
            "7->42 managed twice: new-server.firewallIds, jobs-firewall.serverIds",
            "new-server applies firewall 7 itself, which an attachment also manages",
            "new-server is named by an attachment but reads every applied firewall into firewallIds (no ignoreRemoteFirewallIds): perpetual diff",
        ]);
    });
});

describe("a new jobs server has a firewall from its creation, in every mode", () => {
    test("adopted shred-day-jobs-ubuntu plus a new host: the new one is created with the boot firewall (no rules) and gets the jobs firewall by the one attachment", async () => {
        const e = await evaluate(withJobsHosts(2));
        const adopted = e.named("shred-day-jobs-ubuntu-server");
        const fresh = e.named("shred-day-jobs-2-server");
        expect(adopted.importId).toBe("23456789");
        expect(fresh.importId).toBeUndefined();

        const boot = firewallNamed(e, "shred-day-boot");
        expect(boot.inputs.rules).toEqual([]); // nothing gets in
        expect(fresh.inputs.firewallIds).toEqual([Number(boot.id)]);
        expect(fresh.inputs.ignoreRemoteFirewallIds).toBe(true);
        expect(fresh.ignoreChanges).toEqual(["firewallIds"]); // never updated to drop the attached jobs firewall
        // the server exists only after the boot firewall (its id is an input of the create)
        expect(fresh.inputDependsOn).toContain(boot.name);

        const jobs = firewallNamed(e, "shred-day-jobs");
        const attachment = e.named("shred-day-jobs-firewall");
        expect(attachment.inputs.firewallId).toBe(Number(jobs.id));
        expect(attachment.inputs.serverIds).toEqual([23456789, Number(fresh.id)]);
        expect(conflicts(e)).toEqual([]);

        // the adopted server is not updated to get any firewall
        expect(adopted.inputs.firewallIds).toBeUndefined();
        expect(adopted.ignoreChanges).toEqual(expect.arrayContaining(["firewallIds", "ignoreRemoteFirewallIds"]));
    });

    test("the new host's first SSH step waits for the jobs firewall attachment (the boot firewall lets nothing in)", async () => {
        const e = await evaluate(withJobsHosts(2));
        const ready = e.resources.filter((r) => r.type === "command:remote:Command" && r.name.includes("shred-day-jobs-2") && r.name.includes("ready"));
        expect(ready.length).toBe(1);
        expect(ready[0].dependsOn).toContain("shred-day-jobs-firewall");
    });

    test("an adopted jobs firewall: the same, with the attachment imported by the firewall's id", async () => {
        const c = withJobsHosts(2);
        c.firewalls = { jobs: { importId: "777" } };
        const e = await evaluate(c);
        const fresh = e.named("shred-day-jobs-2-server");
        expect(fresh.inputs.firewallIds).toEqual([Number(firewallNamed(e, "shred-day-boot").id)]);
        const attachment = e.named("shred-day-jobs-firewall");
        expect(attachment.importId).toBe("777");
        expect(attachment.inputs.serverIds).toEqual([23456789, Number(fresh.id)]);
        expect(conflicts(e)).toEqual([]);
    });

    test("nothing adopted: new jobs servers get the jobs firewall itself at creation, no attachment and no boot firewall", async () => {
        const c = withJobsHosts(2);
        for (const h of c.jobs.hosts) {
            delete h.importId;
            delete h.publicIp;
            delete h.hostKey;
        }
        const e = await evaluate(c);
        const jobs = firewallNamed(e, "shred-day-jobs");
        for (const name of ["shred-day-jobs-ubuntu-server", "shred-day-jobs-2-server"]) {
            expect(e.named(name).inputs.firewallIds).toEqual([Number(jobs.id)]);
            expect(e.named(name).inputs.ignoreRemoteFirewallIds).toBeUndefined();
            expect(e.named(name).ignoreChanges).toEqual([]);
        }
        expect(e.ofType(ATTACHMENT).map((a) => a.name)).toEqual(["web-firewall"]);
        expect(firewallNamed(e, "shred-day-boot")).toBeUndefined();
        expect(conflicts(e)).toEqual([]);
    });

    test("only adopted jobs servers: no boot firewall is made (nothing new to protect)", async () => {
        const e = await evaluate(productionConfig());
        expect(e.ofType(FIREWALL).map((f) => f.inputs.name).sort()).toEqual(["shred-day-jobs", "shred-day-web"]);
        expect(conflicts(e)).toEqual([]);
    });

    test("every jobs server created by the program has a firewall in its create inputs, in every mode", async () => {
        const modes = [withJobsHosts(3), (() => { const c = withJobsHosts(3); c.firewalls = { jobs: { importId: "777" } }; return c; })()];
        for (const c of modes) {
            const e = await evaluate(c);
            const created = e.ofType(SERVER).filter((s) => s.importId === undefined && s.inputs.labels?.role === "jobs");
            expect(created.length).toBe(2);
            for (const s of created) expect([s.name, (s.inputs.firewallIds ?? []).length]).toEqual([s.name, 1]);
        }
    });
});

describe("a new web server has a firewall from its creation too", () => {
    /** A stack built from nothing (disaster recovery): no server, network or firewall adopted. */
    const fromNothing = () => {
        const c = productionConfig();
        delete c.web.importId;
        delete c.web.hostKey;
        delete c.network.importId;
        for (const h of c.jobs.hosts) {
            delete h.importId;
            delete h.publicIp;
            delete h.hostKey;
        }
        return c;
    };

    test("created behind the boot firewall (no rules); the web firewall comes by its attachment alone; no association has two managers", async () => {
        const e = await evaluate(fromNothing());
        const web = e.named("web-server");
        expect(web.importId).toBeUndefined();
        const boot = firewallNamed(e, "shred-day-boot");
        expect(boot.inputs.rules).toEqual([]);
        expect(web.inputs.firewallIds).toEqual([Number(boot.id)]);
        expect(web.inputs.ignoreRemoteFirewallIds).toBe(true);
        expect(web.ignoreChanges).toContain("firewallIds");
        const attachment = e.named("web-firewall");
        expect(attachment.inputs.firewallId).toBe(Number(firewallNamed(e, "shred-day-web").id));
        expect(attachment.inputs.serverIds).toEqual([Number(web.id)]);
        expect(conflicts(e)).toEqual([]);
    });

    test("its first SSH step waits for the web firewall attachment (the boot firewall lets nothing in)", async () => {
        const e = await evaluate(fromNothing());
        const ready = e.resources.filter((r) => r.type === "command:remote:Command" && r.name.includes("shred-day-web") && r.name.includes("ready"));
        expect(ready.length).toBe(1);
        expect(ready[0].dependsOn).toContain("web-firewall");
    });

    test("the adopted web server is never given firewallIds (its applied firewalls are checked, not changed)", async () => {
        const e = await evaluate(productionConfig());
        const web = e.named("web-server");
        expect(web.importId).toBe("12345678");
        expect(web.inputs.firewallIds).toBeUndefined();
        expect(web.ignoreChanges).toContain("firewallIds");
    });
});

