import { parseConfig, rawFromEngineConfig } from "../../stacks/config";
import { HOST_KEYS, productionConfig, refusedConfig, SECRET_VALUES, shippedConfig } from "../support/fixtures";

type Raw = Record<string, any>;

/** The single message parseConfig gives for a config changed by `edit`. */
const refusal = (edit: (c: Raw) => void): string => refusedConfig(edit).message;

describe("the production config", () => {
    test("is accepted and derives the gateway, the mount path and the database roles", () => {
        const c = parseConfig(productionConfig());
        expect(c.network.gateway).toBe("10.0.0.1");
        expect(c.postgres.major).toBe(16);
        expect(c.postgres.mountPath).toBe("/var/lib/postgresql/data");
        expect(c.postgres.roles).toEqual({
            primary: "shred_day_production",
            queue: "shred_day_production_queue",
            cache: "shred_day_production_cache",
            cable: "shred_day_production_cable",
        });
        expect(c.jobs.hosts).toEqual([{ name: "shred-day-jobs-ubuntu", privateIp: "10.0.0.2", importId: "23456789", publicIp: "203.0.113.20", hostKey: HOST_KEYS.jobs }]);
    });

    test("postgres 18 mounts the data dir at /var/lib/postgresql", () => {
        const c = productionConfig();
        c.postgres.image = "postgres:18.1";
        expect(parseConfig(c).postgres.mountPath).toBe("/var/lib/postgresql");
    });

    test("as shipped, its placeholders are refused by name, so nothing is deployed half-configured", () => {
        const msg = (() => {
            try {
                parseConfig({ ...shippedConfig(), ...productionSecretsOnly() });
                return "accepted";
            } catch (e) {
                return (e as Error).message;
            }
        })();
        expect(msg).toContain('shred-day:web.importId = "CHANGE-ME": must be the numeric hcloud server id');
        expect(msg).toContain('shred-day:ssh.adminCidrs[0] = "CHANGE-ME/32": must be a CIDR');
        expect(msg).toContain("shred-day:app.image");
    });
});

function productionSecretsOnly(): Raw {
    const c = productionConfig();
    return { postgresPassword: c.postgresPassword, registryPassword: c.registryPassword, appSecrets: c.appSecrets };
}

