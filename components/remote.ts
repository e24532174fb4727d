import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { strictHostKeyOptions } from "./hostKeys";

/**
 * How a shell script in components/scripts/ becomes the text of a remote command.
 *
 * Contract for every script:
 * - it is a bash file, `set -euo pipefail`, shellcheck-clean;
 * - it takes its (non-secret) parameters as environment variables, declared at the top
 *   with `: "${NAME:?...}"`;
 * - it takes secret material on stdin only (the command's `stdin`), never as a parameter;
 * - it is idempotent: running it twice with the same inputs changes nothing the second time.
 *
 * The remote login shell (sh or bash) runs `NAME='v' ... bash -c '<script>' <script-name>`,
 * so the command text holds the script and its parameters and nothing else. SSH `Setenv`
 * is never used (stock sshd refuses it), and no secret is ever part of the text, because
 * the provider quotes the whole command in its error messages.
 */

export const SCRIPTS_DIR = path.join(__dirname, "scripts");

export type ScriptParams = Record<string, string | number | boolean>;

/** POSIX single-quote a value so the shell takes it literally. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The text of a script in components/scripts/, by name without `.sh`. A line
 * `# @include lib/NAME.sh` is replaced by that file, so shared shell functions live once
 * and every remote command is still one self-contained text.
 */
export function readScript(name: string): string {
    const file = path.join(SCRIPTS_DIR, `${name}.sh`);
    if (!fs.existsSync(file)) {
        throw new Error(`no script ${name}.sh in ${SCRIPTS_DIR}`);
    }
    return fs.readFileSync(file, "utf8").replace(/^# @include (lib\/[a-z-]+\.sh)$/gm, (_, lib: string) => {
        const libFile = path.join(SCRIPTS_DIR, lib);
        if (!fs.existsSync(libFile)) throw new Error(`${name}.sh includes ${lib}, which does not exist in ${SCRIPTS_DIR}`);
        return fs.readFileSync(libFile, "utf8").trimEnd();
    });
}

/** The command text that runs script `name` with `params` as its environment. */
export function scriptCommand(name: string, params: ScriptParams = {}): string {
    const assignments = Object.keys(params)
        .sort()
        .map((key) => {
            if (!/^[A-Z][A-Z0-9_]*$/.test(key)) {
                throw new Error(`script parameter ${JSON.stringify(key)} of ${name}.sh must be an UPPER_CASE shell name`);
            }
            return `${key}=${shellQuote(String(params[key]))}`;
        });
    return [...assignments, "bash", "-c", shellQuote(readScript(name)), name].join(" ");
}

/** How the program reaches a host over SSH: a key from the stack config, or the SSH agent. */
export interface SshAccess {
    user: string;
    /** Secret; when undefined the provider uses the agent at SSH_AUTH_SOCK. */
    privateKey?: pulumi.Output<string>;
}

/**
 * Connection settings for a remote command. The first SSH to a new server races its boot,
 * so dial errors are retried for a long while (about 10 minutes). `hostKey` is the host's
 * public SSH host key (components/hostKeys.ts): the connection is refused when the host
 * answers with another one, so no secret on stdin reaches whoever else holds the address.
 */
export function connectionTo(host: pulumi.Input<string>, ssh: SshAccess, hostKey: pulumi.Input<string>): command.types.input.remote.ConnectionArgs {
    return {
        host,
        user: ssh.user,
        hostKey,
        ...(ssh.privateKey === undefined ? {} : { privateKey: ssh.privateKey }),
        dialErrorLimit: 60,
        perDialTimeout: 10,
    };
}

export interface RemoteStepArgs {
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** A script in components/scripts/, without `.sh`. */
    script: string;
    /** The script's non-secret parameters; any change re-runs the step. */
    params: pulumi.Input<Record<string, pulumi.Input<string | number | boolean>>>;
    /** Secret input, sent on stdin and never part of the command text. */
    stdin?: pulumi.Input<string>;
    /** A change here replaces the step (runs it again from scratch). */
    triggers?: pulumi.Input<any[]>;
    /**
     * How long Pulumi lets the step run before it gives up (`customTimeouts`), as Pulumi's
     * duration text ("20m"). Every script bounds its own waits below this; this bound is the
     * last line of defence, so a hung SSH session cannot hold `pulumi up` and its stack lock.
     */
    timeout?: string;
}

/** The default `customTimeouts` of a remote step: above every wait a script bounds itself. */
export const STEP_TIMEOUT = "20m";

/** A step's `customTimeouts` for a script that may wait SECONDS by its config: the default, or longer. */
export function stepTimeoutFor(seconds: number): string {
    return seconds > 20 * 60 ? `${Math.ceil(seconds)}s` : STEP_TIMEOUT;
}

/**
 * What every remote command keeps secret in the state: its stdout and stderr may quote
 * what a container printed (an app echoing its env, a registry's answer), so they are
 * encrypted like any secret, whatever the script tries to redact.
 */
