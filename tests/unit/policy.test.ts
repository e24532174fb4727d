/**
 * The CrossGuard pack, without the Pulumi CLI: every policy of policy/policies.ts (the objects
 * the pack serves) runs over the resources the real program registers on mocks, converted to
 * what the engine hands a pack (scripts/plan/policyResources.ts). Each policy passes on the
 * production config and fires on a variant built to break it.
 */
import { POLICY_NAMES, policies } from "../../policy/policies";
import * as rules from "../../policy/rules";
import { PolicyResourceLike, TYPES, UNKNOWN } from "../../policy/rules";
import { PackConfig, PackResults, runPolicies, toPolicyResources } from "../../scripts/plan/policyResources";
import { policyConfigFor } from "../../scripts/policy-config";
import { productionConfig, SECRET_VALUES, SECRETS, withJobsHosts } from "../support/fixtures";
import { evaluate } from "../../scripts/evaluate";

// The engine's proxy over a pack's props: reading an unknown value throws, as in a real preview.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as { unknownCheckingProxy: <T>(x: T) => T };
const UNKNOWN_NUMBER = "3eeb2bf0-c639-47a8-9e75-3b44932eb421";
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const UNKNOWN_ARRAY = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2";

type Results = PackResults;

/** The pack's policies over the resources, as the engine runs them (scripts/plan/policyResources.ts). */
const runPack = (resources: PolicyResourceLike[], config: PackConfig = {}): Promise<Results> => runPolicies(resources, config);

function fired(results: Results): string[] {
    return Object.entries(results)
        .filter(([, m]) => m.length > 0)
        .map(([n]) => n);
}

/** A deep copy of the captured resources, so a variant never changes the baseline. */
function clone(resources: PolicyResourceLike[]): PolicyResourceLike[] {
    const copies = new Map<PolicyResourceLike, PolicyResourceLike>();
    for (const r of resources) copies.set(r, { ...r, props: JSON.parse(JSON.stringify(r.props)), opts: { ...r.opts, ignoreChanges: [...r.opts.ignoreChanges] } });
    for (const [orig, copy] of copies) {
        copy.dependencies = (orig.dependencies ?? []).map((d) => copies.get(d)!);
        copy.propertyDependencies = Object.fromEntries(Object.entries(orig.propertyDependencies ?? {}).map(([k, v]) => [k, v.map((d) => copies.get(d)!)]));
    }
    return [...copies.values()];
}

function ofType(resources: PolicyResourceLike[], type: string): PolicyResourceLike[] {
    return resources.filter((r) => r.type === type);
}

const webFirewall = (rs: PolicyResourceLike[]) => ofType(rs, TYPES.firewall).find((f) => f.props.name === "shred-day-web")!;
const jobsServer = (rs: PolicyResourceLike[]) => ofType(rs, TYPES.server).find((s) => s.props.name === "shred-day-jobs-ubuntu")!;
const webServer = (rs: PolicyResourceLike[]) => ofType(rs, TYPES.server).find((s) => s.props.name === "shred-day-web")!;
const postgresContainer = (rs: PolicyResourceLike[]) => ofType(rs, TYPES.container).find(rules.isPostgresContainer)!;
const commands = (rs: PolicyResourceLike[]) => ofType(rs, TYPES.remoteCommand);
/** The command that writes the web role's env file (its stdin is the env file). */
const webEnvStep = (rs: PolicyResourceLike[]) => commands(rs).find((c) => /(^|-)env-/.test(c.name) && rules.envFileEntries(c.props.stdin) !== undefined)!;

let production: PolicyResourceLike[];

beforeAll(async () => {
    production = toPolicyResources((await evaluate(productionConfig())).resources);
});

