/**
 * Reading a remote command the way the host's shell will run it, so the plan can say what a
 * release step starts without a second description of it:
 * - components/remote.ts makes every step's text `NAME='v' ... bash -c '<script>' <name>`;
 *   `parseScriptCommand` splits that back into parameters, script and name;
 * - `scriptVariables` resolves the script's own defaults (`: "${X:=v}"`) and simple top-level
 *   assignments (`name="$SERVICE-web-$RELEASE"`) on top of the parameters;
 * - `dockerRuns` finds every `docker run` in the script and reads its flags.
 * It is a reader for this repository's scripts (POSIX quoting, no eval), not a shell.
 */

const OPERATORS = new Set([">", "<", "|", "&", ";", "(", ")"]);

export interface Words {
    words: string[];
    /** Index in the text just after the last word read. */
    end: number;
}

/**
 * Split shell text into words (quotes removed, escapes applied), from `start` until the end or,
 * with `stopAtOperator`, the first unquoted operator (`>`, `|`, `;`, `)`, ...). A word of digits
 * directly before `>`/`<` is a redirection's file descriptor, not a word.
 */
export function shellWords(text: string, start = 0, stopAtOperator = false): Words {
    const words: string[] = [];
    let i = start;
    let word: string | undefined;
    const flush = () => {
        if (word !== undefined) words.push(word);
        word = undefined;
    };
    while (i < text.length) {
        const ch = text[i];
        if (ch === "\\" && text[i + 1] === "\n") {
            i += 2;
            continue;
        }
        if (ch === " " || ch === "\t" || ch === "\n") {
            flush();
            i++;
            continue;
        }
        if (stopAtOperator && OPERATORS.has(ch)) {
            if ((ch === ">" || ch === "<") && word !== undefined && /^[0-9]+$/.test(word)) word = undefined;
            flush();
            return { words, end: i };
        }
        if (ch === "#" && word === undefined) {
            while (i < text.length && text[i] !== "\n") i++;
            continue;
        }
        word ??= "";
        if (ch === "'") {
            const close = text.indexOf("'", i + 1);
            const to = close < 0 ? text.length : close;
            word += text.slice(i + 1, to);
            i = to + 1;
        } else if (ch === '"') {
            i++;
            while (i < text.length && text[i] !== '"') {
                if (text[i] === "\\" && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1])) {
                    if (text[i + 1] !== "\n") word += text[i + 1];
                    i += 2;
                } else {
                    word += text[i++];
                }
            }
            i++;
        } else if (ch === "\\") {
            word += text[i + 1] ?? "";
            i += 2;
        } else {
            word += ch;
            i++;
        }
    }
    flush();
    return { words, end: i };
}

export interface ScriptCommand {
    params: Record<string, string>;
    script: string;
    /** The script's name (components/scripts/<name>.sh). */
    name: string;
}

/** `NAME='v' ... bash -c '<script>' <name>` back into its parts; undefined for any other text. */
export function parseScriptCommand(text: unknown): ScriptCommand | undefined {
    if (typeof text !== "string") return undefined;
    const { words } = shellWords(text);
    const params: Record<string, string> = {};
    let i = 0;
    for (; i < words.length; i++) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(words[i]);
        if (!m) break;
        params[m[1]] = m[2];
    }
    if (words[i] !== "bash" || words[i + 1] !== "-c" || words[i + 2] === undefined) return undefined;
    return { params, script: words[i + 2], name: words[i + 3] ?? "script" };
}

/** Replace $X and ${X} by known values; unknown ones stay as written. */
export function expand(s: string, vars: Record<string, string>): string {
    return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, a, b) => vars[a ?? b] ?? all);
}

/** Parameters, then the script's `${X:=default}` defaults, then its simple top-level assignments. */
export function scriptVariables(script: string, params: Record<string, string>): Record<string, string> {
    const vars: Record<string, string> = { ...params };
    for (const m of script.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):=([^}]*)\}/g)) {
        if (!(m[1] in vars)) vars[m[1]] = expand(m[2], vars);
    }
    for (const line of script.split("\n")) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=("[^"`]*"|'[^']*'|[^\s;|&`()"']*)\s*$/.exec(line);
        if (!m || m[2].includes("$(") || m[1] in vars) continue;
        const { words } = shellWords(m[2]);
        vars[m[1]] = expand(words[0] ?? "", vars);
    }
    return vars;
}

/** One `docker run` in a script, its flags read (values as written, $VARs not expanded). */
export interface DockerRun {
    name?: string;
    image?: string;
    command: string[];
    publish: string[];
    envFiles: string[];
    env: string[];
    hostname?: string;
    network?: string;
    restart?: string;
    volumes: string[];
    labels: string[];
    rm: boolean;
}

