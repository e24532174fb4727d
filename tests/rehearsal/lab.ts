/**
 * The rehearsal lab: hosts that look like production to the program's remote commands, on
 * this machine, with no way out of it.
 *
 *   operator netns  (ssh client, the request loop; bridges `pub` and `priv` live here)
 *     pub  192.0.2.0/24 (stand-in "public" addresses)  ── eth0 of every host, the operator
 *     priv 10.0.0.0/24 (the private network)             ── eth1 of every host
 *   host netns + mount namespace, one per host (web, jobs...):
 *     sshd on the public address (key login only, a host key generated per run, pinned in known_hosts)
 *     dockerd (nsenter --net, never `ip netns exec`, which remounts /sys and hides the cgroup mounts)
 *     its own /etc, /var/lib and /run (overlays on the machine's, written to the lab dir only) and
 *     its own /root (a fresh home from /etc/skel: a server's root has none of this machine's dotfiles)
 *
 * Nothing is routed out: no namespace has a default route or a route to anything but the lab's
 * own subnets; `assertNoRouteOut` checks this before anything is dialled, and the lab refuses to
 * start otherwise. Names are unique per run (other test runs share this machine).
 *
 * Teardown (end, failure, SIGINT/SIGTERM): containers removed, daemons stopped, leftover
 * processes of the lab's namespaces and cgroups killed by pid, namespaces deleted, cgroups
 * removed, the lab dir deleted; then `verifyGone` proves nothing is left.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import ipaddr from "ipaddr.js";
import { execLocal, ExecResult, requireTool } from "../support/integration";

export const PUBLIC_CIDR = "192.0.2.0/24";
export const OPERATOR_IP = "192.0.2.254";
/** Docker's bridges inside a host namespace (docker0, the `kamal` network): lab-only links too. */
export const DOCKER_CIDR = "172.16.0.0/12";
const REMOTE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const CGROUP_ROOT = "/sys/fs/cgroup";
/** cloud-init's record of a finished boot (/run/cloud-init): `cloud-init status --wait` says done at once. */
const CLOUD_INIT_RESULT = JSON.stringify({ v1: { datasource: "DataSourceNone", errors: [] } });
const CLOUD_INIT_STATUS = JSON.stringify({
    v1: Object.fromEntries(
        ["init-local", "init", "modules-init", "modules-config", "modules-final"].map((stage, i) => [stage, { errors: [], start: i + 0.5, finished: i + 1 }]),
    ),
});

export interface LabHostSpec {
    name: string;
    role: "web" | "jobs";
    publicIp: string;
    privateIp: string;
}

