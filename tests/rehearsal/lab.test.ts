/**
 * The lab itself: isolated hosts reachable only by key over SSH from the operator namespace,
 * each with its own Docker engine and its own /etc, /var/lib and /root, no route out, and
 * nothing left after teardown.
 */
import * as fs from "fs";
import { execLocal } from "../support/integration";
import { Lab, leftovers, startLab } from "./lab";

jest.setTimeout(120_000);

let lab: Lab;
beforeAll(async () => {
    lab = await startLab({
        privateCidr: "10.0.0.0/24",
        hosts: [
            { name: "web", role: "web", publicIp: "192.0.2.10", privateIp: "10.0.0.3" },
            { name: "jobs-a", role: "jobs", publicIp: "192.0.2.11", privateIp: "10.0.0.2" },
        ],
    });
});
afterAll(async () => {
    await lab?.teardown();
});

test("every namespace routes only to the lab's subnets, and a route out is refused", async () => {
    await expect(lab.assertNoRouteOut()).resolves.toBeUndefined();
    const web = lab.host("web");
    await execLocal("ip", ["-n", web.netns, "route", "add", "default", "via", "192.0.2.254"]);
    try {
        await expect(lab.assertNoRouteOut()).rejects.toThrow(/default route/);
    } finally {
        await execLocal("ip", ["-n", web.netns, "route", "del", "default"]);
    }
    await expect(lab.assertNoRouteOut()).resolves.toBeUndefined();
});

