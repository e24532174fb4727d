/**
 * How ops reaches a host: the local `ssh`, with the program's settings (the config's user,
 * the SSH agent or a key file, only the stack's host keys trusted: a known_hosts built from
 * the stack, StrictHostKeyChecking=yes), and
 * the remote side a script from components/scripts run exactly as the program runs its
 * steps (scriptCommand). The argv is a pure function; running it is the only side effect.
 */
import { spawn } from "child_process";
import { shellQuote } from "../../components/remote";
import { knownHostsPattern, knownHostsText, strictHostKeyOptions } from "../../components/hostKeys";
import { Host, Inventory } from "./inventory";

export interface SshSettings {
    user: string;
    /** A key file; without it ssh uses the agent (SSH_AUTH_SOCK) and its default keys. */
    identity?: string;
    /** `ssh -F`. */
    config?: string;
    /** known_hosts built from the stack (knownHostsFor); the only keys ssh trusts. */
    knownHostsFile?: string;
    /** Extra `-o` options; they come first, and ssh keeps the first value it is given. */
    options: string[];
    connectTimeoutSeconds: number;
}

/** The options every connection gets, after the caller's own (which win). */
export function sshOptions(s: SshSettings): string[] {
    return [
        ...(s.config ? ["-F", s.config] : []),
        ...s.options.flatMap((o) => ["-o", o]),
        ...(s.identity ? ["-i", s.identity, "-o", "IdentitiesOnly=yes"] : []),
        ...(s.knownHostsFile ? strictHostKeyOptions(s.knownHostsFile) : ["-o", "StrictHostKeyChecking=yes", "-o", "UpdateHostKeys=no"]),
        "-o",
        "BatchMode=yes",
        "-o",
        `ConnectTimeout=${s.connectTimeoutSeconds}`,
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=3",
        "-o",
        "LogLevel=ERROR",
    ];
}

/** `%` is ssh's token character in ProxyCommand: a literal one is `%%`. */
function proxyEscape(s: string): string {
    return s.replace(/%/g, "%%");
}

/**
 * The ssh argv (without the `ssh` itself) that runs `command` on `host`. A host reached
 * `via` another one goes through an `ssh -W` to it (ProxyCommand, so the jump gets the same
 * key, options and port as every other connection; `-J` would drop them).
 */
export function sshArgv(s: SshSettings, inv: Inventory, host: Host, command: string, opts: { tty?: boolean } = {}): string[] {
    const argv = [opts.tty ? "-tt" : "-T", ...sshOptions(s)];
    if (host.port !== undefined) argv.push("-p", String(host.port));
    if (host.via !== undefined) {
        const jump = inv.hosts.find((h) => h.name === host.via);
        if (!jump) throw new Error(`host ${host.name} is reached via ${host.via}, which is not in the inventory`);
        if (jump.via !== undefined) throw new Error(`host ${jump.name} is itself reached through another host; one jump only`);
        const inner = ["ssh", "-T", ...sshOptions(s), ...(jump.port !== undefined ? ["-p", String(jump.port)] : []), "-W", "%h:%p", `${s.user}@${jump.address}`];
        argv.push("-o", `ProxyCommand=${inner.map((a) => (a === "%h:%p" ? a : proxyEscape(shellQuote(a)))).join(" ")}`);
    }
    argv.push(`${s.user}@${host.address}`, "--", command);
    return argv;
}

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
    timedOut: boolean;
}

/** ssh's own failures (cannot connect, authenticate, ...) exit 255; anything else is the remote command's. */
export const SSH_FAILED = 255;

/** Run ssh and collect its output (never throws for a failed command). */
export function runCaptured(sshBin: string, argv: string[], opts: { timeoutMs: number; stdin?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
    return new Promise((resolve) => {
        const child = spawn(sshBin, argv, { stdio: ["pipe", "pipe", "pipe"], env: opts.env });
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, opts.timeoutMs);
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", (err) => {
            clearTimeout(timer);
            resolve({ code: SSH_FAILED, stdout, stderr: `${stderr}${err.message}\n`, timedOut });
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code: timedOut ? SSH_FAILED : (code ?? SSH_FAILED), stdout, stderr, timedOut });
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.stdin ?? "");
    });
}

/**
 * Run ssh streaming its output: to the terminal (stdio inherited, for console, dbconsole
 * and logs --follow), or line by line to `onLine` with a prefix per host.
 */
export function runStreaming(
    sshBin: string,
    argv: string[],
    opts: { inherit: boolean; env?: NodeJS.ProcessEnv; stdin?: string; onStdout?: (chunk: string) => void; onStderr?: (chunk: string) => void },
): Promise<number> {
    return new Promise((resolve) => {
        const child = spawn(sshBin, argv, { stdio: opts.inherit ? "inherit" : [opts.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"], env: opts.env });
        if (!opts.inherit) {
            if (opts.stdin !== undefined) {
                child.stdin!.on("error", () => undefined);
                child.stdin!.end(opts.stdin);
            }
            child.stdout!.on("data", (d) => opts.onStdout?.(String(d)));
            child.stderr!.on("data", (d) => opts.onStderr?.(String(d)));
        }
        child.on("error", (err) => {
            opts.onStderr?.(`${err.message}\n`);
            resolve(SSH_FAILED);
        });
        child.on("close", (code) => resolve(code ?? SSH_FAILED));
    });
}

/** Splits a stream into lines and prefixes each (for several hosts at once). */
export function linePrefixer(prefix: string, write: (s: string) => void): { push(chunk: string): void; end(): void } {
    let buf = "";
    return {
        push(chunk) {
            buf += chunk;
            const lines = buf.split("\n");
            buf = lines.pop()!;
            for (const l of lines) write(`${prefix}${l}\n`);
        },
        end() {
            if (buf !== "") write(`${prefix}${buf}\n`);
            buf = "";
        },
    };
}

/** The last meaningful line of ssh's stderr: why a host did not answer. */
export function sshError(stderr: string, timedOut: boolean): string {
    if (timedOut) return "timed out";
    const lines = stderr
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !/^Warning: Permanently added/.test(l));
    return lines.length ? lines[lines.length - 1] : "ssh failed without a message";
}

/** Why ops cannot check a host's identity, and the fix. */
export function missingHostKey(h: Host): string {
    return (
        `no SSH host key for ${h.name}, so ops refuses to connect to it (it trusts only the keys the stack pins): run with the Pulumi CLI (the stack outputs hold every host's key), ` +
        `or set shred-day:${h.role === "web" ? "web.hostKey" : "jobs.hosts[].hostKey"} in the stack file (read on the server's console), ` +
        `or pass --ssh-option UserKnownHostsFile=FILE with a known_hosts you checked`
    );
}

/**
 * known_hosts for the hosts ops may reach: each host's key under every address ssh may use
 * for it (the address it dials, with its port, and its public and private IPs). A host
 * without a key has no line: ssh (StrictHostKeyChecking=yes) refuses it; `missing` says why.
 */
export function knownHostsFor(hosts: Host[]): { text: string; missing: string[] } {
    const withKeys = hosts.filter((h) => h.hostKey !== undefined);
    const text = knownHostsText(
        withKeys.map((h) => {
            const patterns = new Set([knownHostsPattern(h.address, h.port), ...(h.publicIp ? [knownHostsPattern(h.publicIp)] : []), knownHostsPattern(h.privateIp)]);
            return { patterns: [...patterns], publicKey: h.hostKey! };
        }),
    );
    return { text, missing: hosts.filter((h) => h.hostKey === undefined).map(missingHostKey) };
}
