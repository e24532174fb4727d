import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { adoptedOptions, firewallAttachmentImportId } from "./adoption";

/** One inbound rule, as hcloud takes it. */
export interface FirewallRule {
    direction: "in";
    protocol: "tcp" | "udp" | "icmp";
    port?: string;
    sourceIps: string[];
    description: string;
}

export const ANYWHERE = ["0.0.0.0/0", "::/0"];

/**
 * The inbound rules of each role. Hetzner Cloud Firewalls filter the public interface only;
 * the private network is not filtered, which is why Postgres is published on the private
 * address alone and no rule here ever opens 5432.
 */
export function firewallRules(role: "web" | "jobs", adminCidrs: string[]): FirewallRule[] {
    const ssh: FirewallRule = { direction: "in", protocol: "tcp", port: "22", sourceIps: [...adminCidrs], description: "SSH from admin ranges" };
    if (role === "jobs") {
        return [ssh];
    }
    return [
        ssh,
        { direction: "in", protocol: "tcp", port: "80", sourceIps: [...ANYWHERE], description: "HTTP (kamal-proxy)" },
        { direction: "in", protocol: "tcp", port: "443", sourceIps: [...ANYWHERE], description: "HTTPS (kamal-proxy)" },
    ];
}

/** Does a rule's port field ("22", "80-85", "any", unset) cover `port`? */
export function ruleCoversPort(rule: { protocol: string; port?: string }, port: number): boolean {
    if (rule.protocol !== "tcp" && rule.protocol !== "udp") return false;
    if (rule.port === undefined || rule.port === "any") return true;
    const [from, to] = rule.port.split("-").map(Number);
    return port >= from && port <= (to ?? from);
}

export interface FirewallsArgs {
    adminCidrs: string[];
    labels: Record<string, string>;
    /** hcloud ids of existing firewalls to adopt, per role; a role without one gets a new firewall. */
    importIds?: { web?: string; jobs?: string };
    /**
     * Also make the boot firewall: no rules, so it lets nothing in. A new server that gets its
     * role's firewall through a FirewallAttachment is created with this one (`firewallIds`), so
     * it is never without a firewall before the attachment applies (see `BOOT_FIREWALL`).
     */
    boot?: boolean;
}

/**
 * Why a boot firewall, and not the role's own firewall at creation, for a server whose role
 * firewall is applied by a FirewallAttachment (hetznercloud/terraform-provider-hcloud, the
 * provider behind @pulumi/hcloud):
 * - the attachment reads back EVERY server its firewall is applied to, however it was applied
 *   (internal/firewall/attachment_resource.go `readAttachment` -> `FromFirewall` over
 *   `fw.AppliedTo`), and its update removes any server it does not list (`updateAttachment`:
 *   `DiffResources`, then `RemoveResources`). So a server that applied the jobs firewall itself
 *   (`firewallIds`) must also be listed by the attachment, or the two fight forever;
 * - listed by both, the attachment's create applies the firewall to a server that already has
 *   it; `createAttachment` treats `firewall_already_applied` as done and only reads back, so the
 *   other servers of that one request (the adopted ones) would not get it;
 * - a server reads back every firewall applied to it into `firewall_ids`, and its update removes
 *   every one not declared (internal/server/resource.go `resourceServerUpdate`,
 *   `d.HasChange("firewall_ids")` -> `RemoveResources`), unless `ignore_remote_firewall_ids`
 *   suppresses that diff (its `DiffSuppressFunc`).
 * The provider's documented way ("Ensure a server is attached to a Firewall on first boot",
 * docs/resources/firewall_attachment.md; the same text in pulumi/pulumi-hcloud's
 * FirewallAttachment docs) is two firewalls: the server is created with a deny-all firewall in
 * `firewallIds` and `ignoreRemoteFirewallIds: true`, and the attachment alone manages the real
 * firewall (components/jobsServer.ts also sets `ignoreChanges: ["firewallIds"]` on such a server,
 * so no update of it can ever drop the attached firewall). Each association has exactly one manager; the rules of all applied firewalls
 * combine (a union of what they allow), so the empty boot firewall adds nothing once the role's
 * firewall is applied, and lets nothing in before.
 */
export const BOOT_FIREWALL = "boot";

/**
 * The web and jobs firewalls. Servers attach themselves (new jobs servers at creation, the
 * web server and adopted servers through `attachFirewall`).
 *
 * An adopted firewall (`importIds`) is imported by id and protected; its name, labels and
 * where it is applied stay as they are, and its rules become the configured ones: that is
 * why one adopts it (an old firewall that allows 22 from anywhere keeps allowing it while it
 * is applied, since Hetzner combines the rules of every applied firewall).
 */
export class Firewalls extends pulumi.ComponentResource {
    readonly web: hcloud.Firewall;
    readonly jobs: hcloud.Firewall;
    readonly webId: pulumi.Output<number>;
    readonly jobsId: pulumi.Output<number>;
    /** The boot firewall (no rules), when asked for. */
    readonly boot?: hcloud.Firewall;
    readonly bootId?: pulumi.Output<number>;

    constructor(name: string, args: FirewallsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:network:Firewalls", name, {}, opts);
        const options = (importId: string | undefined): pulumi.CustomResourceOptions =>
            importId === undefined ? { parent: this } : { parent: this, ...adoptedOptions("hcloud:index/firewall:Firewall", importId) };
        this.web = new hcloud.Firewall(
            `${name}-web`,
            { name: `${name}-web`, labels: { ...args.labels, role: "web" }, rules: firewallRules("web", args.adminCidrs) },
            options(args.importIds?.web),
        );
        this.jobs = new hcloud.Firewall(
            `${name}-jobs`,
            { name: `${name}-jobs`, labels: { ...args.labels, role: "jobs" }, rules: firewallRules("jobs", args.adminCidrs) },
            options(args.importIds?.jobs),
        );
        this.webId = this.web.id.apply((id) => Number(id));
        this.jobsId = this.jobs.id.apply((id) => Number(id));
        if (args.boot) {
            this.boot = new hcloud.Firewall(
                `${name}-${BOOT_FIREWALL}`,
                // no rules: all inbound traffic on the public interface is dropped
                { name: `${name}-${BOOT_FIREWALL}`, labels: { ...args.labels, role: BOOT_FIREWALL }, rules: [] },
                { parent: this },
            );
            this.bootId = this.boot.id.apply((id) => Number(id));
        }
        this.registerOutputs({ webId: this.webId, jobsId: this.jobsId, bootId: this.bootId });
    }
}

export interface AttachFirewallArgs {
    firewallId: pulumi.Input<number>;
    serverIds: pulumi.Input<number>[];
    /** The adopted firewall's id: its attachment (the servers it is applied to) is imported, not created. */
    importId?: string;
}

/**
 * Apply a firewall to servers, as one FirewallAttachment (the provider allows one per
 * firewall: hetznercloud/terraform-provider-hcloud internal/firewall/attachment_resource.go
 * reads every server the firewall is applied to). For an adopted firewall it is imported by
 * the firewall's id; the adoption check has refused a firewall applied anywhere else.
 */
export function attachFirewall(name: string, args: AttachFirewallArgs, opts: pulumi.CustomResourceOptions): hcloud.FirewallAttachment {
    return new hcloud.FirewallAttachment(
        name,
        { firewallId: args.firewallId, serverIds: args.serverIds },
        args.importId === undefined
            ? opts
            : { ...opts, ...adoptedOptions("hcloud:index/firewallAttachment:FirewallAttachment", firewallAttachmentImportId(args.importId)) },
    );
}
