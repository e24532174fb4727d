/**
 * A newcomer's mistakes (issue 14), each refused (or said) with the key, the value and the fix,
 * at the first try: where they are stored (a plain-text secret, a misspelt namespace), how
 * `pulumi config set --path` stores numbers, empty keys, lower-case env names, a Puma setting,
 * an admin CIDR with host bits, a dropped `_cache` database. All on the fixtures.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig, namespaceTypos, parseConfig, plainTextSecrets, rawFromEngineConfig } from "../../stacks/config";
import { readStackFile } from "../../stacks/stackFile";
import { productionConfig, refusedConfig, removeStackDir, SECRETS, SHIPPED_STACK_YAML, stackDir } from "../support/fixtures";

type Raw = Record<string, any>;

const problems = (edit: (c: Raw) => void): string[] => refusedConfig(edit).problems;

/** The config as the engine hands it: every value JSON text, and which keys are secret. */
function engineConfig(raw: Raw): Record<string, string> {
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [`shred-day:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}
const ALL_SECRET_KEYS = ["shred-day:postgresPassword", "shred-day:registryPassword", "shred-day:appSecrets", "shred-day:sshPrivateKey"];

function loadFromEngine(all: Record<string, string>, secretKeys: string[]): string[] | "accepted" {
    pulumi.runtime.setAllConfig(all, secretKeys);
    try {
        loadConfig();
        return "accepted";
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
    } finally {
        pulumi.runtime.setAllConfig({}, []);
    }
}

describe("a secret written as plain YAML is refused, with the `pulumi config set --secret` fix, for every secret key", () => {
    let dir: string;
    afterEach(() => removeStackDir(dir));

    test("in the stack file: postgresPassword, registryPassword, sshPrivateKey and each appSecrets entry; the value is never shown", () => {
        dir = stackDir({
            production: `${SHIPPED_STACK_YAML}  shred-day:postgresPassword: hunter2-hunter2-hunter2
  shred-day:registryPassword: ghp_plaintoken
  shred-day:sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----"
  shred-day:appSecrets:
    RAILS_MASTER_KEY:
      secure: v1:AAAAencrypted
    AWS_SECRET_ACCESS_KEY: plain-aws-secret
`,
        });
        const file = readStackFile("production", dir);
        expect(file.problems).toEqual([
            "shred-day:postgresPassword is written in plain text in the stack file (anyone who can read the repository can read it, and Pulumi does not treat it as a secret); remove it with `pulumi config rm shred-day:postgresPassword` and set it encrypted with `pulumi config set --secret shred-day:postgresPassword`, then change the value if the file was ever committed",
            "shred-day:registryPassword is written in plain text in the stack file (anyone who can read the repository can read it, and Pulumi does not treat it as a secret); remove it with `pulumi config rm shred-day:registryPassword` and set it encrypted with `pulumi config set --secret shred-day:registryPassword`, then change the value if the file was ever committed",
            "shred-day:appSecrets.AWS_SECRET_ACCESS_KEY is written in plain text in the stack file (anyone who can read the repository can read it, and Pulumi does not treat it as a secret); remove it with `pulumi config rm --path shred-day:appSecrets.AWS_SECRET_ACCESS_KEY` and set it encrypted with `pulumi config set --secret --path shred-day:appSecrets.AWS_SECRET_ACCESS_KEY`, then change the value if the file was ever committed",
            "shred-day:sshPrivateKey is written in plain text in the stack file (anyone who can read the repository can read it, and Pulumi does not treat it as a secret); remove it with `pulumi config rm shred-day:sshPrivateKey` and set it encrypted with `pulumi config set --secret shred-day:sshPrivateKey < ~/.ssh/shred-day-deploy`, then change the value if the file was ever committed",
        ]);
        const text = file.problems.join("\n");
        for (const v of ["hunter2", "ghp_plaintoken", "plain-aws-secret", "BEGIN OPENSSH"]) expect(text).not.toContain(v);
        // Encrypted values (whole, or one leaf set with --path) are fine.
        expect(file.encrypted.sort()).toEqual(["appSecrets"]);
    });

    test("encrypted secrets pass: `secure:` values, whole or per --path leaf", () => {
        dir = stackDir({
            production: `${SHIPPED_STACK_YAML}  shred-day:postgresPassword:
    secure: v1:AAAA
  shred-day:appSecrets:
    RAILS_MASTER_KEY:
      secure: v1:BBBB
`,
        });
        const file = readStackFile("production", dir);
        expect(file.problems).toEqual([]);
        expect(file.encrypted.sort()).toEqual(["appSecrets", "postgresPassword"]);
        expect(file.raw.postgresPassword).toBeUndefined();
    });

    test("from the engine: a secret key the engine does not hold as secret is refused before any resource", () => {
        const all = engineConfig(productionConfig());
        expect(loadFromEngine(all, ALL_SECRET_KEYS)).toBe("accepted");
        const plain = loadFromEngine(all, ALL_SECRET_KEYS.filter((k) => k !== "shred-day:postgresPassword"));
        expect(plain).toEqual([expect.stringMatching(/^shred-day:postgresPassword is written in plain text in the stack file .*`pulumi config set --secret shred-day:postgresPassword`/)]);
        const appSecrets = loadFromEngine(all, ALL_SECRET_KEYS.filter((k) => k !== "shred-day:appSecrets"));
        expect(appSecrets).toEqual([
            expect.stringContaining("shred-day:appSecrets.RAILS_MASTER_KEY is written in plain text"),
            expect.stringContaining("shred-day:appSecrets.AWS_SECRET_ACCESS_KEY is written in plain text"),
        ]);
        for (const p of appSecrets as string[]) for (const v of Object.values(SECRETS.appSecrets)) expect(p).not.toContain(v);
    });

    test("plainTextSecrets checks every secret key the program has", () => {
        const raw = { postgresPassword: "x", registryPassword: "y", appSecrets: { A: "1" }, sshPrivateKey: "z" };
        expect(plainTextSecrets(raw, () => false).map((p) => p.split(" ")[0])).toEqual([
            "shred-day:postgresPassword",
            "shred-day:registryPassword",
            "shred-day:appSecrets.A",
            "shred-day:sshPrivateKey",
        ]);
        expect(plainTextSecrets(raw, () => true)).toEqual([]);
    });
});

describe("numbers and booleans in env maps are taken as their text", () => {
    test("`pulumi config set --path shred-day:web.env.WEB_CONCURRENCY 3` (a number) and `true` (a boolean) are accepted", () => {
        const c = productionConfig();
        c.web.env.WEB_CONCURRENCY = 3;
        c.jobs.env = { RUBY_YJIT_ENABLE: true };
        c.app.env.RAILS_MAX_THREADS = 5;
        const parsed = parseConfig(c);
        expect(parsed.web.env.WEB_CONCURRENCY).toBe("3");
        expect(parsed.jobs.env.RUBY_YJIT_ENABLE).toBe("true");
        expect(parsed.app.env.RAILS_MAX_THREADS).toBe("5");
    });

    test("as the engine hands them (JSON text of the whole web object)", () => {
        const c = productionConfig();
        const raw = rawFromEngineConfig({ ...engineConfig(c), "shred-day:web": JSON.stringify({ ...c.web, env: { WEB_CONCURRENCY: 3 } }) });
        expect(parseConfig(raw).web.env).toEqual({ WEB_CONCURRENCY: "3" });
    });

    test("and as YAML writes them in the stack file (WEB_CONCURRENCY: 3)", () => {
        const dir = stackDir({ production: SHIPPED_STACK_YAML.replace('WEB_CONCURRENCY: "2"', "WEB_CONCURRENCY: 3") });
        try {
            expect(readStackFile("production", dir).raw.web).toMatchObject({ env: { WEB_CONCURRENCY: 3 } });
            const c = productionConfig();
            c.web.env = (readStackFile("production", dir).raw.web as Raw).env;
            expect(parseConfig(c).web.env.WEB_CONCURRENCY).toBe("3");
        } finally {
            removeStackDir(dir);
        }
    });
});

describe("other type errors give the fix", () => {
    test("an empty `importId:` (null in YAML) says what to put there or to remove the line", () => {
        expect(problems((c) => (c.web.importId = null))).toEqual([
            "shred-day:web.importId is empty (the key is there with no value); give the id of the existing web server (`hcloud server list -o columns=id,name,ipv4`), or remove the line to create a new web server",
        ]);
        expect(problems((c) => (c.jobs.hosts[0].importId = null))[0]).toMatch(/^shred-day:jobs\.hosts\[0\]\.importId is empty \(the key is there with no value\); /);
    });

    test("a lower-case env key: the name it should have and the two commands", () => {
        expect(problems((c) => (c.web.env = { web_concurrency: "2" }))).toEqual([
            'shred-day:web.env.web_concurrency: "web_concurrency" is not an environment variable name: names are UPPER_CASE (A-Z, 0-9, _), as Rails reads them; rename it to WEB_CONCURRENCY (`pulumi config rm --path shred-day:web.env.web_concurrency`, then `pulumi config set --path shred-day:web.env.WEB_CONCURRENCY <value>`)',
        ]);
        expect(problems((c) => (c.appSecrets["rails-master-key"] = "x"))[0]).toContain("rename it to RAILS_MASTER_KEY (`pulumi config rm --path shred-day:appSecrets.rails-master-key`, then `pulumi config set --secret --path shred-day:appSecrets.RAILS_MASTER_KEY`)");
    });

    test("`SOLID_QUEUE_IN_PUMA: true` (a boolean) gets the Puma explanation at the first try, even next to another error", () => {
        expect(problems((c) => (c.app.env.SOLID_QUEUE_IN_PUMA = true))).toEqual([
            'shred-day:app.env.SOLID_QUEUE_IN_PUMA = true: any value (even "false") starts Solid Queue inside Puma on the web host; remove it, jobs run on the jobs hosts',
        ]);
        const both = problems((c) => {
            c.web.env.SOLID_QUEUE_IN_PUMA = true;
            c.web.env.lower = "x";
            c.jobs.concurrency = 0;
        });
        expect(both).toEqual(
            expect.arrayContaining([
                'shred-day:web.env.SOLID_QUEUE_IN_PUMA = true: any value (even "false") starts Solid Queue inside Puma on the web host; remove it, jobs run on the jobs hosts',
                expect.stringMatching(/^shred-day:web\.env\.lower: "lower" is not an environment variable name/),
                expect.stringMatching(/^shred-day:jobs\.concurrency = 0: must be 1\.\.16/),
            ]),
        );
    });
});

describe("accepted silently before, now refused or said", () => {
    test("an admin CIDR with host bits set: refused with the network address (and the /32) as the fix", () => {
        expect(problems((c) => (c.ssh.adminCidrs = ["203.0.113.7/24"]))).toEqual([
            'shred-day:ssh.adminCidrs[0] = "203.0.113.7/24": has host bits set (the firewall would open the whole 203.0.113.0/24, not just 203.0.113.7); write the network as 203.0.113.0/24, or 203.0.113.7/32 for that one address',
        ]);
        expect(problems((c) => (c.ssh.adminCidrs = ["2001:db8::1/64"]))[0]).toContain("write the network as 2001:db8::/64, or 2001:db8::1/128 for that one address");
        const ok = productionConfig();
        ok.ssh.adminCidrs = ["203.0.113.0/24", "203.0.113.7/32", "2001:db8::/64"];
        expect(parseConfig(ok).ssh.adminCidrs).toHaveLength(3);
    });

    test("dropping the _cache database is accepted but explained: the app loses CACHE_DATABASE_URL", () => {
        const c = productionConfig();
        c.postgres.databases = c.postgres.databases.filter((d: string) => !d.endsWith("_cache"));
        const parsed = parseConfig(c);
        expect(parsed.postgres.roles.cache).toBeUndefined();
        expect(parsed.warnings).toEqual([
            "shred-day:postgres.databases has no _cache database, so the app gets no CACHE_DATABASE_URL: if the app uses Solid Cache (config.cache_store = :solid_cache_store), it cannot connect; add shred_day_production_cache back (the program creates it), or keep it out only if the app does not use it",
        ]);
        expect(parseConfig(productionConfig()).warnings).toEqual([]);
    });

    test("a namespace typo (`shredday:jobs`) names the key it should be, not only `shred-day:jobs = missing`", () => {
        expect(namespaceTypos(["shredday:jobs", "hcloud:token", "shred_day:app", "shred-day:web", "docker:host"])).toEqual([
            'shredday:jobs is never read: the namespace is "shredday", but this program reads "shred-day:" (it is this program\'s jobs setting); rename the key to shred-day:jobs',
            'shred_day:app is never read: the namespace is "shred_day", but this program reads "shred-day:" (it is this program\'s app setting); rename the key to shred-day:app',
        ]);
        const c = productionConfig();
        const all = engineConfig(c);
        all["shredday:jobs"] = all["shred-day:jobs"];
        delete all["shred-day:jobs"];
        const refused = loadFromEngine(all, ALL_SECRET_KEYS) as string[];
        expect(refused[0]).toBe('shredday:jobs is never read: the namespace is "shredday", but this program reads "shred-day:" (it is this program\'s jobs setting); rename the key to shred-day:jobs');
        expect(refused).toContain("shred-day:jobs = missing: is required");
    });

    test("the same typo in the stack file is found by the tools that read it (plan, ops, bench)", () => {
        const dir = stackDir({ production: SHIPPED_STACK_YAML.replace("  shred-day:jobs:", "  shredday:jobs:") });
        try {
            expect(readStackFile("production", dir).problems).toEqual([expect.stringMatching(/^shredday:jobs is never read: .*rename the key to shred-day:jobs$/)]);
        } finally {
            removeStackDir(dir);
        }
    });
});

describe("the docs name every refusal's fix they promise", () => {
    test("docs/configuration.md says secrets are refused when written in plain text", () => {
        const doc = fs.readFileSync(path.join(__dirname, "../../docs/configuration.md"), "utf8");
        expect(doc).toContain("A secret written as plain YAML");
        expect(doc).toContain("`pulumi config set --secret` commands that fix it");
    });
});