describe("bad values are refused with the key, the value and the fix", () => {
    test("a host IP outside the subnet", () => {
        expect(refusal((c) => (c.jobs.hosts[0].privateIp = "10.0.1.2"))).toContain(
            'shred-day:jobs.hosts[0].privateIp = "10.0.1.2": outside the subnet 10.0.0.0/24; use a free address inside it',
        );
    });
    test("two hosts on one IP", () => {
        expect(refusal((c) => (c.jobs.hosts[0].privateIp = "10.0.0.3"))).toContain(
            'shred-day:jobs.hosts[0].privateIp = "10.0.0.3": already used by shred-day-web; give every host its own private IP',
        );
    });
    test("the gateway address", () => {
        expect(refusal((c) => (c.jobs.hosts[0].privateIp = "10.0.0.1"))).toContain(
            "shred-day:jobs.hosts[0].privateIp = \"10.0.0.1\": that is the subnet's gateway (its first address); use another address, such as 10.0.0.2 or higher",
        );
    });
    test("a subnet outside the network range", () => {
        expect(refusal((c) => (c.network.subnetRange = "10.1.0.0/24"))).toContain(
            'shred-day:network.subnetRange = "10.1.0.0/24": not inside network.ipRange 10.0.0.0/16; pick a subnet within it, such as 10.0.0.0/24',
        );
    });
    test("an invalid CIDR", () => {
        expect(refusal((c) => (c.network.ipRange = "10.0.0.0/33"))).toContain(
            'shred-day:network.ipRange = "10.0.0.0/33": must be an IPv4 CIDR such as 10.0.0.0/16',
        );
        expect(refusal((c) => (c.ssh.adminCidrs = ["203.0.113.300/32"]))).toContain(
            'shred-day:ssh.adminCidrs[0] = "203.0.113.300/32": must be a CIDR such as 203.0.113.7/32 or 2001:db8::/64',
        );
    });
    test("adminCidrs open to the world without the opt-in, and accepted with it", () => {
        expect(refusal((c) => (c.ssh.adminCidrs = ["203.0.113.7/32", "0.0.0.0/0"]))).toContain(
            'shred-day:ssh.adminCidrs[1] = "0.0.0.0/0": opens SSH to (nearly) the whole internet; list your admin addresses (e.g. 203.0.113.7/32), or set ssh.allowSshFromAnywhere: true if you really mean it',
        );
        expect(refusal((c) => (c.ssh.adminCidrs = ["::/0"]))).toContain('shred-day:ssh.adminCidrs[0] = "::/0": opens SSH');
        const c = productionConfig();
        c.ssh.adminCidrs = ["0.0.0.0/0"];
        c.ssh.allowSshFromAnywhere = true;
        expect(parseConfig(c).ssh.adminCidrs).toEqual(["0.0.0.0/0"]);
    });
    test("concurrency 0 and 17", () => {
        expect(refusal((c) => (c.jobs.concurrency = 0))).toContain("shred-day:jobs.concurrency = 0: must be 1..16 (JOB_CONCURRENCY: worker processes per jobs host), e.g. 2");
        expect(refusal((c) => (c.jobs.concurrency = 17))).toContain("shred-day:jobs.concurrency = 17: must be 1..16 (JOB_CONCURRENCY: worker processes per jobs host); for more, add a jobs host to jobs.hosts");
    });
    test("a duplicate jobs host name", () => {
        expect(
            refusal((c) => c.jobs.hosts.push({ name: "shred-day-jobs-ubuntu", privateIp: "10.0.0.4" })),
        ).toContain('shred-day:jobs.hosts[1].name = "shred-day-jobs-ubuntu": already used by jobs.hosts[0].name; server names must be unique');
    });
    test.each(["true", "false", "1", ""])("SOLID_QUEUE_IN_PUMA=%j in app.env", (value) => {
        expect(refusal((c) => (c.app.env.SOLID_QUEUE_IN_PUMA = value))).toContain(
            `shred-day:app.env.SOLID_QUEUE_IN_PUMA = ${JSON.stringify(value)}: any value (even "false") starts Solid Queue inside Puma on the web host; remove it, jobs run on the jobs hosts`,
        );
    });
    test("SOLID_QUEUE_IN_PUMA smuggled in through appSecrets", () => {
        expect(refusal((c) => (c.appSecrets.SOLID_QUEUE_IN_PUMA = "false"))).toContain("shred-day:appSecrets.SOLID_QUEUE_IN_PUMA = [secret]");
    });
    test("activeStorageService: local with a jobs host", () => {
        expect(refusal((c) => (c.app.activeStorageService = "local"))).toContain(
            'shred-day:app.activeStorageService = "local": jobs on the jobs hosts cannot read files on the web host\'s disk',
        );
    });
    test("a missing required secret, without echoing any secret", () => {
        const msg = refusal((c) => delete c.postgresPassword);
        expect(msg).toContain("shred-day:postgresPassword = missing: is required; set it with `pulumi config set --secret shred-day:postgresPassword`");
        const master = refusal((c) => delete c.appSecrets.RAILS_MASTER_KEY);
        expect(master).toContain("shred-day:appSecrets.RAILS_MASTER_KEY = missing");
        const short = refusal((c) => (c.postgresPassword = "short"));
        expect(short).toContain("shred-day:postgresPassword = [secret]: must be at least 16 characters");
        for (const m of [msg, master, short]) for (const s of SECRET_VALUES) expect(m).not.toContain(s);
        expect(short).not.toContain("short\"");
    });
    test("the registry password when a registry is set", () => {
        expect(refusal((c) => delete c.registryPassword)).toContain("shred-day:registryPassword = missing: app.registry is set");
    });
    test("an unknown key at the top and inside an object", () => {
        expect(refusal((c) => (c.jobz = { concurrency: 3 }))).toContain("shred-day:jobz is not a setting of this program (a typo?)");
        expect(refusal((c) => (c.jobs.concurency = 3))).toContain("shred-day:jobs.concurency is not a setting of this program (a typo?); remove it or use one of: serverType, image, concurrency, hosts, env");
        expect(refusal((c) => (c.jobs.hosts[0].privateIP = "10.0.0.9"))).toContain(
            "shred-day:jobs.hosts[0].privateIP is not a setting of this program (a typo?); remove it or use one of: name, privateIp",
        );
    });
    test("a fractional concurrency and too few images kept for a rollback", () => {
        expect(refusal((c) => (c.jobs.concurrency = 2.5))).toContain("shred-day:jobs.concurrency = 2.5: must be a whole number from 1 to 16");
        expect(refusal((c) => (c.app.keepImages = 1))).toContain(
            "shred-day:app.keepImages = 1: must be 2..20: the running image and at least one to roll back to without a pull",
        );
    });
    test("every problem is listed at once", () => {
        const msg = refusal((c) => {
            c.jobs.concurrency = 0;
            c.extra = 1;
        });
        expect(msg).toMatch(/2 problem\(s\)/);
    });
    test("program-owned env names", () => {
        expect(refusal((c) => (c.app.env.DATABASE_URL = "postgres://x"))).toContain("shred-day:app.env.DATABASE_URL");
        expect(refusal((c) => (c.app.env.JOB_CONCURRENCY = "5"))).toContain("use jobs.concurrency for JOB_CONCURRENCY");
    });
    test("a postgres image without a pinned major, and no queue database", () => {
        expect(refusal((c) => (c.postgres.image = "postgres:latest"))).toContain(
            'shred-day:postgres.image = "postgres:latest": "latest" moves whenever someone pushes: a release must name fixed bits; use a version tag or a digest, e.g. postgres:16',
        );
        expect(refusal((c) => (c.postgres.image = "postgres:bookworm"))).toContain(
            'shred-day:postgres.image = "postgres:bookworm": its tag must start with the Postgres major version',
        );
        expect(refusal((c) => (c.postgres.databases = ["shred_day_production"]))).toContain("no queue database; add shred_day_production_queue");
    });
    test("an empty jobs host list", () => {
        expect(refusal((c) => (c.jobs.hosts = []))).toContain("shred-day:jobs.hosts = []: must list at least one jobs host");
    });
    test("a zone that does not match the location", () => {
        expect(refusal((c) => (c.network.zone = "us-east"))).toContain('shred-day:network.zone = "us-east": location fsn1 is in network zone eu-central');
    });
});

describe("engine config", () => {
    test("JSON objects are decoded and other namespaces are left to their providers", () => {
        const raw = rawFromEngineConfig({
            "hcloud:token": "x",
            "shred-day:location": "fsn1",
            "shred-day:jobs": '{"concurrency":2}',
        });
        expect(raw).toEqual({ location: "fsn1", jobs: { concurrency: 2 } });
    });
});

describe("role env", () => {
    test("web.env and jobs.env are checked like app.env", () => {
        expect(refusal((c) => (c.web.env = { SOLID_QUEUE_IN_PUMA: "1" }))).toContain("shred-day:web.env.SOLID_QUEUE_IN_PUMA = \"1\"");
        expect(refusal((c) => (c.jobs.env = { DATABASE_URL: "x" }))).toContain("shred-day:jobs.env.DATABASE_URL");
    });
    test("a multi-line value is refused (docker --env-file takes one line per variable)", () => {
        expect(refusal((c) => (c.app.env.BANNER = "a\nb"))).toContain(
            'shred-day:app.env.BANNER = "a\\nb": must be one line (docker --env-file cannot carry newlines)',
        );
    });
});