export const SECRET_OUTPUTS = ["stdout", "stderr"];

/**
 * What reaches the Pulumi log while a step runs: stderr only. The scripts print failures,
 * warnings and redacted app output there; progress chatter stays on stdout, which is kept
 * (encrypted) in the state only.
 */
export const STEP_LOGGING = "stderr" as const;

/**
 * A remote command that runs one script. Never uses SSH `environment` (stock sshd refuses
 * it), keeps stdout out of the next run's environment, marks stdin, stdout and stderr
 * secret, logs stderr only, and is bounded in time (customTimeouts).
 */
export function remoteStep(name: string, args: RemoteStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    return new command.remote.Command(
        name,
        {
            connection: args.connection,
            create: pulumi.output(args.params).apply((p) => scriptCommand(args.script, p as ScriptParams)),
            ...(args.stdin === undefined ? {} : { stdin: pulumi.secret(args.stdin) }),
            ...(args.triggers === undefined ? {} : { triggers: args.triggers }),
            addPreviousOutputInEnv: false,
            logging: STEP_LOGGING,
        },
        {
            ...opts,
            additionalSecretOutputs: [...new Set([...(opts.additionalSecretOutputs ?? []), ...SECRET_OUTPUTS])],
            customTimeouts: { create: args.timeout ?? STEP_TIMEOUT, update: args.timeout ?? STEP_TIMEOUT, delete: args.timeout ?? STEP_TIMEOUT, ...opts.customTimeouts },
        },
    );
}

/** Files the local `ssh` of @pulumi/docker reads: the key (none with the agent) and known_hosts. */
export interface SshClientFiles {
    keyFile?: string;
    knownHostsFile: string;
}

const removeAtExit = new Set<string>();
let exitHooks = false;
/** Remove `dir` when this process exits, normally or by SIGINT, SIGTERM or SIGHUP. */
export function removeOnExit(dir: string): void {
    removeAtExit.add(dir);
    if (exitHooks) return;
    exitHooks = true;
    const removeAll = () => {
        for (const d of removeAtExit) fs.rmSync(d, { recursive: true, force: true });
        removeAtExit.clear();
    };
    process.once("exit", removeAll);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(signal, () => {
            removeAll();
            // what the default action would report, now that the files are gone
            process.exit(128 + os.constants.signals[signal]);
        });
    }
}

/**
 * A private directory under the temp dir (mode 0700, owned by this user, never a symlink),
 * removed when the process exits or is stopped by a signal (issue 11 point 5).
 *
 * Its name is fixed by `tag` (a digest of what it will hold), not random like mkdtemp: the
 * paths are inputs of the Docker provider, and a path that changed on every run would show
 * the provider as changed on every `pulumi up`. What mkdtemp's randomness guards against (a
 * directory planted by another user) is refused here instead: an existing path is used only
 * when it is our own 0700 directory.
 */
export function privateDir(tag: string): string {
    const uid = typeof process.getuid === "function" ? process.getuid() : 0;
    const dir = path.join(os.tmpdir(), `shred-day-${uid}-${tag}`);
    try {
        fs.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || st.isSymbolicLink() || st.uid !== uid || (st.mode & 0o077) !== 0) {
        throw new Error(`${dir} exists but is not a private directory of this user (mode 0700, owner ${uid}); remove it and run again`);
    }
    removeOnExit(dir);
    return dir;
}

/**
 * Write the key (when there is one; else ssh uses the agent) and the known_hosts text for the
 * local `ssh` into a private directory, both 0600. The paths are not secret.
 */
export function sshClientFiles(privateKey: pulumi.Output<string> | undefined, knownHosts: pulumi.Input<string>): pulumi.Output<SshClientFiles> {
    return pulumi.unsecret(
        pulumi.all([privateKey ?? "", knownHosts]).apply(([key, hosts]) => {
            const tag = crypto.createHash("sha256").update(`${key}\n--\n${hosts}`).digest("hex").slice(0, 16);
            const dir = privateDir(tag);
            const knownHostsFile = path.join(dir, "known_hosts");
            fs.writeFileSync(knownHostsFile, hosts, { mode: 0o600 });
            if (key === "") return { knownHostsFile };
            const keyFile = path.join(dir, "key");
            fs.writeFileSync(keyFile, key.endsWith("\n") ? key : `${key}\n`, { mode: 0o600 });
            return { keyFile, knownHostsFile };
        }),
    );
}

/** `sshOpts` of the Docker provider: the key file (if any), and only the stack's host keys are trusted. */
export function dockerSshOpts(files: SshClientFiles): string[] {
    return [
        ...(files.keyFile ? ["-i", files.keyFile, "-o", "IdentitiesOnly=yes"] : []),
        ...strictHostKeyOptions(files.knownHostsFile),
        "-o",
        "ServerAliveInterval=30",
    ];
}
