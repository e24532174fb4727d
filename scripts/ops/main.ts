/**
 * `npm run ops -- <verb>`: the verbs, wired to the hosts. Decisions live in the pure modules
 * beside this one (args, inventory, ssh, status); this file only runs them.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { removeOnExit, scriptCommand, ScriptParams } from "../../components/remote";
import { envFilePath, LIVE_SECONDS, SERVICE } from "../../components/release";
import { PROJECT_DIR, readStackFile } from "../../stacks/stackFile";
import { OpsArgs, parseArgs, USAGE, UsageError } from "./args";
import { Host, Inventory, inventoryFromConfig, inventoryFromOutputs, opsConfigFromRaw, OpsConfig, selectHosts, SetupError, webHost } from "./inventory";
import { knownHostsFor, linePrefixer, runCaptured, runStreaming, sshArgv, sshError, SshSettings, SSH_FAILED } from "./ssh";
import { assess, ExpectedContainers, explainUnreachable, formatStatus, HostResult, parseProbe, statusExitCode, statusJson } from "./status";

/** kamal-proxy's container on the web host (web-rollout.sh). */
export const PROXY_CONTAINER = "kamal-proxy";
export const EXPECTED: ExpectedContainers = { service: SERVICE, postgres: "shred-day-postgres", proxy: PROXY_CONTAINER };
export const CONNECT_TIMEOUT_SECONDS = 10;
/** A host that connected but has not finished its status script by then is reported as not answering. */
export const STATUS_TIMEOUT_MS = 60_000;

export interface OpsIo {
    out(s: string): void;
    err(s: string): void;
    env: NodeJS.ProcessEnv;
    /** Give interactive commands the terminal (the real CLI); tests capture instead. */
    inherit: boolean;
    /** stdin and stdout are a terminal: ask ssh for one. */
    isTTY: boolean;
    /** Without `inherit`: what console/dbconsole get on stdin (tests drive psql with it). */
    stdin?: string;
}

export const EXIT = { ok: 0, unhealthy: 1, usage: 2 } as const;

/** The exit code for a remote command's status: ssh's own failure and any other non-zero are 1. */
export function remoteExitCode(code: number): number {
    return code === 0 ? EXIT.ok : EXIT.unhealthy;
}

function pulumiBin(env: NodeJS.ProcessEnv): string {
    return env.SHRED_DAY_PULUMI || "pulumi";
}

/** Run the Pulumi CLI; undefined when it is not installed. */
function runPulumi(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string } | undefined> {
    return new Promise((resolve) => {
        const child = spawn(pulumiBin(env), args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", (err: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            resolve(err.code === "ENOENT" ? undefined : { code: 1, stdout, stderr: err.message });
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code: code ?? 1, stdout, stderr });
        });
    });
}

interface Setup {
    inv: Inventory;
    cfg: OpsConfig;
    ssh: SshSettings;
    /** Where the SSH key comes from, for `hosts` (never the key itself). */
    keySource: string;
    cleanup: () => void;
}

