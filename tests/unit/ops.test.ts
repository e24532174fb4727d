/**
 * `npm run ops`: the pure decisions (arguments, hosts, ssh argv, parsing and judging the
 * status records, formatting, exit codes) with plain jest; main() for the verbs that need no
 * host (help, usage errors, `hosts`), with a fake `pulumi` CLI where the stack outputs matter.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs, parseHostIp, UsageError } from "../../scripts/ops/args";
import { hostnamePrefixes, Inventory, inventoryFromConfig, inventoryFromOutputs, opsConfigFromRaw, selectHosts, SetupError } from "../../scripts/ops/inventory";
import { EXPECTED, logsParams, remoteExitCode, statusParams } from "../../scripts/ops/main";
import { linePrefixer, sshArgv, sshError, SshSettings } from "../../scripts/ops/ssh";
import { assess, explainUnreachable, formatAge, formatBytes, HostResult, parseProbe, processHost, statusExitCode } from "../../scripts/ops/status";
import { HOST_KEYS, shippedConfig } from "../support/fixtures";
import { useOpsProject } from "../support/opsProject";

/** The shipped stack file's values (tests/support/fixtures.ts), never the user's Pulumi.production.yaml. */
const production = () => opsConfigFromRaw(shippedConfig(), []);

const OUTPUTS = {
    hosts: {
        "shred-day-web": { role: "web", publicIp: "91.99.62.190", privateIp: "10.0.0.3", ssh: "ssh root@91.99.62.190", hostKey: HOST_KEYS.web },
        "shred-day-jobs-ubuntu": { role: "jobs", publicIp: "203.0.113.20", privateIp: "10.0.0.2", ssh: "ssh root@203.0.113.20", hostKey: HOST_KEYS.jobs },
    },
    logs: {},
};

describe("parseArgs", () => {
    test("verbs with their options, options before or after the verb", () => {
        expect(parseArgs(["status"])).toMatchObject({ verb: "status", stack: "production", pulumi: true, json: false });
        expect(parseArgs(["--stack", "staging", "logs", "jobs", "-f", "--since", "10m", "--host", "shred-day-jobs-2"])).toMatchObject({
            verb: "logs",
            target: "jobs",
            follow: true,
            since: "10m",
            hosts: ["shred-day-jobs-2"],
            stack: "staging",
        });
        expect(parseArgs(["logs", "postgres", "--tail=20"])).toMatchObject({ target: "postgres", tail: "20" });
        expect(parseArgs(["logs", "web", "--since", "2024-05-01T10:00:00Z"]).since).toBe("2024-05-01T10:00:00Z");
        expect(parseArgs(["dbconsole", "--queue"])).toMatchObject({ verb: "dbconsole", queue: true });
        expect(parseArgs(["console", "--image", "ghcr.io/o/shred-day:v1", "--no-pulumi"])).toMatchObject({ image: "ghcr.io/o/shred-day:v1", pulumi: false });
        expect(parseArgs(["status", "--host-ip", "shred-day-jobs-ubuntu=203.0.113.20", "--host-ip", "shred-day-web=127.0.0.1:2222"]).hostIps).toEqual({
            "shred-day-jobs-ubuntu": { address: "203.0.113.20" },
            "shred-day-web": { address: "127.0.0.1", port: 2222 },
        });
        expect(parseArgs(["status", "--ssh-port", "2222", "--ssh-option", "UserKnownHostsFile=/tmp/kh", "--identity", "/k"])).toMatchObject({
            sshPort: 2222,
            sshOptions: ["UserKnownHostsFile=/tmp/kh"],
            identity: "/k",
        });
    });

    test("help: no verb, help, -h", () => {
        expect(parseArgs([]).verb).toBe("help");
        expect(parseArgs(["help"]).verb).toBe("help");
        expect(parseArgs(["status", "-h"]).verb).toBe("help");
    });

    test("environment: SHRED_DAY_SSH_KEY and SHRED_DAY_STACK; flags win", () => {
        expect(parseArgs(["status"], { SHRED_DAY_SSH_KEY: "/keys/deploy", SHRED_DAY_STACK: "staging" })).toMatchObject({ identity: "/keys/deploy", stack: "staging" });
        expect(parseArgs(["status", "--identity", "/other", "--stack", "production"], { SHRED_DAY_SSH_KEY: "/keys/deploy", SHRED_DAY_STACK: "staging" })).toMatchObject({
            identity: "/other",
            stack: "production",
        });
    });

    test.each([
        [["deploy"], /unknown verb 'deploy'; one of: status, logs, console, dbconsole, hosts, help/],
        [["logs"], /logs needs one of: web, jobs, postgres, proxy$/],
        [["logs", "db"], /logs needs one of: web, jobs, postgres, proxy \(got 'db'\)/],
        [["logs", "jobs", "--since", "yesterday"], /--since 'yesterday': expected a duration such as 10m/],
        [["logs", "jobs", "--tail", "-5"], /--tail needs a value/],
        [["logs", "jobs", "--tail", "lots"], /--tail 'lots': expected a number of lines/],
        [["logs", "jobs", "--since"], /--since needs a value/],
        [["status", "--follow"], /--follow does not apply to 'status'/],
        [["dbconsole", "--host", "shred-day-web"], /--host does not apply to 'dbconsole'/],
        [["dbconsole", "--db", "x", "--queue"], /--db and --queue: give one/],
        [["console", "--host", "a", "--host", "b"], /console runs on one host/],
        [["status", "extra"], /'status' takes no argument 'extra'/],
        [["status", "--bogus"], /unknown option --bogus/],
        [["status", "--stack", "a", "--stack", "b"], /--stack given twice/],
        [["status", "--host-ip", "web"], /--host-ip 'web': expected NAME=IP/],
        [["status", "--host-ip", "web=1.2.3.4:99999"], /not a port/],
        [["status", "--ssh-port", "0"], /--ssh-port: '0' is not a port/],
        [["status", "--ssh-option", "-v"], /--ssh-option needs a value/],
        [["status", "--ssh-option", "novalue"], /expected Name=value/],
        [["status", "--outputs", "o.json", "--no-pulumi"], /--outputs and --no-pulumi: give one/],
        [["console", "--image", "Bad Image"], /--image 'Bad Image'/],
        [["dbconsole", "--db", "x; drop"], /--db 'x; drop' is not a database name/],
    ])("usage error: %j", (argv, message) => {
        expect(() => parseArgs(argv)).toThrow(UsageError);
        expect(() => parseArgs(argv)).toThrow(message);
    });

    test("parseHostIp accepts an IP or a DNS name, with an optional port", () => {
        expect(parseHostIp("shred-day-web=91.99.62.190")).toEqual(["shred-day-web", { address: "91.99.62.190" }]);
        expect(parseHostIp("shred-day-web=web.example.com:22")).toEqual(["shred-day-web", { address: "web.example.com", port: 22 }]);
        expect(() => parseHostIp("Shred=1.2.3.4")).toThrow(UsageError);
    });
});