export interface LabHost extends LabHostSpec {
    netns: string;
    /** The process holding the host's mount namespace (sshd and dockerd enter it). */
    holderPid: number;
    dockerSocket: string;
    /** The public half of the host's SSH host key (generated per run), `ssh-ed25519 AAAA...`. */
    hostPublicKey: string;
    /** Its private half (OpenSSH format): the key the program's tls.PrivateKey stands for on a host it creates. */
    hostPrivateKeyFile: string;
    /** The docker CLI against this host's daemon (from the machine itself, for setup and assertions). */
    docker(args: string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult>;
    /** A command inside the host (its network and mount namespaces), as root. */
    exec(script: string, opts?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult>;
    /** `ssh root@publicIp -- command` from the operator namespace: what the program's commands do. */
    ssh(command: string, opts?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult>;
}

export interface Lab {
    id: string;
    dir: string;
    operatorNs: string;
    privateCidr: string;
    hosts: LabHost[];
    host(name: string): LabHost;
    /** The ssh client argv for a host (after `ssh`), key and pinned host key included. */
    sshArgs(host: LabHostSpec): string[];
    /** Run a program in the operator namespace. */
    operator(file: string, args: string[], opts?: { stdin?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<ExecResult>;
    /** Spawn a long-running program in the operator namespace (the request loop). */
    spawnOperator(file: string, args: string[]): ChildProcess;
    /** Throws unless every lab namespace routes only to lab subnets. */
    assertNoRouteOut(): Promise<void>;
    teardown(): Promise<void>;
}

export interface Route {
    dst: string;
    gateway?: string;
    dev?: string;
}

/**
 * Why these routes could lead out of the lab (empty: they cannot). A default route, a route via
 * a gateway, or a destination not inside one of `allowed` is a way out.
 */
export function routesOut(ns: string, routes: Route[], allowed: string[]): string[] {
    const nets = allowed.map((c) => ipaddr.parseCIDR(c));
    const problems: string[] = [];
    for (const r of routes) {
        if (r.dst === "default") {
            problems.push(`${ns}: default route (via ${r.gateway ?? r.dev ?? "?"})`);
            continue;
        }
        if (r.gateway) problems.push(`${ns}: route to ${r.dst} via gateway ${r.gateway}`);
        const [addrText, bitsText] = r.dst.includes("/") ? r.dst.split("/") : [r.dst, undefined];
        if (!ipaddr.isValid(addrText)) {
            problems.push(`${ns}: route to ${r.dst}, which is not an address`);
            continue;
        }
        const addr = ipaddr.parse(addrText);
        if (addr.kind() === "ipv6") {
            // Link-local routes (fe80::/64 on a lab link) and multicast stay on the link.
            if (addr.range() === "linkLocal" || addr.range() === "multicast") continue;
            problems.push(`${ns}: IPv6 route to ${r.dst}`);
            continue;
        }
        const bits = bitsText === undefined ? 32 : Number(bitsText);
        const inside = nets.some(([net, netBits]) => net.kind() === "ipv4" && bits >= netBits && addr.match(net, netBits));
        if (!inside) problems.push(`${ns}: route to ${r.dst} (dev ${r.dev ?? "?"}) is outside the lab subnets ${allowed.join(", ")}`);
    }
    return problems;
}

async function ok(file: string, args: string[], opts: { stdin?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
    const r = await execLocal(file, args, { timeoutMs: 30_000, ...opts });
    if (r.code !== 0) throw new Error(`${file} ${args.join(" ")} exited ${r.code}\n${r.stderr}${r.stdout}`);
    return r;
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Pids whose network namespace is `ns` (ip netns pids). */
function netnsPids(ns: string): number[] {
    const r = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" });
    if (r.status !== 0) return [];
    return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** Every cgroup v1/v2 directory named `name` at the top of a hierarchy, and pids inside it. */
function cgroupDirs(name: string): string[] {
    if (!fs.existsSync(CGROUP_ROOT)) return [];
    return fs
        .readdirSync(CGROUP_ROOT)
        .map((ctrl) => path.join(CGROUP_ROOT, ctrl, name))
        .filter((d) => fs.existsSync(d));
}

function cgroupPids(dir: string): number[] {
    const pids: number[] = [];
    const walk = (d: string) => {
        try {
            const procs = fs.readFileSync(path.join(d, "cgroup.procs"), "utf8");
            pids.push(...procs.split(/\s+/).filter(Boolean).map(Number));
            for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
        } catch {
            /* gone meanwhile */
        }
    };
    walk(dir);
    return pids;
}

function removeCgroupTree(dir: string): void {
    const walk = (d: string) => {
        try {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
            fs.rmdirSync(d);
        } catch {
            /* still busy or gone */
        }
    };
    walk(dir);
}

/** Processes whose command line mentions `needle` (the lab's unique dir). */
function pidsMentioning(needle: string): number[] {
    const out: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
        try {
            const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
            if (cmd.includes(needle)) out.push(Number(entry));
        } catch {
            /* exited */
        }
    }
    return out;
}

/** What is left of a lab with this id and dir (empty when it is all gone). */
export function leftovers(id: string, dir: string, namespaces: string[]): string[] {
    const left: string[] = [];
    const listed = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
    for (const ns of namespaces) {
        if (listed.split("\n").some((l) => l.split(" ")[0] === ns)) left.push(`network namespace ${ns}`);
    }
    const pids = pidsMentioning(dir);
    if (pids.length > 0) left.push(`processes mentioning ${dir}: ${pids.join(", ")}`);
    for (const d of cgroupDirs(id)) {
        const p = cgroupPids(d);
        left.push(p.length > 0 ? `cgroup ${d} with processes ${p.join(", ")}` : `cgroup ${d}`);
    }
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(dir) || l.includes(`/run/netns/${id}`));
    if (mounts.length > 0) left.push(`mounts: ${mounts.join("; ")}`);
    if (fs.existsSync(dir)) left.push(`directory ${dir}`);
    return left;
}

/** Labs of this process, torn down on SIGINT/SIGTERM and, as a last resort, on exit. */
const live = new Set<Lab>();
let signalsInstalled = false;
function installSignalHandlers(): void {
    if (signalsInstalled) return;
    signalsInstalled = true;
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.once(sig, () => {
            process.stderr.write(`\nrehearsal lab: ${sig}: tearing down ${live.size} lab(s)\n`);
            Promise.allSettled([...live].map((l) => l.teardown())).finally(() => process.exit(130));
        });
    }
}

export interface StartLabOptions {
    hosts: LabHostSpec[];
    privateCidr: string;
    /** Log lines (setup progress). */
    log?: (line: string) => void;
}

/** Start a lab. On any failure it tears down what it made and rethrows. */
export async function startLab(opts: StartLabOptions): Promise<Lab> {
    if (process.getuid?.() !== 0) throw new Error("the rehearsal lab needs root (network namespaces, mounts, dockerd)");
    const ip = requireTool("ip");
    const nsenter = requireTool("nsenter");
    const unshare = requireTool("unshare");
    const sshd = requireTool("sshd");
    const ssh = requireTool("ssh");
    const keygen = requireTool("ssh-keygen");
    const dockerd = requireTool("dockerd");
    const docker = requireTool("docker");
    const log = opts.log ?? (() => undefined);

    const id = `sdr${crypto.randomBytes(3).toString("hex")}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${id}-`));
    const operatorNs = `${id}-op`;
    // overlay2 (fast: no full copy per layer) unless the lab dir is itself on overlayfs (a CI container), then vfs.
    const storageDriver = spawnSync("stat", ["-f", "-c", "%T", dir], { encoding: "utf8" }).stdout.trim() === "overlayfs" ? "vfs" : "overlay2";
    const nsOf = (i: number) => `${id}-h${i}`;
    const namespaces = [operatorNs, ...opts.hosts.map((_, i) => nsOf(i))];
    const children: ChildProcess[] = [];
    const hosts: LabHost[] = [];
    let tornDown: Promise<void> | undefined;
    // Teardown if this process dies without running it (SIGKILL, a killed jest worker): a detached watchdog.
    const watchdog = spawn("bash", [path.join(__dirname, "lab-watchdog.sh"), String(process.pid), id, dir, ...namespaces], {
        detached: true,
        stdio: "ignore",
    });
    watchdog.unref();

    const nsexec = (ns: string, file: string, args: string[], o: { stdin?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) =>
        execLocal(nsenter, [`--net=/var/run/netns/${ns}`, "--", file, ...args], { timeoutMs: 30_000, ...o });

    const keyFile = path.join(dir, "operator_ed25519");
    const knownHosts = path.join(dir, "known_hosts");
    const sshArgs = (h: LabHostSpec): string[] => [
        "-F",
        "/dev/null",
        "-i",
        keyFile,
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "ServerAliveInterval=5",
        "-o",
        "ServerAliveCountMax=3",
        "-o",
        "KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org",
        "-o",
        "LogLevel=ERROR",
        `root@${h.publicIp}`,
    ];

    const teardown = (): Promise<void> => {
        if (tornDown) return tornDown;
        tornDown = (async () => {
            live.delete(lab);
            watchdog.kill("SIGTERM"); // this teardown does the work, and checks that nothing is left
            // 1. containers, through each daemon (bounded), then the daemons and sshds.
            await Promise.all(
                hosts.filter(Boolean).map(async (h) => {
                    if (!fs.existsSync(h.dockerSocket)) return;
                    const ps = await h.docker(["ps", "-aq"], { timeoutMs: 15_000 }).catch(() => undefined);
                    const ids = ps?.stdout.split(/\s+/).filter(Boolean) ?? [];
                    if (ids.length > 0) await h.docker(["rm", "-f", ...ids], { timeoutMs: 60_000 }).catch(() => undefined);
                }),
            );
            for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
            for (let i = 0; i < 100 && children.some((c) => c.exitCode === null && c.signalCode === null); i++) await sleep(100);
            for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
            // 2. anything else still in the lab's namespaces or cgroups (containerd shims, container processes): by pid.
            for (let round = 0; round < 5; round++) {
                const pids = new Set<number>([
                    ...namespaces.flatMap((ns) => netnsPids(ns)),
                    ...cgroupDirs(id).flatMap((d) => cgroupPids(d)),
                    ...pidsMentioning(dir),
                ]);
                if (pids.size === 0) break;
                for (const pid of pids) {
                    try {
                        process.kill(pid, "SIGKILL");
                    } catch {
                        /* gone */
                    }
                }
                await sleep(300);
            }
            // 3. namespaces, cgroups, files.
            for (const ns of namespaces) spawnSync(ip, ["netns", "delete", ns]);
            for (const d of cgroupDirs(id)) removeCgroupTree(d);
            for (let i = 0; i < 20; i++) {
                try {
                    fs.rmSync(dir, { recursive: true, force: true });
                    break;
                } catch {
                    await sleep(250); // a mount still going away
                }
            }
            const left = leftovers(id, dir, namespaces);
            if (left.length > 0) throw new Error(`rehearsal lab ${id}: teardown left: ${left.join("; ")}`);
            log(`lab ${id}: torn down, nothing left`);
        })();
        return tornDown;
    };

    const lab: Lab = {
        id,
        dir,
        operatorNs,
        privateCidr: opts.privateCidr,
        hosts,
        host: (name) => {
            const h = hosts.find((x) => x.name === name);
            if (!h) throw new Error(`no lab host ${name}; hosts: ${hosts.map((x) => x.name).join(", ")}`);
            return h;
        },
        sshArgs,
        operator: (file, args, o = {}) => nsexec(operatorNs, file, args, o),
        spawnOperator: (file, args) => {
            const c = spawn(nsenter, [`--net=/var/run/netns/${operatorNs}`, "--", file, ...args], { stdio: ["ignore", "pipe", "pipe"] });
            children.push(c);
            return c;
        },
        assertNoRouteOut: async () => {
            const allowed = [PUBLIC_CIDR, opts.privateCidr, DOCKER_CIDR];
            const problems: string[] = [];
            for (const ns of namespaces) {
                for (const family of ["-4", "-6"]) {
                    const r = await ok(ip, ["-j", family, "-n", ns, "route", "show", "table", "main"]);
                    const routes: Route[] = JSON.parse(r.stdout || "[]");
                    problems.push(...routesOut(ns, routes, allowed));
                }
            }
            if (problems.length > 0) throw new Error(`the rehearsal lab could route out of the lab; refusing to start:\n  ${problems.join("\n  ")}`);
        },
        teardown,
    };
    live.add(lab);
    installSignalHandlers();

    try {
        // ---- network ---------------------------------------------------------------------
        for (const ns of namespaces) {
            await ok(ip, ["netns", "add", ns]);
            await ok(ip, ["-n", ns, "link", "set", "lo", "up"]);
            // No IPv6 (no router advertisements, no autoconf): the lab is IPv4 only.
            await nsexec(ns, "sysctl", ["-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
        }
        await ok(ip, ["-n", operatorNs, "link", "add", "pub", "type", "bridge"]);
        await ok(ip, ["-n", operatorNs, "link", "add", "priv", "type", "bridge"]);
        await ok(ip, ["-n", operatorNs, "link", "set", "pub", "up"]);
        await ok(ip, ["-n", operatorNs, "link", "set", "priv", "up"]);
        const pubBits = PUBLIC_CIDR.split("/")[1];
        const privBits = opts.privateCidr.split("/")[1];
        await ok(ip, ["-n", operatorNs, "addr", "add", `${OPERATOR_IP}/${pubBits}`, "dev", "pub"]);
        for (const [i, h] of opts.hosts.entries()) {
            const ns = nsOf(i);
            for (const [ifname, bridge, addr, bits] of [
                ["eth0", "pub", h.publicIp, pubBits],
                ["eth1", "priv", h.privateIp, privBits],
            ]) {
                const peer = `h${i}-${ifname}`;
                await ok(ip, ["-n", operatorNs, "link", "add", peer, "type", "veth", "peer", "name", ifname, "netns", ns]);
                await ok(ip, ["-n", operatorNs, "link", "set", peer, "master", bridge, "up"]);
                await ok(ip, ["-n", ns, "addr", "add", `${addr}/${bits}`, "dev", ifname]);
                await ok(ip, ["-n", ns, "link", "set", ifname, "up"]);
            }
        }
        await lab.assertNoRouteOut();

        // ---- keys ------------------------------------------------------------------------
        await ok(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", `${id}-operator`, "-f", keyFile]);
        const authorizedKeys = path.join(dir, "authorized_keys");
        fs.copyFileSync(`${keyFile}.pub`, authorizedKeys);
        fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
        const known: string[] = [];

        // ---- hosts -----------------------------------------------------------------------
        await Promise.all(
            opts.hosts.map(async (spec, i) => {
                const ns = nsOf(i);
                const hdir = path.join(dir, spec.name);
                for (const sub of ["etc.up", "etc.work", "varlib.up", "varlib.work", "root", "run.up", "run.work", "docker", "exec"]) {
                    fs.mkdirSync(path.join(hdir, sub), { recursive: true });
                }
                // The holder: a process in the host's netns with a private mount namespace where /etc,
                // /var/lib and /run are overlays written to hdir, and /root is the host's own (fresh) home.
                // sshd and dockerd join it.
                // cloud-init has finished on every host, as on a booted server (host-ready waits for it).
                const ov = (target: string, key: string) =>
                    `mount -t overlay overlay -o lowerdir=${target},upperdir=${hdir}/${key}.up,workdir=${hdir}/${key}.work ${target}`;
                const holder = spawn(
                    nsenter,
                    [
                        `--net=/var/run/netns/${ns}`,
                        "--",
                        unshare,
                        "--mount",
                        "--uts",
                        "--propagation",
                        "private",
                        "--",
                        "bash",
                        "-c",
                        `set -e; ${ov("/etc", "etc")}; ${ov("/var/lib", "varlib")}; ${ov("/run", "run")}; ` +
                            // root's home as on a fresh server (Debian's skeleton), not this machine's dotfiles
                            `cp -a /etc/skel/. ${hdir}/root/; chmod 0700 ${hdir}/root; mount --bind ${hdir}/root /root; ` +
                            `mkdir -p /run/cloud-init; echo '${CLOUD_INIT_RESULT}' >/run/cloud-init/result.json; echo '${CLOUD_INIT_STATUS}' >/run/cloud-init/status.json; ` +
                            `echo ${spec.name} >/etc/hostname; hostname ${spec.name}; echo ready; exec sleep infinity # ${dir}`,
                    ],
                    { stdio: ["ignore", "pipe", "pipe"] },
                );
                children.push(holder);
                await new Promise<void>((resolve, reject) => {
                    let out = "";
                    const t = setTimeout(() => reject(new Error(`host ${spec.name}: mount namespace not ready in 15 s: ${out}`)), 15_000);
                    holder.stdout!.on("data", (d) => {
                        out += d;
                        if (out.includes("ready")) {
                            clearTimeout(t);
                            resolve();
                        }
                    });
                    holder.stderr!.on("data", (d) => (out += d));
                    holder.on("exit", (code) => {
                        clearTimeout(t);
                        reject(new Error(`host ${spec.name}: mount namespace setup exited ${code}: ${out}`));
                    });
                });
                const holderPid = holder.pid!;
                const enter = [`--target=${holderPid}`, "--mount", "--uts", "--net", "--"];
                const dockerSocket = path.join(hdir, "docker.sock");

                // dockerd: its own data, exec root, socket, cgroup parent; iptables only inside the host's netns
                // (masquerade from containers to the private network, as on a real host).
                const dlog = fs.openSync(path.join(hdir, "dockerd.log"), "a");
                const d = spawn(
                    nsenter,
                    [
                        ...enter,
                        dockerd,
                        "--data-root",
                        path.join(hdir, "docker"),
                        "--exec-root",
                        path.join(hdir, "exec"),
                        "--pidfile",
                        path.join(hdir, "dockerd.pid"),
                        "-H",
                        `unix://${dockerSocket}`,
                        "--storage-driver",
                        storageDriver,
                        "--cgroup-parent",
                        `/${id}/${spec.name}`,
                        "--shutdown-timeout",
                        "5",
                        "--log-level",
                        "warn",
                    ],
                    { stdio: ["ignore", dlog, dlog] },
                );
                children.push(d);
                fs.closeSync(dlog);

                // sshd on the public address.
                const hostKey = path.join(hdir, "ssh_host_ed25519_key");
                await ok(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", `${id}-${spec.name}`, "-f", hostKey]);
                const cfg = path.join(hdir, "sshd_config");
                fs.writeFileSync(
                    cfg,
                    [
                        `# rehearsal lab ${id}: ${spec.name}`,
                        `ListenAddress ${spec.publicIp}:22`,
                        `HostKey ${hostKey}`,
                        "PidFile none",
                        `AuthorizedKeysFile ${authorizedKeys}`,
                        "StrictModes no",
                        "PermitRootLogin prohibit-password",
                        "PubkeyAuthentication yes",
                        "PasswordAuthentication no",
                        "KbdInteractiveAuthentication no",
                        "UsePAM no",
                        "PrintMotd no",
                        "AcceptEnv LANG LC_*",
                        `SetEnv "PATH=${REMOTE_PATH}" "DOCKER_HOST=unix://${dockerSocket}"`,
                        "MaxStartups 50:30:100",
                        "MaxSessions 50",
                        "",
                    ].join("\n"),
                );
                const s = spawn(nsenter, [...enter, sshd, "-D", "-e", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
                children.push(s);
                let slog = "";
                s.stderr!.on("data", (b) => (slog = (slog + b).slice(-20_000)));
                for (let n = 0; n < 150 && !slog.includes("Server listening"); n++) {
                    if (s.exitCode !== null) throw new Error(`sshd of ${spec.name} exited ${s.exitCode}: ${slog}`);
                    await sleep(100);
                }
                if (!slog.includes("Server listening")) throw new Error(`sshd of ${spec.name} did not listen within 15 s: ${slog}`);
                const hostPublicKey = fs.readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
                known.push(`${spec.publicIp} ${hostPublicKey}`);

                const host: LabHost = {
                    ...spec,
                    hostPublicKey,
                    hostPrivateKeyFile: hostKey,
                    netns: ns,
                    holderPid,
                    dockerSocket,
                    docker: (args, o = {}) =>
                        execLocal(docker, args, { timeoutMs: 60_000, ...o, env: { ...process.env, DOCKER_HOST: `unix://${dockerSocket}` } }),
                    exec: (script, o = {}) =>
                        execLocal(nsenter, [...enter, "bash", "-c", script], {
                            timeoutMs: 60_000,
                            ...o,
                            env: { PATH: REMOTE_PATH, DOCKER_HOST: `unix://${dockerSocket}` },
                        }),
                    ssh: (command, o = {}) => nsexec(operatorNs, ssh, [...sshArgs(spec), "--", command], { timeoutMs: 60_000, ...o }),
                };
                hosts[i] = host;

                // The daemon answers (bounded).
                let info: ExecResult | undefined;
                for (let n = 0; n < 120; n++) {
                    if (d.exitCode !== null) break;
                    info = await host.docker(["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 10_000 }).catch(() => undefined);
                    if (info?.code === 0) break;
                    await sleep(250);
                }
                if (info?.code !== 0) {
                    throw new Error(`dockerd of ${spec.name} did not answer within 30 s:\n${fs.readFileSync(path.join(hdir, "dockerd.log"), "utf8").slice(-3000)}`);
                }
                log(`lab ${id}: ${spec.name} (${spec.role}) up: ${spec.publicIp} / ${spec.privateIp}, docker ${info.stdout.trim()}`);
            }),
        );
        fs.writeFileSync(knownHosts, `${known.join("\n")}\n`);
        // Docker made its bridges: check again before anything is dialled.
        await lab.assertNoRouteOut();
        return lab;
    } catch (e) {
        await teardown().catch((t) => log(`teardown after a failed start: ${t}`));
        throw e;
    }
}