const VALUE_FLAGS = new Set(
    (
        "--name --publish -p --env-file --env -e --hostname -h --network --net --restart --volume -v --mount --label -l --log-opt --log-driver " +
        "--stop-timeout --stop-signal --user -u --workdir -w --entrypoint --memory -m --cpus --add-host --tmpfs --cap-add --cap-drop --pull " +
        "--health-cmd --health-interval --health-timeout --health-retries --health-start-period --ulimit --ip --dns --platform --pid --shm-size " +
        "--gpus --device --expose --link --security-opt --sysctl --group-add --network-alias --ipc --cgroupns --label-file --publish-all-ports"
    ).split(" "),
);

/**
 * Which characters of shell text are inside a quoted string (where `docker run` is just words
 * of a message). `$( ... )` opens an unquoted context again, even inside double quotes.
 */
export function quotedMask(text: string): boolean[] {
    const mask: boolean[] = new Array(text.length).fill(false);
    const stack: ("'" | '"' | "$(")[] = [];
    for (let i = 0; i < text.length; i++) {
        const top = stack[stack.length - 1];
        const ch = text[i];
        mask[i] = top === "'" || top === '"';
        if (top === "'") {
            if (ch === "'") stack.pop();
            continue;
        }
        if (ch === "\\") {
            mask[i + 1] = mask[i];
            i++;
            continue;
        }
        if (ch === "$" && text[i + 1] === "(") {
            stack.push("$(");
            i++;
            continue;
        }
        if (top === '"') {
            if (ch === '"') stack.pop();
            continue;
        }
        if (ch === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
            while (i < text.length && text[i] !== "\n") mask[i++] = true;
            continue;
        }
        if (ch === ")" && top === "$(") stack.pop();
        else if (ch === "'" || ch === '"') stack.push(ch);
    }
    return mask;
}

/** Every `docker run` of a script that the shell would run (not in a comment, not in a message). */
export function dockerRuns(script: string): DockerRun[] {
    const runs: DockerRun[] = [];
    const text = script;
    const quoted = quotedMask(text);
    for (const m of text.matchAll(/\bdocker\s+(?:container\s+)?run\b/g)) {
        if (quoted[m.index!]) continue;
        const { words } = shellWords(text, m.index! + m[0].length, true);
        const run: DockerRun = { command: [], publish: [], envFiles: [], env: [], volumes: [], labels: [], rm: false };
        let entrypoint: string | undefined;
        let i = 0;
        for (; i < words.length; i++) {
            const w = words[i];
            if (!w.startsWith("-")) break;
            const eq = w.indexOf("=");
            const flag = eq > 0 && w.startsWith("--") ? w.slice(0, eq) : w;
            let value: string | undefined;
            if (eq > 0 && w.startsWith("--")) value = w.slice(eq + 1);
            else if (VALUE_FLAGS.has(flag)) value = words[++i];
            if (flag === "--rm") run.rm = true;
            if (value === undefined) continue;
            switch (flag) {
                case "--name":
                    run.name = value;
                    break;
                case "--publish":
                case "-p":
                    run.publish.push(value);
                    break;
                case "--env-file":
                    run.envFiles.push(value);
                    break;
                case "--env":
                case "-e":
                    run.env.push(value.split("=")[0]);
                    break;
                case "--hostname":
                case "-h":
                    run.hostname = value;
                    break;
                case "--network":
                case "--net":
                    run.network = value;
                    break;
                case "--restart":
                    run.restart = value;
                    break;
                case "--volume":
                case "-v":
                case "--mount":
                    run.volumes.push(value);
                    break;
                case "--label":
                case "-l":
                    run.labels.push(value);
                    break;
                case "--entrypoint":
                    entrypoint = value;
                    break;
            }
        }
        run.image = words[i];
        // what the container runs: --entrypoint replaces the image's, the words after the image are its arguments
        run.command = [...(entrypoint === undefined ? [] : [entrypoint]), ...words.slice(i + 1)];
        runs.push(run);
    }
    return runs;
}

/** The first sentence of a script's header comment (after the shebang), whole. */
export function scriptSummary(script: string): string {
    const lines = script.split("\n");
    const comment: string[] = [];
    for (const line of lines.slice(lines[0]?.startsWith("#!") ? 1 : 0)) {
        if (!line.startsWith("#")) break;
        const t = line.replace(/^#\s?/, "");
        if (t.trim() === "" && comment.length > 0) break;
        comment.push(t.trim());
    }
    const text = comment.join(" ").replace(/\s+/g, " ").trim();
    // The first whole sentence, never cut: a period followed by a space or the end.
    let sentence = /^(.*?\.)(\s|$)/.exec(text)?.[1] ?? text;
    // "Does this: - a; - b" lists: keep the lead-in, as a sentence.
    const list = sentence.indexOf(": - ");
    if (list > 0) sentence = `${sentence.slice(0, list)}.`;
    // A lead-in to a numbered list ("..., as Kamal 2 does:") ends the sentence there.
    return sentence.replace(/:$/, ".");
}