async function setup(args: OpsArgs, io: OpsIo): Promise<Setup> {
    const projectDir = args.projectDir ?? PROJECT_DIR;
    if (args.identity !== undefined) {
        const from = io.env.SHRED_DAY_SSH_KEY === args.identity ? "SHRED_DAY_SSH_KEY" : "--identity";
        const stat = fs.statSync(args.identity, { throwIfNoEntry: false });
        if (stat === undefined || !stat.isFile()) {
            throw new SetupError(
                `${from} ${args.identity}: ${stat === undefined ? "no such file" : "not a file"}; give the deploy key's private key file (e.g. ~/.ssh/shred-day-deploy), or leave ${from} out to use your SSH agent`,
            );
        }
    }
    let file;
    try {
        file = readStackFile(args.stack, projectDir);
    } catch (e) {
        throw new SetupError((e as Error).message);
    }
    const cfg = opsConfigFromRaw(file.raw, file.encrypted);
    const opts = { overrides: args.hostIps, sshPort: args.sshPort };
    let inv: Inventory;
    let cliWorks = false;
    if (args.outputsFile !== undefined) {
        let outputs: unknown;
        try {
            outputs = JSON.parse(fs.readFileSync(args.outputsFile, "utf8"));
        } catch (e) {
            throw new SetupError(`--outputs ${args.outputsFile}: ${(e as Error).message}`);
        }
        inv = inventoryFromOutputs(outputs, cfg, { ...opts, source: `${args.outputsFile} (stack ${args.stack})` });
    } else if (args.pulumi) {
        const r = await runPulumi(["stack", "output", "--json", "--stack", args.stack], projectDir, io.env);
        if (r === undefined) {
            io.err(`ops: no Pulumi CLI (${pulumiBin(io.env)}) on PATH: hosts from Pulumi.${args.stack}.yaml\n`);
            inv = inventoryFromConfig(cfg, { ...opts, source: `Pulumi.${args.stack}.yaml (no Pulumi CLI)` });
        } else if (r.code !== 0) {
            io.err(`ops: \`pulumi stack output\` failed, hosts from Pulumi.${args.stack}.yaml instead: ${r.stderr.trim().split("\n").pop()}\n`);
            inv = inventoryFromConfig(cfg, { ...opts, source: `Pulumi.${args.stack}.yaml (pulumi stack output failed)` });
        } else {
            let outputs: unknown;
            try {
                outputs = JSON.parse(r.stdout);
            } catch (e) {
                throw new SetupError(`\`pulumi stack output --json\` printed no JSON: ${(e as Error).message}`);
            }
            inv = inventoryFromOutputs(outputs, cfg, { ...opts, source: `\`pulumi stack output\` (stack ${args.stack})` });
            cliWorks = true;
        }
    } else {
        inv = inventoryFromConfig(cfg, { ...opts, source: `Pulumi.${args.stack}.yaml` });
    }

    // The key: --identity / SHRED_DAY_SSH_KEY, else the agent, else the stack's sshPrivateKey (needs the CLI).
    let identity = args.identity;
    let cleanup = () => undefined as void;
    let keySource = identity !== undefined ? `key file ${identity}` : io.env.SSH_AUTH_SOCK ? "the SSH agent" : "ssh's default keys (no agent, no --identity)";
    if (identity === undefined && !io.env.SSH_AUTH_SOCK && cfg.encrypted.includes("sshPrivateKey") && cliWorks) {
        const r = await runPulumi(["config", "get", "shred-day:sshPrivateKey", "--stack", args.stack], projectDir, io.env);
        if (r && r.code === 0 && r.stdout.includes("PRIVATE KEY")) {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-ops-key-"));
            removeOnExit(dir); // also on SIGINT/SIGTERM/SIGHUP (issue 11 point 5)
            identity = path.join(dir, "key");
            fs.writeFileSync(identity, r.stdout.endsWith("\n") ? r.stdout : `${r.stdout}\n`, { mode: 0o600 });
            cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
            keySource = "the stack's shred-day:sshPrivateKey (a 0600 temporary file, removed on exit)";
        }
    }
    // Only the stack's host keys are trusted (issue 11 point 2), unless the caller names a known_hosts.
    let knownHostsFile: string | undefined;
    if (!args.sshOptions.some((o) => /^UserKnownHostsFile[ =]/i.test(o))) {
        const known = knownHostsFor(inv.hosts);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-ops-known-hosts-"));
        removeOnExit(dir);
        knownHostsFile = path.join(dir, "known_hosts");
        fs.writeFileSync(knownHostsFile, known.text, { mode: 0o600 });
        inv.notes.push(...known.missing);
    }
    const ssh: SshSettings = {
        user: inv.user,
        ...(knownHostsFile === undefined ? {} : { knownHostsFile }),
        ...(identity === undefined ? {} : { identity }),
        ...(args.sshConfig === undefined ? {} : { config: args.sshConfig }),
        options: args.sshOptions,
        connectTimeoutSeconds: CONNECT_TIMEOUT_SECONDS,
    };
    return { inv, cfg, ssh, keySource, cleanup };
}