describe("the pack on the real program", () => {
    test("it serves the seven mandatory guardrails (eight policies), all mandatory", () => {
        expect(policies.map((p) => p.name).sort()).toEqual(Object.values(POLICY_NAMES).sort());
        for (const p of policies) expect(p.enforcementLevel).toBe("mandatory");
    });

    test("production config: no policy fires", async () => {
        const results = await runPack(production);
        expect(results).toEqual(Object.fromEntries(policies.map((p) => [p.name, []])));
        // The resources the rules are about are really there.
        expect(ofType(production, TYPES.firewall)).toHaveLength(2);
        expect(ofType(production, TYPES.server)).toHaveLength(2);
        expect(postgresContainer(production)).toBeDefined();
        expect(commands(production).length).toBeGreaterThan(5);
    });

    test("production config with the pack told the stack's adminCidrs: no policy fires", async () => {
        const results = await runPack(production, { [POLICY_NAMES.sshAdminOnly]: { adminCidrs: ["203.0.113.7/32"], allowSshFromAnywhere: false } });
        expect(fired(results)).toEqual([]);
    });

    test("three jobs hosts, and a new (not adopted) web server: no policy fires", async () => {
        const three = toPolicyResources((await evaluate(withJobsHosts(3))).resources);
        expect(ofType(three, TYPES.server)).toHaveLength(4);
        expect(fired(await runPack(three))).toEqual([]);
        const c = productionConfig();
        delete c.web.importId;
        const created = toPolicyResources((await evaluate(c)).resources);
        expect(fired(await runPack(created))).toEqual([]);
    });

    test("preview: unknown ids and images (nothing created yet) neither crash a rule nor make one fire", async () => {
        const rs = clone(production);
        for (const r of rs) {
            if (r.type === TYPES.server && r.props.firewallIds) r.props.firewallIds = UNKNOWN_ARRAY;
            if (r.type === TYPES.firewallAttachment) r.props.firewallId = UNKNOWN_NUMBER;
            if (r.type === TYPES.container) r.props.image = UNKNOWN_STRING;
            if (r.type === TYPES.remoteCommand) r.props.connection = { ...r.props.connection, host: UNKNOWN_STRING };
            r.props = unknownCheckingProxy(r.props);
        }
        expect(fired(await runPack(rs))).toEqual([]);
        // An unknown value really does throw when read, as it does in the pack.
        expect(() => rs.find((r) => r.type === TYPES.container)!.props.image).toThrow(/can't be known during preview/);
    });

    test("no violation message ever quotes a secret (messages end up in PR comments)", async () => {
        const all: string[] = [];
        for (const v of VARIANTS) all.push(...Object.values(await runPack(v.build(clone(production)), v.config)).flat());
        expect(all.length).toBeGreaterThan(VARIANTS.length);
        for (const s of SECRET_VALUES) expect(all.join("\n")).not.toContain(s);
    });
});

interface Variant {
    policy: string;
    what: string;
    build: (rs: PolicyResourceLike[]) => PolicyResourceLike[];
    config?: PackConfig;
    /** Other policies the same change rightly breaks too. */
    alsoFires?: string[];
}

const openRule = (port: string | undefined, sourceIps: string[], protocol = "tcp") => ({ direction: "in", protocol, ...(port === undefined ? {} : { port }), sourceIps, description: "variant" });

const VARIANTS: Variant[] = [
    // 1. 5432
    ...(
        [
            ["5432", ["0.0.0.0/0", "::/0"], "5432 from anywhere"],
            ["5000-6000", ["0.0.0.0/0"], "a range covering 5432"],
            ["any", ["203.0.113.7/32"], "port any, even from the admin address"],
            [undefined, ["::/0"], "no port (every port; from ::/0 this opens SSH too)"],
            ["5432", ["198.51.100.0/24"], "5432 from a partner range (nothing opens 5432)"],
        ] as [string | undefined, string[], string][]
    ).map(([port, sources, what]): Variant => ({
        policy: POLICY_NAMES.postgresPortClosed,
        what: `web firewall: ${what}`,
        alsoFires: port === undefined ? [POLICY_NAMES.sshAdminOnly] : [],
        build: (rs) => {
            webFirewall(rs).props.rules.push(openRule(port, sources));
            return rs;
        },
    })),
    // 2. SSH
    {
        policy: POLICY_NAMES.sshAdminOnly,
        what: "jobs firewall: 22 from 0.0.0.0/0",
        build: (rs) => {
            ofType(rs, TYPES.firewall).find((f) => f.props.name === "shred-day-jobs")!.props.rules[0].sourceIps = ["0.0.0.0/0"];
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.sshAdminOnly,
        what: "web firewall: a 1-1024 range from ::/0 (covers 22)",
        build: (rs) => {
            webFirewall(rs).props.rules.push(openRule("1-1024", ["::/0"]));
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.sshAdminOnly,
        what: "web firewall: 22 from a range outside the stack's adminCidrs (pack configured with them)",
        build: (rs) => {
            webFirewall(rs).props.rules.push(openRule("22", ["198.51.100.0/24"]));
            return rs;
        },
        config: { [POLICY_NAMES.sshAdminOnly]: { adminCidrs: ["203.0.113.7/32"] } },
    },
    // 3. Firewalls
    {
        policy: POLICY_NAMES.serverFirewall,
        what: "the jobs server without firewallIds and without the jobs FirewallAttachment (production adopts it: attachment)",
        build: (rs) => {
            delete jobsServer(rs).props.firewallIds;
            return rs.filter((r) => !(r.type === TYPES.firewallAttachment && r.name.endsWith("-jobs-firewall")));
        },
    },
    {
        policy: POLICY_NAMES.serverFirewall,
        what: "the adopted web server without its FirewallAttachment",
        build: (rs) => rs.filter((r) => r.type !== TYPES.firewallAttachment),
    },
    // 4. Postgres private
    ...(
        [
            ["0.0.0.0", "published on 0.0.0.0"],
            [undefined, "published bare (no ip)"],
            ["91.99.62.190", "published on the public address"],
        ] as [string | undefined, string][]
    ).map(([ip, what]): Variant => ({
        policy: POLICY_NAMES.postgresPrivate,
        what: `Postgres container ${what}`,
        build: (rs) => {
            const port = postgresContainer(rs).props.ports[0];
            if (ip === undefined) delete port.ip;
            else port.ip = ip;
            return rs;
        },
    })),
    {
        policy: POLICY_NAMES.postgresPrivate,
        what: "Postgres container on the host network",
        build: (rs) => {
            postgresContainer(rs).props.networkMode = "host";
            return rs;
        },
    },
    // 5. Protection
    {
        policy: POLICY_NAMES.protectedData,
        what: "the adopted web server without protect",
        build: (rs) => {
            webServer(rs).opts.protect = false;
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.protectedData,
        what: "the web server without hcloud delete/rebuild protection",
        build: (rs) => {
            webServer(rs).props.deleteProtection = false;
            webServer(rs).props.rebuildProtection = false;
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.protectedData,
        what: "Postgres data in a named Docker volume",
        build: (rs) => {
            const v = postgresContainer(rs).props.volumes[0];
            delete v.hostPath;
            v.volumeName = "pgdata";
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.protectedData,
        what: "Postgres container with removeVolumes left at the provider's default (true)",
        build: (rs) => {
            delete postgresContainer(rs).props.removeVolumes;
            return rs;
        },
    },
    // 6. SOLID_QUEUE_IN_PUMA
    {
        policy: POLICY_NAMES.solidQueue,
        what: 'the web env file (a release step\'s stdin) with SOLID_QUEUE_IN_PUMA=false',
        build: (rs) => {
            webEnvStep(rs).props.stdin += "SOLID_QUEUE_IN_PUMA=false\n";
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.solidQueue,
        what: "a docker.Container with SOLID_QUEUE_IN_PUMA=1 in envs",
        build: (rs) => {
            postgresContainer(rs).props.envs.push("SOLID_QUEUE_IN_PUMA=1");
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.solidQueue,
        what: "a remote command running docker run -e SOLID_QUEUE_IN_PUMA=true",
        build: (rs) => {
            const c = commands(rs)[0];
            c.props.create = `docker run -d -e SOLID_QUEUE_IN_PUMA=true ghcr.io/x/app:v1 && ${c.props.create}`;
            return rs;
        },
    },
    // 7. Secrets in commands
    {
        policy: POLICY_NAMES.commandSecrets,
        what: "a remote command with SSH environment",
        build: (rs) => {
            commands(rs)[0].props.environment = { RAILS_ENV: "production" };
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.commandSecrets,
        what: "a remote command with addPreviousOutputInEnv left on",
        build: (rs) => {
            delete commands(rs)[0].props.addPreviousOutputInEnv;
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.commandSecrets,
        what: "POSTGRES_PASSWORD='...' in a command's text",
        build: (rs) => {
            const c = commands(rs).find((x) => x.name.includes("postgres"))!;
            c.props.create = `POSTGRES_PASSWORD='hunter2hunter2' ${c.props.create}`;
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.commandSecrets,
        what: "docker login --password <token> in a command's text",
        build: (rs) => {
            commands(rs)[0].props.update = "docker login ghcr.io --username me --password ghp_notstdin0123456789";
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.commandSecrets,
        what: "a command whose create repeats the secret it sends on stdin",
        build: (rs) => {
            const c = commands(rs).find((x) => typeof x.props.stdin === "string" && x.props.stdin.includes(SECRETS.postgresPassword) && rules.envFileEntries(x.props.stdin) === undefined)!;
            c.props.create = `echo ${SECRETS.postgresPassword} >/dev/null; ${c.props.create}`;
            return rs;
        },
    },
    {
        policy: POLICY_NAMES.stackSecrets,
        what: "RAILS_MASTER_KEY's value (sent by an env file's stdin) inside another command's text, without any telltale pattern",
        build: (rs) => {
            const c = commands(rs).find((x) => x.props.stdin === undefined)!;
            c.props.create = `echo '${SECRETS.appSecrets.RAILS_MASTER_KEY}' | base64 >/dev/null; ${c.props.create}`;
            return rs;
        },
    },
];

describe("each policy fires on a variant built to break it", () => {
    test.each(VARIANTS.map((v) => [v.policy, v.what, v] as const))("%s: %s", async (policy, _what, variant) => {
        const results = await runPack(variant.build(clone(production)), variant.config);
        expect(results[policy].length).toBeGreaterThan(0);
        // A variant breaks what it means to break (the stack-wide secret rule may also see a
        // per-command leak; nothing else fires by accident).
        const expected = [policy, ...(variant.alsoFires ?? [])];
        const others = fired(results).filter((n) => !expected.includes(n) && !(policy === POLICY_NAMES.commandSecrets && n === POLICY_NAMES.stackSecrets));
        expect(others).toEqual([]);
        for (const also of variant.alsoFires ?? []) expect(results[also].length).toBeGreaterThan(0);
    });

    test("every policy has at least one breaking variant", () => {
        expect(new Set(VARIANTS.map((v) => v.policy))).toEqual(new Set(Object.values(POLICY_NAMES)));
    });
});

describe("SSH from anywhere: the stack opts in, and so must the pack", () => {
    const anywhere = () => {
        const c = productionConfig();
        c.ssh.adminCidrs = ["0.0.0.0/0"];
        c.ssh.allowSshFromAnywhere = true;
        return c;
    };

    test("the program (config opted in) builds world SSH; the pack without the opt-in refuses it", async () => {
        const rs = toPolicyResources((await evaluate(anywhere())).resources);
        const results = await runPack(rs);
        expect(fired(results)).toEqual([POLICY_NAMES.sshAdminOnly]);
        expect(results[POLICY_NAMES.sshAdminOnly].join("\n")).toMatch(/whole internet.*allowSshFromAnywhere/s);
    });

    test("with the pack given the stack's own ssh settings (scripts/policy-config.ts), it passes", async () => {
        const c = anywhere();
        const rs = toPolicyResources((await evaluate(c)).resources);
        const config = policyConfigFor(c.ssh, "production");
        expect(config).toEqual({ [POLICY_NAMES.sshAdminOnly]: { adminCidrs: ["0.0.0.0/0"], allowSshFromAnywhere: true } });
        expect(fired(await runPack(rs, config))).toEqual([]);
    });

    test("scripts/policy-config.ts: the production stack's settings, and a refusal while adminCidrs holds CHANGE-ME", () => {
        expect(policyConfigFor(productionConfig().ssh, "production")).toEqual({ [POLICY_NAMES.sshAdminOnly]: { adminCidrs: ["203.0.113.7/32"], allowSshFromAnywhere: false } });
        expect(() => policyConfigFor({ adminCidrs: ["CHANGE-ME/32"] }, "production")).toThrow(/Pulumi\.production\.yaml: shred-day:ssh\.adminCidrs still holds CHANGE-ME\/32/);
        expect(() => policyConfigFor({ adminCidrs: [] }, "production")).toThrow(/empty/);
    });
});

describe("rules in isolation", () => {
    test("coversTcpPort: single ports, ranges, any, unset; udp and icmp never", () => {
        const r = (protocol: string, port?: string) => ({ protocol, port });
        expect(rules.coversTcpPort(r("tcp", "5432"), 5432)).toBe(true);
        expect(rules.coversTcpPort(r("tcp", "5431"), 5432)).toBe(false);
        expect(rules.coversTcpPort(r("tcp", "5000-5432"), 5432)).toBe(true);
        expect(rules.coversTcpPort(r("tcp", "5433-6000"), 5432)).toBe(false);
        expect(rules.coversTcpPort(r("tcp", "any"), 22)).toBe(true);
        expect(rules.coversTcpPort(r("tcp"), 22)).toBe(true);
        expect(rules.coversTcpPort(r("udp", "5432"), 5432)).toBe(false);
        expect(rules.coversTcpPort(r("icmp"), 22)).toBe(false);
        expect(rules.coversTcpPort({ protocol: "tcp", port: UNKNOWN }, 22)).toBe(true);
    });

    test("cidrWithin and isWorldWide", () => {
        expect(rules.cidrWithin("203.0.113.7/32", "203.0.113.0/24")).toBe(true);
        expect(rules.cidrWithin("203.0.113.0/24", "203.0.113.7/32")).toBe(false);
        expect(rules.cidrWithin("2001:db8::1/128", "2001:db8::/32")).toBe(true);
        expect(rules.cidrWithin("2001:db8::1/128", "203.0.113.0/24")).toBe(false);
        expect(rules.isWorldWide("0.0.0.0/0")).toBe(true);
        expect(rules.isWorldWide("::/0")).toBe(true);
        expect(rules.isWorldWide("10.0.0.0/7")).toBe(true);
        expect(rules.isWorldWide("10.0.0.0/8")).toBe(false);
    });

    test("secret patterns: literal values only, never $VAR, never --password-stdin", () => {
        expect(rules.secretPatternsIn("PGPASSWORD=s3cr3tvalue psql")).toEqual(["PGPASSWORD=<literal value>"]);
        expect(rules.secretPatternsIn('PGPASSWORD="$password" psql')).toEqual([]);
        expect(rules.secretPatternsIn("password=$(cat)")).toEqual([]);
        expect(rules.secretPatternsIn('docker login --password-stdin --username "$U"')).toEqual([]);
        expect(rules.secretPatternsIn("docker login --password 'x1y2z3'")).toEqual(["--password <literal value> (use --password-stdin)"]);
        expect(rules.secretPatternsIn("psql postgres://app:pw@10.0.0.3/db")).toEqual(["a URL with a password in it"]);
        expect(rules.secretPatternsIn('psql "postgres://$U:${PW}@10.0.0.3/db"')).toEqual([]);
        expect(rules.secretPatternsIn("# PASSWORD=example in a comment")).toEqual([]);
        expect(rules.secretPatternsIn("SECRET_NAMES='RAILS_MASTER_KEY' AWS_ACCESS_KEY_ID='AKIA...'")).toEqual([]);
    });

    test("SOLID_QUEUE_IN_PUMA: setting it is found, a guard that greps for it is not", () => {
        expect(rules.textSetsForbiddenEnv("docker run --env SOLID_QUEUE_IN_PUMA=1 img")).toBe(true);
        expect(rules.textSetsForbiddenEnv('docker run -e "SOLID_QUEUE_IN_PUMA" img')).toBe(true);
        expect(rules.textSetsForbiddenEnv("export SOLID_QUEUE_IN_PUMA=false")).toBe(true);
        expect(rules.textSetsForbiddenEnv("if grep -q '^SOLID_QUEUE_IN_PUMA=' \"$ENV_FILE\"; then exit 1; fi")).toBe(false);
        expect(rules.textSetsForbiddenEnv("# never set SOLID_QUEUE_IN_PUMA=anything")).toBe(false);
    });

    test("the real program's scripts carry no secret pattern and never set SOLID_QUEUE_IN_PUMA", () => {
        for (const c of commands(production)) {
            expect([c.name, rules.secretPatternsIn(c.props.create)]).toEqual([c.name, []]);
            expect([c.name, rules.textSetsForbiddenEnv(c.props.create)]).toEqual([c.name, false]);
        }
    });
});
