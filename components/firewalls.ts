import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";

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
}

/** The web and jobs firewalls. Servers attach themselves (jobs at creation, web by attachment). */
export class Firewalls extends pulumi.ComponentResource {
    readonly web: hcloud.Firewall;
    readonly jobs: hcloud.Firewall;
    readonly webId: pulumi.Output<number>;
    readonly jobsId: pulumi.Output<number>;

    constructor(name: string, args: FirewallsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shred-day:network:Firewalls", name, {}, opts);
        this.web = new hcloud.Firewall(
            `${name}-web`,
            { name: `${name}-web`, labels: { ...args.labels, role: "web" }, rules: firewallRules("web", args.adminCidrs) },
            { parent: this },
        );
        this.jobs = new hcloud.Firewall(
            `${name}-jobs`,
            { name: `${name}-jobs`, labels: { ...args.labels, role: "jobs" }, rules: firewallRules("jobs", args.adminCidrs) },
            { parent: this },
        );
        this.webId = this.web.id.apply((id) => Number(id));
        this.jobsId = this.jobs.id.apply((id) => Number(id));
        this.registerOutputs({ webId: this.webId, jobsId: this.jobsId });
    }
}