/** Run the CLI; resolves to the exit code. Never throws. */
export async function main(argv: string[], io: OpsIo): Promise<number> {
    let args: OpsArgs;
    try {
        args = parseArgs(argv, io.env);
    } catch (e) {
        if (e instanceof UsageError) {
            io.err(`ops: ${e.message}\n\n${USAGE}\n`);
            return EXIT.usage;
        }
        throw e;
    }
    if (args.verb === "help") {
        io.out(`${USAGE}\n`);
        return EXIT.ok;
    }
    let s: Setup | undefined;
    try {
        s = await setup(args, io);
        const hosts = selectHosts(s.inv, args.verb, args.target, args.hosts);
        switch (args.verb) {
            case "hosts":
                return hostsVerb(s, args, io);
            case "status":
                return await statusVerb(s, args, io);
            case "logs":
                return await logsVerb(s, args, hosts, io);
            case "console":
                return await interactive(s, hosts[0], "ops-console", { SERVICE, ENV_FILE: envFilePath("jobs"), ...(args.image ? { IMAGE: args.image } : {}) }, io);
            case "dbconsole": {
                const db = args.queue ? s.inv.postgres.queue : (args.database ?? s.inv.postgres.primary);
                return await interactive(s, hosts[0], "ops-dbconsole", { PG_CONTAINER: s.inv.postgres.container, DB_USER: s.inv.postgres.user, DATABASE: db }, io);
            }
        }
        return EXIT.usage;
    } catch (e) {
        if (e instanceof UsageError) {
            io.err(`ops: ${e.message}\n`);
            return EXIT.usage;
        }
        if (e instanceof SetupError) {
            io.err(`ops: ${e.message}\n`);
            return EXIT.usage;
        }
        io.err(`ops: ${(e as Error).stack ?? e}\n`);
        return EXIT.unhealthy;
    } finally {
        s?.cleanup();
    }
}

function hostsVerb(s: Setup, args: OpsArgs, io: OpsIo): number {
    if (args.json) {
        io.out(`${JSON.stringify({ source: s.inv.source, user: s.inv.user, hosts: s.inv.hosts }, null, 2)}\n`);
        return EXIT.ok;
    }
    io.out(`hosts from ${s.inv.source}, ssh user ${s.inv.user}, key: ${s.keySource}\n`);
    for (const n of s.inv.notes) io.out(`note: ${n}\n`);
    for (const h of s.inv.hosts) {
        const port = h.port ? `:${h.port}` : "";
        io.out(`${h.name}  ${h.role}  ${h.via ? `${h.address}${port} via ${h.via}` : `${h.address}${port}`}  private ${h.privateIp}\n`);
    }
    return EXIT.ok;
}

/** The status script's parameters for a host: the web host also reads the queue database. */
export function statusParams(inv: Inventory, host: Host): ScriptParams {
    const params: ScriptParams = { LIVE_SECONDS };
    if (host.role === "web") {
        Object.assign(params, { PG_CONTAINER: inv.postgres.container, DB_USER: inv.postgres.user, QUEUE_DB: inv.postgres.queue });
    }
    return params;
}

export async function probeHosts(s: Setup, hosts: Host[], io: OpsIo, sshBin = "ssh"): Promise<HostResult[]> {
    const results = await Promise.all(
        hosts.map(async (host): Promise<HostResult> => {
            const argv = sshArgv(s.ssh, s.inv, host, scriptCommand("ops-status", statusParams(s.inv, host)));
            const r = await runCaptured(sshBin, argv, { timeoutMs: STATUS_TIMEOUT_MS, env: io.env });
            if (r.code === SSH_FAILED) return { host, reachable: false, error: sshError(r.stderr, r.timedOut) };
            if (r.code !== 0) return { host, reachable: true, error: `exit ${r.code}: ${sshError(r.stderr, false)}` };
            return { host, reachable: true, probe: parseProbe(r.stdout) };
        }),
    );
    return explainUnreachable(results);
}

