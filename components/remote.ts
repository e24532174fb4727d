import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

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
 * so dial errors are retried for a long while (about 10 minutes).
 */
export function connectionTo(host: pulumi.Input<string>, ssh: SshAccess): command.types.input.remote.ConnectionArgs {
    return {
        host,
        user: ssh.user,
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

/**
 * The local `ssh` that @pulumi/docker runs needs the key as a file: write it root-only
 * under the temp dir (named by a hash of the key, so the path in state never changes).
 */
export function sshKeyFile(privateKey: pulumi.Output<string>): pulumi.Output<string> {
    // The path is not secret; the key stays in the file and in the (secret) config.
    return pulumi.unsecret(privateKey.apply((key) => {
        const digest = crypto.createHash("sha256").update(key).digest("hex").slice(0, 16);
        const file = path.join(os.tmpdir(), `shred-day-ssh-${digest}.key`);
        fs.writeFileSync(file, key.endsWith("\n") ? key : `${key}\n`, { mode: 0o600 });
        return file;
    }));
}
