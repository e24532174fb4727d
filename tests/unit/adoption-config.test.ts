/** The adoption keys of the stack config: what is accepted, derived and refused (key, value, fix). */
import { ConfigError, kamalProxyService, parseConfig } from "../../stacks/config";
import { productionConfig } from "../support/fixtures";

function problems(mutate: (c: Record<string, any>) => void): string[] {
    const c = productionConfig();
    mutate(c);
    try {
        parseConfig(c);
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
}

describe("adoption keys", () => {
    test("the production fixture adopts network, web and jobs servers and Kamal's accessory", () => {
        const c = parseConfig(productionConfig());
        expect(c.network.importId).toBe("4711");
        expect(c.jobs.hosts[0]).toMatchObject({ importId: "23456789", publicIp: "203.0.113.20" });
        expect(c.postgres).toMatchObject({ adoptFrom: "shred-day-db", dataDir: "/root/shred-day-db/data", initialize: false, handBack: false });
        expect(c.firewalls).toEqual({});
    });

    test("ids may be YAML numbers; non-numeric ids are refused with the key", () => {
        expect(parseConfig({ ...productionConfig(), firewalls: { web: { importId: 555 } } }).firewalls.web?.importId).toBe("555");
        expect(problems((c) => (c.network.importId = "net-1"))).toEqual(['shred-day:network.importId = "net-1": must be the numeric hcloud network id']);
        expect(problems((c) => (c.firewalls = { jobs: { importId: "x" } }))).toEqual(['shred-day:firewalls.jobs.importId = "x": must be the numeric hcloud firewall id']);
    });

    test("an adopted jobs server needs its public IP (the check compares it)", () => {
        expect(problems((c) => delete c.jobs.hosts[0].publicIp)).toEqual([
            "shred-day:jobs.hosts[0].publicIp = missing: an adopted jobs server (jobs.hosts[0].importId set) needs its public IP, so the program can check that the id is this host (`hcloud server list -o columns=id,name,ipv4`)",
        ]);
    });

    test("one server id for two hosts, one firewall for both roles: refused", () => {
        expect(problems((c) => (c.jobs.hosts[0].importId = c.web.importId))[0]).toMatch(/^shred-day:jobs\.hosts\[0\]\.importId = "12345678": that is web\.importId too/);
        expect(problems((c) => (c.firewalls = { web: { importId: "5" }, jobs: { importId: "5" } }))[0]).toMatch(/^shred-day:firewalls\.jobs\.importId = "5": that is firewalls\.web\.importId too/);
    });

    test("postgres.dataDir has no default: missing is refused", () => {
        expect(problems((c) => delete c.postgres.dataDir)).toEqual(["shred-day:postgres.dataDir = missing: is required"]);
    });

    test("postgres.initialize with adoptFrom, and handBack without adoptFrom: refused", () => {
        expect(problems((c) => (c.postgres.initialize = true))).toEqual([
            'shred-day:postgres.initialize = true: postgres.adoptFrom = "shred-day-db" takes over an existing cluster, which is never initialised; remove postgres.initialize (it is only for a brand-new, empty cluster)',
        ]);
        expect(
            problems((c) => {
                delete c.postgres.adoptFrom;
                c.postgres.handBack = true;
            }),
        ).toEqual([
            "shred-day:postgres.handBack = true: a hand back returns the data to the container named in postgres.adoptFrom, which is not set; set postgres.adoptFrom to the old accessory's container name, or remove postgres.handBack",
        ]);
        expect(problems((c) => (c.postgres.adoptFrom = "bad name!"))[0]).toMatch(/^shred-day:postgres\.adoptFrom = "bad name!": must be a Docker container name/);
    });

    test("web.appPort: Kamal's proxy.app_port, default 80", () => {
        expect(parseConfig(productionConfig()).web.appPort).toBe(80);
        expect(parseConfig({ ...productionConfig(), web: { ...productionConfig().web, appPort: 3000 } }).web.appPort).toBe(3000);
        expect(problems((c) => (c.web.appPort = 70000))).toEqual(["shred-day:web.appPort = 70000: must be a port 1..65535, e.g. 80 (Kamal's proxy.app_port)"]);
    });

    test("the kamal-proxy service name is Kamal's: service-role[-destination]", () => {
        expect(parseConfig(productionConfig()).web.proxyService).toBe("shred-day-web");
        const c = productionConfig();
        c.web.kamal = { destination: "production" };
        expect(parseConfig(c).web.proxyService).toBe("shred-day-web-production");
        expect(kamalProxyService({ service: "shredday", role: "web" })).toBe("shredday-web");
    });
});

describe("the first rollout replaces Kamal's route", () => {
    test("web-rollout gets web.appPort and Kamal's proxy service name (destination included)", async () => {
        const { evaluate } = await import("../../scripts/evaluate");
        const c = productionConfig();
        c.web.appPort = 3000;
        c.web.kamal = { destination: "production" };
        const e = await evaluate(c);
        const create: string = e.named("release-web").inputs.create;
        expect(create).toContain("APP_PORT='3000'");
        expect(create).toContain("PROXY_SERVICE='shred-day-web-production'");
        expect(create).toContain('proxy_service=${PROXY_SERVICE:-$SERVICE-web}');
    });

    test("web-rollout gets web.kamal's labels, so it retires Kamal's web containers of that service, role and destination", async () => {
        const { evaluate } = await import("../../scripts/evaluate");
        const c = productionConfig();
        c.web.kamal = { service: "myapp", role: "frontend", destination: "production" };
        const create: string = (await evaluate(c)).named("release-web").inputs.create;
        expect(create).toMatch(/^(?:.* )?KAMAL_DESTINATION='production' KAMAL_ROLE='frontend' KAMAL_SERVICE='myapp' /);
        expect(create).toContain("PROXY_SERVICE='myapp-frontend-production'");
        // no destination: none passed, the script matches Kamal's empty destination label
        const plain: string = (await evaluate(productionConfig())).named("release-web").inputs.create;
        expect(plain).toContain("KAMAL_ROLE='web' KAMAL_SERVICE='shred-day' ");
        expect(plain).not.toContain("KAMAL_DESTINATION=");
    });

    test("jobs-retire gets web.kamal's service and destination, so it retires Kamal's `job` containers of the old setup on each jobs host", async () => {
        const { evaluate } = await import("../../scripts/evaluate");
        const c = productionConfig();
        c.web.kamal = { service: "myapp", role: "frontend", destination: "production" };
        const create: string = (await evaluate(c)).named("release-jobs-retire-shred-day-jobs-ubuntu").inputs.create;
        expect(create).toContain("KAMAL_DESTINATION='production' KAMAL_SERVICE='myapp' ");
        expect(create).not.toContain("KAMAL_ROLE="); // Kamal's jobs role is `job` (the script's default), not the web role
        const plain: string = (await evaluate(productionConfig())).named("release-jobs-retire-shred-day-jobs-ubuntu").inputs.create;
        expect(plain).toContain("KAMAL_SERVICE='shred-day' ");
        expect(plain).not.toContain("KAMAL_DESTINATION=");
    });
});