async function statusVerb(s: Setup, args: OpsArgs, io: OpsIo): Promise<number> {
    const results = await probeHosts(s, s.inv.hosts, io);
    const a = assess(s.inv, results, EXPECTED, LIVE_SECONDS);
    io.out(args.json ? `${JSON.stringify(statusJson(s.inv, results, a), null, 2)}\n` : formatStatus(s.inv, results, a, LIVE_SECONDS));
    return statusExitCode(a);
}

/** ops-logs.sh's parameters for `logs TARGET`. */
export function logsParams(args: Pick<OpsArgs, "target" | "follow" | "since" | "tail">): ScriptParams {
    const p: ScriptParams =
        args.target === "postgres" ? { CONTAINER: EXPECTED.postgres } : args.target === "proxy" ? { CONTAINER: PROXY_CONTAINER } : { SERVICE, ROLE: args.target! };
    if (args.follow) p.FOLLOW = 1;
    if (args.since) p.SINCE = args.since;
    const tail = args.tail ?? (args.since ? undefined : "100");
    if (tail !== undefined) p.TAIL = tail;
    return p;
}

async function logsVerb(s: Setup, args: OpsArgs, hosts: Host[], io: OpsIo): Promise<number> {
    const command = scriptCommand("ops-logs", logsParams(args));
    if (hosts.length === 1) {
        const tty = args.follow && io.isTTY && io.inherit;
        const code = await runStreaming("ssh", sshArgv(s.ssh, s.inv, hosts[0], command, { tty }), {
            inherit: io.inherit,
            env: io.env,
            onStdout: io.out,
            onStderr: io.err,
        });
        if (code === SSH_FAILED) io.err(`ops: ${hosts[0].name} did not answer (ssh exit 255)\n`);
        return remoteExitCode(code);
    }
    if (args.follow) {
        // Several hosts at once: every line prefixed with its host.
        const codes = await Promise.all(
            hosts.map((h) => {
                const o = linePrefixer(`[${h.name}] `, io.out);
                const e = linePrefixer(`[${h.name}] `, io.err);
                return runStreaming("ssh", sshArgv(s.ssh, s.inv, h, command), { inherit: false, env: io.env, onStdout: (c) => o.push(c), onStderr: (c) => e.push(c) }).then((code) => {
                    o.end();
                    e.end();
                    if (code === SSH_FAILED) io.err(`[${h.name}] did not answer\n`);
                    return code;
                });
            }),
        );
        return codes.every((c) => c === 0) ? EXIT.ok : EXIT.unhealthy;
    }
    const results = await Promise.all(hosts.map((h) => runCaptured("ssh", sshArgv(s.ssh, s.inv, h, command), { timeoutMs: STATUS_TIMEOUT_MS, env: io.env })));
    let code: number = EXIT.ok;
    results.forEach((r, i) => {
        io.out(`== ${hosts[i].name} ==\n`);
        if (r.code === SSH_FAILED) {
            io.err(`ops: ${hosts[i].name} did not answer: ${sshError(r.stderr, r.timedOut)}\n`);
        } else {
            io.err(r.stderr);
            io.out(r.stdout);
        }
        if (r.code !== 0) code = EXIT.unhealthy;
    });
    return code;
}

async function interactive(s: Setup, host: Host, script: string, params: ScriptParams, io: OpsIo): Promise<number> {
    const tty = io.isTTY && io.inherit;
    const code = await runStreaming("ssh", sshArgv(s.ssh, s.inv, host, scriptCommand(script, params), { tty }), {
        inherit: io.inherit,
        env: io.env,
        stdin: io.stdin,
        onStdout: io.out,
        onStderr: io.err,
    });
    if (code === SSH_FAILED) io.err(`ops: ${host.name} did not answer (ssh exit 255)\n`);
    return remoteExitCode(code);
}

export { webHost };
