/**
 * The rules of ./rules.ts as CrossGuard policies. Resource policies run on each resource's
 * inputs before it is created or updated (in preview and in up); the two stack policies need
 * every resource at once and run at the end of a preview (a mandatory violation fails the
 * preview, and so the `pulumi up` that starts with one).
 */
import type {
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import * as rules from "./rules";
import { GuardrailConfig, PolicyResourceLike, propsOf, StackViolation } from "./rules";

export const PACK_NAME = "shred-day";
export const ENFORCEMENT: EnforcementLevel = "mandatory";

type ResourceArgsLike = Pick<ResourceValidationArgs, "type" | "name" | "urn" | "props" | "provider"> & { opts: Partial<PolicyResourceOptions> };

/** What a resource policy receives, in the rules' shape (props as plain data, unknowns marked). */
export function fromResourceArgs(args: ResourceArgsLike): PolicyResourceLike {
    return {
        type: args.type,
        name: args.name,
        urn: args.urn,
        props: propsOf({ props: args.props }),
        opts: {
            protect: args.opts?.protect === true,
            ignoreChanges: [...(args.opts?.ignoreChanges ?? [])],
            deleteBeforeReplace: args.opts?.deleteBeforeReplace,
            parent: args.opts?.parent,
        },
        provider: args.provider ? { type: args.provider.type, name: args.provider.name, props: propsOf({ props: args.provider.props }) } : undefined,
    };
}

type StackResourceLike = ResourceArgsLike & Pick<PolicyResource, "dependencies" | "propertyDependencies">;

/** What a stack policy receives, in the rules' shape, dependencies resolved to the converted resources. */
export function fromStackResources(resources: StackResourceLike[]): PolicyResourceLike[] {
    const converted = new Map<StackResourceLike, PolicyResourceLike>();
    for (const r of resources) converted.set(r, fromResourceArgs(r));
    const map = (list: readonly StackResourceLike[] | undefined) =>
        (list ?? []).map((d) => converted.get(d)).filter((d): d is PolicyResourceLike => d !== undefined);
    for (const r of resources) {
        const c = converted.get(r)!;
        c.dependencies = map(r.dependencies as StackResourceLike[]);
        c.propertyDependencies = Object.fromEntries(
            Object.entries(r.propertyDependencies ?? {}).map(([k, v]) => [k, map(v as StackResourceLike[])]),
        );
    }
    return [...converted.values()];
}

function resourcePolicy(
    name: string,
    description: string,
    check: (r: PolicyResourceLike, config: GuardrailConfig) => string[],
    configSchema?: PolicyConfigSchema,
): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: ENFORCEMENT,
        ...(configSchema ? { configSchema } : {}),
        validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
            const config = configSchema ? args.getConfig<GuardrailConfig>() : {};
            for (const message of check(fromResourceArgs(args), config)) reportViolation(message);
        },
    };
}

function stackPolicy(name: string, description: string, check: (resources: PolicyResourceLike[]) => StackViolation[]): StackValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: ENFORCEMENT,
        validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
            for (const v of check(fromStackResources(args.resources))) reportViolation(v.message, v.urn);
        },
    };
}

/** The pack's configuration for the SSH policy; see docs/review-and-preview.md. */
export const SSH_CONFIG_SCHEMA: PolicyConfigSchema = {
    properties: {
        adminCidrs: {
            type: "array",
            items: { type: "string" },
            description: "The stack's ssh.adminCidrs. When set, every source that may reach port 22 must lie inside one of them.",
        },
        allowSshFromAnywhere: {
            type: "boolean",
            default: false,
            description: "The stack's ssh.allowSshFromAnywhere: the explicit opt-in for SSH from a range wider than /8 (e.g. 0.0.0.0/0).",
        },
    },
};

export const POLICY_NAMES = {
    postgresPortClosed: "postgres-port-closed",
    sshAdminOnly: "ssh-admin-ranges-only",
    serverFirewall: "every-server-has-a-firewall",
    postgresPrivate: "postgres-private-address-only",
    protectedData: "web-server-and-postgres-data-protected",
    solidQueue: "no-solid-queue-in-puma",
    commandSecrets: "no-secrets-in-remote-commands",
    stackSecrets: "no-stack-secret-in-command-text",
} as const;

export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
    resourcePolicy(
        POLICY_NAMES.postgresPortClosed,
        "No firewall rule lets 5432 in (a single port, a range or `any` covering it), from any source: Postgres is on the private network only.",
        (r) => rules.checkPostgresPortClosed(r),
    ),
    resourcePolicy(
        POLICY_NAMES.sshAdminOnly,
        "SSH (22) only from the admin ranges: never from 0.0.0.0/0, ::/0 or anything wider than /8 unless the stack opted in; inside ssh.adminCidrs when the pack is given them.",
        (r, config) => rules.checkSshAdminOnly(r, config),
        SSH_CONFIG_SCHEMA,
    ),
    stackPolicy(
        POLICY_NAMES.serverFirewall,
        "Every hcloud server has a firewall: firewallIds at creation, a FirewallAttachment naming it, or a firewall applying to it.",
        (resources) => rules.checkEveryServerHasFirewall(resources),
    ),
    resourcePolicy(
        POLICY_NAMES.postgresPrivate,
        "A Postgres container publishes only on a private (RFC 1918) address: never bare, 0.0.0.0, ::, host networking or publish-all.",
        (r) => rules.checkPostgresPrivateOnly(r),
    ),
    resourcePolicy(
        POLICY_NAMES.protectedData,
        "The (adopted) web server is protect:true with hcloud delete/rebuild protection; the Postgres data is a host bind mount with removeVolumes false.",
        (r) => rules.checkProtected(r),
    ),
    resourcePolicy(
        POLICY_NAMES.solidQueue,
        "No app container's environment holds SOLID_QUEUE_IN_PUMA: not in a container's envs, not in an env file a remote command writes, not on a command line.",
        (r) => rules.checkNoSolidQueueInPuma(r),
    ),
    resourcePolicy(
        POLICY_NAMES.commandSecrets,
        "Remote commands: no SSH environment, addPreviousOutputInEnv false, and no secret (pattern, or a value the command sends on stdin) in create/update/delete.",
        (r) => rules.checkCommandSecrets(r),
    ),
    stackPolicy(
        POLICY_NAMES.stackSecrets,
        "No command's text or environment holds a value the stack sends as a secret anywhere (stdin, a container's password env, an SSH key).",
        (resources) => rules.checkNoStackSecretInCommands(resources),
    ),
];