test("hosts answer SSH on their public address with the pinned host key, and only with it", async () => {
    for (const h of lab.hosts) {
        const r = await h.ssh("hostname; ip -4 -o addr show dev eth1");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(h.name);
        expect(r.stdout).toContain(`${h.privateIp}/24`);
    }
    // Another host's key pinned under this address: the client refuses.
    const known = fs.readFileSync(`${lab.dir}/known_hosts`, "utf8").split("\n");
    const swapped = known.map((l) => l.replace(/^192\.0\.2\.10 /, "X ").replace(/^192\.0\.2\.11 /, "192.0.2.10 ")).join("\n");
    fs.writeFileSync(`${lab.dir}/known_hosts.swapped`, swapped);
    const args = lab.sshArgs(lab.host("web")).map((a) => a.replace(`${lab.dir}/known_hosts`, `${lab.dir}/known_hosts.swapped`));
    const r = await lab.operator("ssh", [...args, "--", "true"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/host key/i);
});

test("each host has its own /etc/shred-day, /var/lib/shred-day and /root/.docker; the machine's are untouched", async () => {
    const web = lab.host("web");
    const jobs = lab.host("jobs-a");
    const write = await web.ssh("mkdir -p /etc/shred-day /var/lib/shred-day /root/.docker && echo web >/etc/shred-day/who && echo web >/var/lib/shred-day/who && echo web >/root/.docker/who");
    expect(write.code).toBe(0);
    const onJobs = await jobs.ssh("cat /etc/shred-day/who /var/lib/shred-day/who /root/.docker/who 2>&1; true");
    expect(onJobs.stdout).not.toContain("web");
    for (const p of ["/etc/shred-day/who", "/var/lib/shred-day/who", "/root/.docker/who"]) expect(fs.existsSync(p)).toBe(false);
    expect((await web.ssh("cat /etc/shred-day/who")).stdout.trim()).toBe("web");
});

test("each host has its own Docker engine, reached by the remote `docker` CLI", async () => {
    const web = lab.host("web");
    const jobs = lab.host("jobs-a");
    expect((await web.ssh("docker volume create only-on-web")).code).toBe(0);
    expect((await web.ssh("docker volume ls -q")).stdout).toContain("only-on-web");
    expect((await jobs.ssh("docker volume ls -q")).stdout).not.toContain("only-on-web");
});

test("the jobs host reaches the web host's private address; the operator does not", async () => {
    const web = lab.host("web");
    const jobs = lab.host("jobs-a");
    // A listener on the web host's private address, gone after 15 s at most.
    const started = await web.exec(
        `timeout 15 node -e "require('net').createServer((s) => s.end('private-ok')).listen(5999, '10.0.0.3')" >/dev/null 2>&1 & sleep 1; echo started`,
    );
    expect(started.stdout).toContain("started");
    const viaPrivate = await jobs.ssh("timeout 5 bash -c 'exec 3<>/dev/tcp/10.0.0.3/5999; cat <&3'");
    expect(viaPrivate.stdout).toContain("private-ok");
    const fromOperator = await lab.operator("timeout", ["5", "bash", "-c", "exec 3<>/dev/tcp/10.0.0.3/5999; cat <&3"]);
    expect(fromOperator.code).not.toBe(0);
    expect(fromOperator.stdout).not.toContain("private-ok");
});

test("teardown leaves no namespace, process, cgroup, mount or directory", async () => {
    const namespaces = [lab.operatorNs, ...lab.hosts.map((h) => h.netns)];
    const pids = lab.hosts.map((h) => h.holderPid);
    await lab.teardown();
    expect(leftovers(lab.id, lab.dir, namespaces)).toEqual([]);
    const listed = (await execLocal("ip", ["netns", "list"])).stdout;
    for (const ns of namespaces) expect(listed).not.toContain(ns);
    for (const pid of pids) expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
});

describe("routesOut (the check before anything is dialled)", () => {
    const { routesOut } = jest.requireActual("./lab") as typeof import("./lab");
    const allowed = ["192.0.2.0/24", "10.0.0.0/24", "172.16.0.0/12"];
    test("lab links only: no problem", () => {
        expect(routesOut("ns", [{ dst: "192.0.2.0/24", dev: "eth0" }, { dst: "10.0.0.0/24", dev: "eth1" }, { dst: "172.17.0.0/16", dev: "docker0" }], allowed)).toEqual([]);
    });
    test("a default route, a gateway or a wider subnet is a way out", () => {
        expect(routesOut("ns", [{ dst: "default", gateway: "192.0.2.1", dev: "eth0" }], allowed)[0]).toMatch(/default route/);
        expect(routesOut("ns", [{ dst: "10.1.0.0/16", gateway: "10.0.0.1", dev: "eth1" }], allowed).join()).toMatch(/via gateway 10.0.0.1/);
        expect(routesOut("ns", [{ dst: "10.0.0.0/8", dev: "eth1" }], allowed).join()).toMatch(/outside the lab subnets/);
        expect(routesOut("ns", [{ dst: "2001:db8::/64", dev: "eth0" }], allowed).join()).toMatch(/IPv6/);
    });
});

test("Ctrl-C (SIGINT) on a process with a lab tears it down: nothing left", async () => {
    const { spawn } = await import("child_process");
    const child = spawn(`${__dirname}/../../node_modules/.bin/ts-node`, ["-T", `${__dirname}/labChild.ts`], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const info = await new Promise<{ id: string; dir: string; namespaces: string[] }>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`the child lab did not start in 90 s: ${err}`)), 90_000);
        child.stdout.on("data", (d) => {
            out += d;
            if (out.includes("\n")) {
                clearTimeout(t);
                resolve(JSON.parse(out.split("\n")[0]));
            }
        });
    });
    expect(leftovers(info.id, info.dir, info.namespaces).length).toBeGreaterThan(0); // it is there
    const code = await new Promise<number | null>((resolve) => {
        child.on("exit", (c) => resolve(c));
        child.kill("SIGINT");
    });
    expect(code).toBe(130);
    expect(err).toContain("SIGINT: tearing down");
    expect(leftovers(info.id, info.dir, info.namespaces)).toEqual([]);
});

test("a process with a lab killed outright (SIGKILL: no handler runs) leaves nothing: its watchdog tears the lab down", async () => {
    const { spawn } = await import("child_process");
    const child = spawn(`${__dirname}/../../node_modules/.bin/ts-node`, ["-T", `${__dirname}/labChild.ts`], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const info = await new Promise<{ id: string; dir: string; namespaces: string[] }>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`the child lab did not start in 90 s: ${err}`)), 90_000);
        child.stdout.on("data", (d) => {
            out += d;
            if (out.includes("\n")) {
                clearTimeout(t);
                resolve(JSON.parse(out.split("\n")[0]));
            }
        });
    });
    expect(leftovers(info.id, info.dir, info.namespaces).length).toBeGreaterThan(0); // it is there
    await new Promise<void>((resolve) => {
        child.on("exit", () => resolve());
        child.kill("SIGKILL");
    });
    let left = leftovers(info.id, info.dir, info.namespaces);
    for (let i = 0; i < 60 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 500));
        left = leftovers(info.id, info.dir, info.namespaces);
    }
    expect(left).toEqual([]);
}, 180_000);
