import * as fs from "fs";
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

/** The text of a script in components/scripts/, by name without `.sh`. */
export function readScript(name: string): string {
    const file = path.join(SCRIPTS_DIR, `${name}.sh`);
    if (!fs.existsSync(file)) {
        throw new Error(`no script ${name}.sh in ${SCRIPTS_DIR}`);
    }
    return fs.readFileSync(file, "utf8");
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