describe("inventory", () => {
    test("the production stack file: user, hosts and the queue database, no secrets", () => {
        expect(production()).toEqual({
            user: "root",
            web: { name: "shred-day-web", publicIp: "91.99.62.190", privateIp: "10.0.0.3" },
            jobs: [{ name: "shred-day-jobs-ubuntu", privateIp: "10.0.0.2" }],
            postgres: {
                user: "shred_day",
                primary: "shred_day_production",
                queue: "shred_day_production_queue",
                databases: ["shred_day_production", "shred_day_production_queue", "shred_day_production_cache", "shred_day_production_cable"],
            },
            encrypted: expect.any(Array),
        });
    });

    test("without the CLI: the web host at web.publicIp, jobs hosts through it at their private IP", () => {
        const inv = inventoryFromConfig(production());
        expect(inv.hosts).toEqual([
            { name: "shred-day-web", role: "web", address: "91.99.62.190", publicIp: "91.99.62.190", privateIp: "10.0.0.3" },
            { name: "shred-day-jobs-ubuntu", role: "jobs", address: "10.0.0.2", via: "shred-day-web", privateIp: "10.0.0.2" },
        ]);
        expect(inv.postgres).toMatchObject({ container: "shred-day-postgres", user: "shred_day", queue: "shred_day_production_queue" });
        expect(inv.notes).toEqual(["jobs hosts are reached through shred-day-web at their private IPs (no public IPs without the stack outputs)"]);
    });

    test("--host-ip reaches a host directly; --ssh-port applies to the rest", () => {
        const inv = inventoryFromConfig(production(), { overrides: { "shred-day-jobs-ubuntu": { address: "203.0.113.20", port: 2200 } }, sshPort: 2222 });
        expect(inv.hosts.map((h) => [h.name, h.address, h.port, h.via])).toEqual([
            ["shred-day-web", "91.99.62.190", 2222, undefined],
            ["shred-day-jobs-ubuntu", "203.0.113.20", 2200, undefined],
        ]);
        expect(inv.notes).toEqual([]);
        expect(() => inventoryFromConfig(production(), { overrides: { nope: { address: "1.2.3.4" } } })).toThrow(/--host-ip nope: no such host; the hosts are shred-day-web, shred-day-jobs-ubuntu/);
    });

    test("without web.publicIp and without outputs, say what to pass", () => {
        const cfg = production();
        delete cfg.web.publicIp;
        expect(() => inventoryFromConfig(cfg)).toThrow(SetupError);
        expect(() => inventoryFromConfig(cfg)).toThrow(/pass --host-ip shred-day-web=IP/);
        expect(inventoryFromConfig(cfg, { overrides: { "shred-day-web": { address: "198.51.100.1" } } }).hosts[0].address).toBe("198.51.100.1");
    });

    test("stack file problems name the key", () => {
        const raw = shippedConfig();
        delete raw.web.name;
        expect(() => opsConfigFromRaw(raw)).toThrow(/shred-day:web.name is missing/);
        const noQueue = shippedConfig();
        noQueue.postgres.databases = ["shred_day_production"];
        expect(() => opsConfigFromRaw(noQueue)).toThrow(/has no _queue database/);
        const noJobs = shippedConfig();
        noJobs.jobs.hosts = [];
        expect(() => opsConfigFromRaw(noJobs)).toThrow(/jobs.hosts is missing or empty/);
    });

    test("from the stack outputs: every host directly at its public IP, web first", () => {
        const reversed = { hosts: Object.fromEntries(Object.entries(OUTPUTS.hosts).reverse()) };
        const inv = inventoryFromOutputs(reversed, production());
        expect(inv.hosts).toEqual([
            { name: "shred-day-web", role: "web", address: "91.99.62.190", publicIp: "91.99.62.190", privateIp: "10.0.0.3", hostKey: HOST_KEYS.web },
            { name: "shred-day-jobs-ubuntu", role: "jobs", address: "203.0.113.20", publicIp: "203.0.113.20", privateIp: "10.0.0.2", hostKey: HOST_KEYS.jobs },
        ]);
        expect(inv.notes).toEqual([]);
        const cfg = production();
        cfg.jobs.push({ name: "shred-day-jobs-2", privateIp: "10.0.0.4" });
        expect(inventoryFromOutputs(OUTPUTS, cfg).notes).toEqual(["in the stack file but not in the stack outputs (not deployed yet?): shred-day-jobs-2"]);
    });

    test("bad outputs are refused", () => {
        expect(() => inventoryFromOutputs({}, production())).toThrow(/no `hosts` \(has `pulumi up` run/);
        expect(() => inventoryFromOutputs({ hosts: { a: { role: "db", publicIp: "1.2.3.4", privateIp: "10.0.0.9" } } }, production())).toThrow(/hosts.a is not/);
        expect(() => inventoryFromOutputs({ hosts: { a: { role: "jobs", publicIp: "1.2.3.4", privateIp: "10.0.0.9" } } }, production())).toThrow(/0 web hosts/);
    });

    test("selectHosts: which host each verb runs on", () => {
        const cfg = production();
        cfg.jobs.push({ name: "shred-day-jobs-2", privateIp: "10.0.0.4" });
        const inv = inventoryFromConfig(cfg);
        const names = (hs: { name: string }[]) => hs.map((h) => h.name);
        expect(names(selectHosts(inv, "status", undefined, []))).toEqual(["shred-day-web", "shred-day-jobs-ubuntu", "shred-day-jobs-2"]);
        expect(names(selectHosts(inv, "logs", "jobs", []))).toEqual(["shred-day-jobs-ubuntu", "shred-day-jobs-2"]);
        expect(names(selectHosts(inv, "logs", "jobs", ["shred-day-jobs-2"]))).toEqual(["shred-day-jobs-2"]);
        for (const t of ["web", "postgres", "proxy"]) expect(names(selectHosts(inv, "logs", t, []))).toEqual(["shred-day-web"]);
        expect(names(selectHosts(inv, "logs", "web", ["shred-day-web"]))).toEqual(["shred-day-web"]);
        expect(names(selectHosts(inv, "console", undefined, []))).toEqual(["shred-day-jobs-ubuntu"]);
        expect(names(selectHosts(inv, "console", undefined, ["shred-day-jobs-2"]))).toEqual(["shred-day-jobs-2"]);
        expect(names(selectHosts(inv, "dbconsole", undefined, []))).toEqual(["shred-day-web"]);
        expect(() => selectHosts(inv, "logs", "jobs", ["shred-day-web"])).toThrow(/--host shred-day-web is a web host; logs jobs runs on jobs hosts \(shred-day-jobs-ubuntu, shred-day-jobs-2\)/);
        expect(() => selectHosts(inv, "logs", "postgres", ["shred-day-jobs-2"])).toThrow(/logs postgres runs on web hosts/);
        expect(() => selectHosts(inv, "console", undefined, ["shred-day-web"])).toThrow(/console runs on jobs hosts/);
        expect(() => selectHosts(inv, "logs", "jobs", ["nope"])).toThrow(/--host nope: no such host/);
    });

    test("hostname prefixes: the host name (cut as containerHostname cuts it), its addresses", () => {
        const inv = inventoryFromOutputs(OUTPUTS, production());
        expect(hostnamePrefixes(inv.hosts[0])).toEqual(["shred-day-web", "10.0.0.3", "91.99.62.190"]);
        const long = "j".repeat(60);
        expect(hostnamePrefixes({ name: long, role: "jobs", address: "x", privateIp: "10.0.0.9" })).toEqual([long, "j".repeat(52), "10.0.0.9"]);
    });
});

describe("ssh argv", () => {
    const settings: SshSettings = { user: "root", options: ["UserKnownHostsFile=/tmp/kh"], connectTimeoutSeconds: 10 };
    const inv = inventoryFromConfig(production(), { sshPort: 2222 });

    test("a direct host: the caller's options first (ssh keeps the first value), then the program's", () => {
        expect(sshArgv({ ...settings, identity: "/keys/deploy", config: "/dev/null" }, inv, inv.hosts[0], "CMD")).toEqual([
            "-T",
            "-F",
            "/dev/null",
            "-o",
            "UserKnownHostsFile=/tmp/kh",
            "-i",
            "/keys/deploy",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "UpdateHostKeys=no",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=3",
            "-o",
            "LogLevel=ERROR",
            "-p",
            "2222",
            "root@91.99.62.190",
            "--",
            "CMD",
        ]);
    });

    test("no key file: the agent; a terminal only when asked", () => {
        const argv = sshArgv({ ...settings, options: [] }, inv, inv.hosts[0], "CMD", { tty: true });
        expect(argv[0]).toBe("-tt");
        expect(argv).not.toContain("-i");
        expect(argv).not.toContain("IdentitiesOnly=yes");
    });

    test("a host behind the web host: a ProxyCommand ssh -W with the same key, options and port", () => {
        const argv = sshArgv({ ...settings, identity: "/keys/100%deploy" }, inv, inv.hosts[1], "CMD");
        const i = argv.indexOf("-o", argv.indexOf("2222"));
        const proxy = argv[i + 1];
        expect(proxy).toBe(
            "ProxyCommand='ssh' '-T' '-o' 'UserKnownHostsFile=/tmp/kh' '-i' '/keys/100%%deploy' '-o' 'IdentitiesOnly=yes' '-o' 'StrictHostKeyChecking=yes' '-o' 'UpdateHostKeys=no' '-o' 'BatchMode=yes' '-o' 'ConnectTimeout=10' '-o' 'ServerAliveInterval=15' '-o' 'ServerAliveCountMax=3' '-o' 'LogLevel=ERROR' '-p' '2222' '-W' %h:%p 'root@91.99.62.190'",
        );
        expect(argv.slice(-3)).toEqual(["root@10.0.0.2", "--", "CMD"]);
    });

    test("sshError: the reason, without the known-hosts chatter", () => {
        expect(sshError("Warning: Permanently added '1.2.3.4' (ED25519) to the list of known hosts.\nssh: connect to host 1.2.3.4 port 22: Connection refused\n", false)).toBe(
            "ssh: connect to host 1.2.3.4 port 22: Connection refused",
        );
        expect(sshError("", true)).toBe("timed out");
        expect(sshError("", false)).toBe("ssh failed without a message");
    });

    test("linePrefixer prefixes whole lines across chunks", () => {
        let out = "";
        const p = linePrefixer("[h] ", (s) => (out += s));
        p.push("a\nb");
        p.push("c\n");
        p.push("d");
        p.end();
        expect(out).toBe("[h] a\n[h] bc\n[h] d\n");
    });
});

// ---------------------------------------------------------------------------------------
const T = "\t";
const rec = (...f: (string | number)[]) => f.join(T);
const NOW = 1_714_557_600; // 2024-05-01T10:00:00Z

function webProbe(extra: string[] = []): string {
    return [
        rec("now", NOW),
        rec("container", "shred-day-web-abc", "img:v2", "running", "2024-05-01T08:00:00.5Z", "healthy", 0, "shred-day-web-abc", "shred-day", "web"),
        rec("container", "kamal-proxy", "basecamp/kamal-proxy:v0.9.0", "running", "2024-04-01T10:00:00Z", "", 0, "abc", "kamal-proxy", ""),
        rec("container", "shred-day-postgres", "postgres:16", "running", "2024-04-01T10:00:00Z", "healthy", 0, "pg", "shred-day", "postgres"),
        rec("memory", 4 * 1024 ** 3, 1024 ** 3, 0, 0),
        rec("process", 1, "Supervisor(fork)", "shred-day-jobs-ubuntu-abc", 1, 10, "", "sup"),
        rec("process", 2, "Worker", "shred-day-jobs-ubuntu-abc", 2, 10, 1, "w"),
        rec("jobs", "ready", 0, ""),
        rec("jobs", "scheduled", 0, ""),
        rec("jobs", "scheduled_due", 0, ""),
        rec("jobs", "claimed", 0, ""),
        rec("jobs", "claimed_orphaned", 0, ""),
        rec("jobs", "failed", 0, ""),
        rec("jobs", "blocked", 0, ""),
        ...extra,
        "",
    ].join("\n");
}
const jobsProbe = (containers = true) =>
    [rec("now", NOW), ...(containers ? [rec("container", "shred-day-jobs-abc", "img:v2", "running", "2024-05-01T08:00:00Z", "", 0, "shred-day-jobs-ubuntu-abc", "shred-day", "jobs")] : []), ""].join("\n");

function results(web: string, jobs: string | null = jobsProbe()): { inv: Inventory; rs: HostResult[] } {
    const inv = inventoryFromOutputs(OUTPUTS, production());
    return {
        inv,
        rs: [
            { host: inv.hosts[0], reachable: true, probe: parseProbe(web) },
            jobs === null ? { host: inv.hosts[1], reachable: false, error: "ssh: connect to host 203.0.113.20 port 22: Connection timed out" } : { host: inv.hosts[1], reachable: true, probe: parseProbe(jobs) },
        ],
    };
}

describe("status: parsing and judging", () => {
    test("parseProbe reads every record; unknown ones are ignored", () => {
        const p = parseProbe(webProbe([rec("queue", "default", 2, 30), rec("paused", "mailers"), rec("future-record", "x")]));
        expect(p.now).toBe(NOW);
        expect(p.containers[0]).toEqual({
            name: "shred-day-web-abc",
            image: "img:v2",
            state: "running",
            startedAt: NOW - 7200,
            health: "healthy",
            restarts: 0,
            hostname: "shred-day-web-abc",
            service: "shred-day",
            role: "web",
        });
        expect(p.memory).toEqual({ total: 4 * 1024 ** 3, available: 1024 ** 3, swapTotal: 0, swapFree: 0 });
        expect(p.queue!.processes[1]).toEqual({ id: 2, kind: "Worker", hostname: "shred-day-jobs-ubuntu-abc", pid: "2", heartbeatAgeSeconds: 10, supervisorId: 1, name: "w" });
        expect(p.queue!.processes[0].supervisorId).toBeUndefined();
        expect(p.queue!.jobs.ready).toEqual({ count: 0 });
        expect(p.queue!.queues).toEqual([{ name: "default", ready: 2, oldestAgeSeconds: 30 }]);
        expect(p.queue!.paused).toEqual(["mailers"]);
        expect(parseProbe("container\t/x\ti\trunning\t0001-01-01T00:00:00Z\t\t0\th\t\t\n").containers[0].startedAt).toBeUndefined();
        expect(parseProbe(rec("docker-error", "docker ps failed: Cannot connect")).dockerError).toBe("docker ps failed: Cannot connect");
        expect(parseProbe(rec("queue-error", 'FATAL: database "x" does not exist')).queueError).toBe('FATAL: database "x" does not exist');
    });

    test("processHost: a reported container hostname, else the longest prefix, else none", () => {
        const cfg = production();
        cfg.jobs.push({ name: "shred-day-jobs-ubuntu-2", privateIp: "10.0.0.4" });
        const inv = inventoryFromConfig(cfg);
        const rs: HostResult[] = inv.hosts.map((host) => ({ host, reachable: true, probe: parseProbe("") }));
        rs[0].probe!.containers.push(parseProbe(rec("container", "x", "i", "running", "", "", 0, "custom-host", "", "")).containers[0]);
        expect(processHost("custom-host", rs)).toBe("shred-day-web");
        expect(processHost("shred-day-jobs-ubuntu-0123456789", rs)).toBe("shred-day-jobs-ubuntu");
        expect(processHost("shred-day-jobs-ubuntu-2-0123456789", rs)).toBe("shred-day-jobs-ubuntu-2");
        expect(processHost("91.99.62.190-1a2b3c4d5e6f", rs)).toBe("shred-day-web"); // Kamal's web container
        expect(processHost("10.0.0.2-1a2b3c4d5e6f", rs)).toBe("shred-day-jobs-ubuntu"); // Kamal's job role
        expect(processHost("shred-day-jobs-ubuntuX", rs)).toBeUndefined();
        expect(processHost("laptop.local", rs)).toBeUndefined();
    });

    test("all well: healthy, exit 0", () => {
        const { inv, rs } = results(webProbe());
        const a = assess(inv, rs, EXPECTED, 300);
        expect(a.problems).toEqual([]);
        expect(a.warnings).toEqual([]);
        expect(statusExitCode(a)).toBe(0);
        expect(a.processes.get("shred-day-jobs-ubuntu")!.map((p) => p.kind)).toEqual(["Supervisor(fork)", "Worker"]);
    });

    test("every unhealthy case is named; exit 1", () => {
        const web = webProbe([
            rec("process", 3, "Supervisor(async)", "shred-day-web-abc", 1, 5, "", "puma"),
            rec("process", 4, "Worker", "laptop", 1, 5, "", "x"),
        ])
            .replace("shred-day-postgres\tpostgres:16\trunning", "shred-day-postgres\tpostgres:16\trestarting")
            .replace(/^container\tkamal-proxy.*\n/m, "")
            .replace(/^process\t2\t.*\n/m, rec("process", 2, "Worker", "shred-day-jobs-ubuntu-abc", 2, 400, 1, "w") + "\n");
        const { inv, rs } = results(web, jobsProbe(false));
        const a = assess(inv, rs, EXPECTED, 300);
        expect(a.problems).toEqual([
            "shred-day-web: container shred-day-postgres is restarting",
            "shred-day-web: shred-day-postgres is not running",
            "shred-day-web: kamal-proxy is not running",
            "shred-day-jobs-ubuntu: no shred-day jobs container is running",
            "shred-day-web: 1 live Solid Queue process(es) registered from the web host (Supervisor(async) shred-day-web-abc): jobs must run on the jobs hosts only; is SOLID_QUEUE_IN_PUMA still set, or a Kamal container still running?",
            "shred-day-jobs-ubuntu: no live Solid Queue worker",
        ]);
        expect(a.warnings).toEqual(["live Solid Queue process(es) from hostnames of no known host: Worker laptop"]);
        expect(statusExitCode(a)).toBe(1);
    });

    test("an unreachable host, a failed script, docker down, an unreadable queue: problems, the rest still judged", () => {
        const { inv, rs } = results(webProbe(), null);
        // its processes still count (the queue lives on the web host): only the silence is a problem
        expect(assess(inv, rs, EXPECTED, 300).problems).toEqual(["shred-day-jobs-ubuntu: did not answer (ssh: connect to host 203.0.113.20 port 22: Connection timed out)"]);
        const docker = results(rec("now", NOW) + "\n" + rec("docker-error", "docker ps failed: Cannot connect to the Docker daemon") + "\n" + rec("queue-error", "Error response from daemon") + "\n");
        expect(assess(docker.inv, docker.rs, EXPECTED, 300).problems).toEqual([
            "shred-day-web: docker ps failed: Cannot connect to the Docker daemon",
            "queue database shred_day_production_queue: not readable: Error response from daemon",
        ]);
        const failed = results(webProbe());
        failed.rs[0] = { host: failed.rs[0].host, reachable: true, error: "exit 2: ops-status: LIVE_SECONDS must be a whole number" };
        expect(assess(failed.inv, failed.rs, EXPECTED, 300).problems).toEqual(["shred-day-web: the status script failed: exit 2: ops-status: LIVE_SECONDS must be a whole number"]);
    });

    test("a host behind an unreachable web host is reported as such", () => {
        const inv = inventoryFromConfig(production());
        const down: HostResult[] = [
            { host: inv.hosts[0], reachable: false, error: "ssh: connect to host 91.99.62.190 port 22: Connection timed out" },
            { host: inv.hosts[1], reachable: false, error: "Connection closed by UNKNOWN port 65535" },
        ];
        expect(explainUnreachable(down).map((r) => r.error)).toEqual([
            "ssh: connect to host 91.99.62.190 port 22: Connection timed out",
            "not reached: it is reached through shred-day-web, which did not answer",
        ]);
        const jobsOnly = [{ ...down[0], reachable: true, error: undefined }, down[1]];
        expect(explainUnreachable(jobsOnly)[1].error).toBe("Connection closed by UNKNOWN port 65535");
    });

    test("warnings do not change the exit code", () => {
        const web = webProbe([rec("paused", "mailers")])
            .replace("jobs\tfailed\t0\t", "jobs\tfailed\t4\t")
            .replace("jobs\tready\t0\t", "jobs\tready\t7\t900")
            .replace("jobs\tscheduled_due\t0\t", "jobs\tscheduled_due\t2\t400")
            .replace("jobs\tclaimed_orphaned\t0\t", "jobs\tclaimed_orphaned\t1\t")
            .replace(`memory\t${4 * 1024 ** 3}\t${1024 ** 3}`, `memory\t${4 * 1024 ** 3}\t${200 * 1024 ** 2}`)
            .replace("shred-day-web-abc\timg:v2\trunning\t2024-05-01T08:00:00.5Z\thealthy", "shred-day-web-abc\timg:v2\trunning\t2024-05-01T08:00:00.5Z\tstarting");
        const { inv, rs } = results(web);
        const a = assess(inv, rs, EXPECTED, 300);
        expect(a.problems).toEqual([]);
        expect(a.warnings).toEqual([
            "shred-day-web: container shred-day-web-abc is still starting (health check)",
            "shred-day-web: memory 95% used",
            "4 failed job(s) (solid_queue_failed_executions; those of pruned processes fail with SolidQueue::Processes::ProcessPrunedError): look at them, then retry (bin/rails runner 'SolidQueue::FailedExecution.retry_all(SolidQueue::FailedExecution.all.map(&:job))' via npm run ops -- console) or discard",
            "the oldest ready job has waited 15m 0s: workers are behind or not taking this queue",
            "2 scheduled job(s) overdue by up to 6m 40s: is a dispatcher running?",
            "1 claimed job(s) held by processes that are gone; when Solid Queue prunes those processes (heartbeat older than 5 min) it marks these jobs FAILED (ProcessPrunedError), not released: retry them then",
            "paused queue(s): mailers",
        ]);
        expect(statusExitCode(a)).toBe(0);
    });

    test("formatAge and formatBytes", () => {
        expect([0, 59, 60, 330, 3599, 3600, 7530, 86399, 86400, 1_047_600, -5].map(formatAge)).toEqual([
            "0s",
            "59s",
            "1m 0s",
            "5m 30s",
            "59m 59s",
            "1h 0m",
            "2h 5m",
            "23h 59m",
            "1d 0h",
            "12d 3h",
            "0s",
        ]);
        expect([0, 1023, 1024, 1536 * 1024 ** 2, 4 * 1024 ** 3].map(formatBytes)).toEqual(["0 B", "1023 B", "1.0 KiB", "1.5 GiB", "4.0 GiB"]);
    });
});

describe("remote parameters and exit codes", () => {
    test("status: only the web host reads the queue database", () => {
        const inv = inventoryFromConfig(production());
        expect(statusParams(inv, inv.hosts[0])).toEqual({ LIVE_SECONDS: 300, PG_CONTAINER: "shred-day-postgres", DB_USER: "shred_day", QUEUE_DB: "shred_day_production_queue" });
        expect(statusParams(inv, inv.hosts[1])).toEqual({ LIVE_SECONDS: 300 });
    });

    test("logs: app containers by label, postgres and proxy by name; 100 lines unless --since or --tail", () => {
        expect(logsParams({ target: "jobs", follow: false })).toEqual({ SERVICE: "shred-day", ROLE: "jobs", TAIL: "100" });
        expect(logsParams({ target: "web", follow: true, since: "10m" })).toEqual({ SERVICE: "shred-day", ROLE: "web", FOLLOW: 1, SINCE: "10m" });
        expect(logsParams({ target: "postgres", follow: false, tail: "all" })).toEqual({ CONTAINER: "shred-day-postgres", TAIL: "all" });
        expect(logsParams({ target: "proxy", follow: false, since: "1h", tail: "5" })).toEqual({ CONTAINER: "kamal-proxy", SINCE: "1h", TAIL: "5" });
    });

    test("a remote command's status: 0 stays 0, anything else (255 = ssh failed) is 1; 2 is kept for usage", () => {
        expect([0, 1, 2, 3, 130, 255].map(remoteExitCode)).toEqual([0, 1, 1, 1, 1, 1]);
    });
});

// ---------------------------------------------------------------------------------------
describe("main", () => {
    const project = useOpsProject("ops-unit");
    const { run, fakePulumi } = project;

    test("help: exit 0; a usage error: exit 2 with the usage", async () => {
        const help = await run(["help"]);
        expect(help.code).toBe(0);
        expect(help.out).toMatch(/^usage: npm run ops -- <verb> \[options\]/);
        const bad = await run(["logs", "everything"]);
        expect(bad.code).toBe(2);
        expect(bad.err).toMatch(/^ops: logs needs one of: web, jobs, postgres, proxy \(got 'everything'\)\n\nusage:/);
        expect(bad.out).toBe("");
    });

    test("setup errors are exit 2: no such stack, a --host of the wrong role", async () => {
        const none = await run(["status", "--stack", "nope", "--no-pulumi"]);
        expect(none.code).toBe(2);
        expect(none.err).toMatch(/^ops: no stack file Pulumi\.nope\.yaml in .*: the stacks here are: production \(e\.g\. --stack production\)/);
        const wrong = await run(["logs", "postgres", "--host", "shred-day-jobs-ubuntu", "--no-pulumi"]);
        expect(wrong.code).toBe(2);
        expect(wrong.err).toContain("ops: --host shred-day-jobs-ubuntu is a jobs host; logs postgres runs on web hosts (shred-day-web)");
    });

    test("hosts with the Pulumi CLI: from `pulumi stack output --json --stack production`", async () => {
        const pulumi = fakePulumi(`[ "$*" = "stack output --json --stack production" ] || { echo "unexpected: $*" >&2; exit 9; }\ncat <<'EOF'\n${JSON.stringify(OUTPUTS)}\nEOF`);
        const r = await run(["hosts"], { SHRED_DAY_PULUMI: pulumi });
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toBe(
            [
                "hosts from `pulumi stack output` (stack production), ssh user root, key: ssh's default keys (no agent, no --identity)",
                "shred-day-web  web  91.99.62.190  private 10.0.0.3",
                "shred-day-jobs-ubuntu  jobs  203.0.113.20  private 10.0.0.2",
                "",
            ].join("\n"),
        );
    });

    test("hosts when the CLI fails (not logged in): says why, then uses the stack file", async () => {
        const pulumi = fakePulumi(`echo "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions" >&2; exit 255`);
        const r = await run(["hosts"], { SHRED_DAY_PULUMI: pulumi });
        expect(r.code).toBe(0);
        expect(r.err).toBe(
            "ops: `pulumi stack output` failed, hosts from Pulumi.production.yaml instead: error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions\n",
        );
        expect(r.out).toContain("shred-day-jobs-ubuntu  jobs  10.0.0.2 via shred-day-web  private 10.0.0.2");
    });

    test("hosts with no CLI installed, and with --no-pulumi (the CLI is never run)", async () => {
        const missing = await run(["hosts"], { SHRED_DAY_PULUMI: path.join(project.dir, "no-such-pulumi") });
        expect(missing.code).toBe(0);
        expect(missing.err).toContain("ops: no Pulumi CLI");
        expect(missing.out).toContain("hosts from Pulumi.production.yaml (no Pulumi CLI), ssh user root, key: ssh's default keys (no agent, no --identity)");
        expect((await run(["hosts", "--no-pulumi"], { SSH_AUTH_SOCK: "/tmp/agent.sock" })).out).toContain("key: the SSH agent\n");
        const key = path.join(project.dir, "deploy-key");
        fs.writeFileSync(key, "not a real key\n", { mode: 0o600 });
        expect((await run(["hosts", "--no-pulumi", "--identity", key])).out).toContain(`key: key file ${key}\n`);
        const pulumi = fakePulumi(`echo ran > "${project.dir}/ran"; exit 1`);
        const offline = await run(["hosts", "--no-pulumi", "--json"], { SHRED_DAY_PULUMI: pulumi });
        expect(offline.code).toBe(0);
        expect(offline.err).toBe("");
        expect(fs.existsSync(path.join(project.dir, "ran"))).toBe(false);
        expect(JSON.parse(offline.out).hosts[1]).toEqual({ name: "shred-day-jobs-ubuntu", role: "jobs", address: "10.0.0.2", via: "shred-day-web", privateIp: "10.0.0.2" });
    });

    test("no agent, no --identity: the stack's sshPrivateKey through the CLI, in a temporary file that is removed; never printed", async () => {
        fs.writeFileSync(
            path.join(project.dir, "Pulumi.keyed.yaml"),
            fs.readFileSync(path.join(project.dir, "Pulumi.production.yaml"), "utf8") + "  shred-day:sshPrivateKey:\n    secure: v1:AAAA\n",
        );
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nUNIT-KEY-MATERIAL\n-----END OPENSSH PRIVATE KEY-----";
        const pulumi = fakePulumi(
            [
                'case "$*" in',
                `  "stack output --json --stack keyed") echo '${JSON.stringify(OUTPUTS)}' ;;`,
                `  "config get shred-day:sshPrivateKey --stack keyed") cat <<'KEY'\n${key}\nKEY\n  ;;`,
                '  *) echo "unexpected: $*" >&2; exit 9 ;;',
                "esac",
            ].join("\n"),
        );
        const r = await run(["hosts", "--stack", "keyed"], { SHRED_DAY_PULUMI: pulumi });
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toContain("key: the stack's shred-day:sshPrivateKey (a 0600 temporary file, removed on exit)");
        expect(r.out + r.err).not.toContain("UNIT-KEY-MATERIAL");
        const left = fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith("shred-day-ops-key-"));
        for (const d of left) expect(fs.existsSync(path.join(os.tmpdir(), d, "key"))).toBe(false);
    });

    test("--outputs: a saved `pulumi stack output --json`", async () => {
        const file = path.join(project.dir, "outputs.json");
        fs.writeFileSync(file, JSON.stringify(OUTPUTS));
        const r = await run(["hosts", "--outputs", file]);
        expect(r.code).toBe(0);
        expect(r.out).toContain("shred-day-jobs-ubuntu  jobs  203.0.113.20  private 10.0.0.2");
        fs.writeFileSync(file, "not json");
        const bad = await run(["hosts", "--outputs", file]);
        expect(bad.code).toBe(2);
        expect(bad.err).toMatch(/^ops: --outputs .*outputs\.json: Unexpected token/);
    });
});
