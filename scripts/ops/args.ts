/**
 * `npm run ops -- <verb> [options]`: the command line, parsed into a plain value. Pure.
 * A bad command line throws UsageError (exit code 2) with what was wrong and the usage.
 */
import { parseImageReference } from "../../stacks/imageReference";

export const VERBS = ["status", "logs", "console", "dbconsole", "hosts", "help"] as const;
export type Verb = (typeof VERBS)[number];
export const LOG_TARGETS = ["web", "jobs", "postgres", "proxy"] as const;
export type LogTarget = (typeof LOG_TARGETS)[number];

export interface HostAddress {
    address: string;
    port?: number;
}

export interface OpsArgs {
    verb: Verb;
    /** logs: whose logs. */
    target?: LogTarget;
    /** --host NAME (repeatable): logs jobs on these hosts only; console on this jobs host. */
    hosts: string[];
    follow: boolean;
    since?: string;
    tail?: string;
    /** status: print the report as JSON instead of text. */
    json: boolean;
    /** console: the image to run instead of the running jobs container's. */
    image?: string;
    /** dbconsole: a database name, or the queue database with --queue. */
    database?: string;
    queue: boolean;
    stack: string;
    /** Where Pulumi.yaml and Pulumi.<stack>.yaml are (default: this repository). */
    projectDir?: string;
    /** A file holding `pulumi stack output --json`, instead of running the CLI. */
    outputsFile?: string;
    /** false with --no-pulumi: never run the Pulumi CLI, read the stack file only. */
    pulumi: boolean;
    /** --host-ip NAME=IP[:PORT]: reach this host at this address directly. */
    hostIps: Record<string, HostAddress>;
    /** SSH private key file (--identity or SHRED_DAY_SSH_KEY); otherwise the agent. */
    identity?: string;
    /** SSH port of every host (default 22). */
    sshPort?: number;
    /** Extra `ssh -o` options, before the defaults (so they win). */
    sshOptions: string[];
    /** `ssh -F FILE`. */
    sshConfig?: string;
}

export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

export const USAGE = `usage: npm run ops -- <verb> [options]

verbs:
  status                      every host: containers (image, uptime), Solid Queue processes by host,
                              job counts, the web host's memory; exit 0 healthy, 1 not
  logs <web|jobs|postgres|proxy> [--host NAME] [--follow|-f] [--since 10m] [--tail N]
                              a container's logs (jobs: every jobs host unless --host)
  console [--host NAME] [--image IMAGE]
                              Rails console in a one-off container on a jobs host, with the jobs env
  dbconsole [--db NAME | --queue]
                              psql in the Postgres container (default: the primary database)
  hosts                       the hosts and how they are reached

options:
  --stack NAME                stack (default: production, or SHRED_DAY_STACK)
  --no-pulumi                 do not run the Pulumi CLI: hosts from Pulumi.<stack>.yaml, jobs hosts
                              through the web host (ssh ProxyCommand) at their private IP
  --outputs FILE              hosts from a saved \`pulumi stack output --json\`
  --host-ip NAME=IP[:PORT]    reach host NAME at IP (repeatable)
  --identity FILE             SSH key file (or SHRED_DAY_SSH_KEY); default: the SSH agent
  --ssh-port N                SSH port (default 22)
  --ssh-option OPT            extra \`ssh -o OPT\` (repeatable), e.g. UserKnownHostsFile=...
  --ssh-config FILE           \`ssh -F FILE\`
  --project-dir DIR           where Pulumi.<stack>.yaml is (default: this repository)
  --json                      status: JSON instead of text

exit codes: 0 all healthy / done, 1 something unhealthy, unreachable or failed, 2 usage or setup error`;

const DURATION = /^([0-9]+[smhd])+$/;
const TIMESTAMP = /^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$/;
const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$/;
const DNS = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const DB_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

function port(value: string, what: string): number {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || n < 1 || n > 65535) throw new UsageError(`${what}: '${value}' is not a port (1..65535)`);
    return n;
}

/** `--host-ip NAME=IP[:PORT]` (also a DNS name instead of the IP). */
export function parseHostIp(value: string): [string, HostAddress] {
    const m = /^([^=]+)=([^:]+)(?::([0-9]+))?$/.exec(value);
    if (!m || !HOST_NAME.test(m[1]) || !(IPV4.test(m[2]) || DNS.test(m[2]))) {
        throw new UsageError(`--host-ip '${value}': expected NAME=IP or NAME=IP:PORT, e.g. shred-day-jobs-ubuntu=203.0.113.10`);
    }
    return [m[1], m[3] === undefined ? { address: m[2] } : { address: m[2], port: port(m[3], "--host-ip") }];
}

/** Parse argv (what follows `npm run ops --`). Options may come before or after the verb. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = {}): OpsArgs {
    const args: OpsArgs = {
        verb: "help",
        hosts: [],
        follow: false,
        json: false,
        queue: false,
        stack: env.SHRED_DAY_STACK || "production",
        pulumi: true,
        hostIps: {},
        sshOptions: [],
        ...(env.SHRED_DAY_SSH_KEY ? { identity: env.SHRED_DAY_SSH_KEY } : {}),
    };
    const positional: string[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < argv.length; i++) {
        const raw = argv[i];
        let flag = raw;
        let inline: string | undefined;
        if (raw.startsWith("--") && raw.includes("=")) {
            flag = raw.slice(0, raw.indexOf("="));
            inline = raw.slice(raw.indexOf("=") + 1);
        }
        const value = (): string => {
            if (inline !== undefined) return inline;
            const v = argv[++i];
            if (v === undefined || (v.startsWith("-") && v !== "-")) throw new UsageError(`${flag} needs a value`);
            return v;
        };
        const once = () => {
            if (seen.has(flag)) throw new UsageError(`${flag} given twice`);
            seen.add(flag);
        };
        switch (flag) {
            case "-h":
            case "--help":
                return { ...args, verb: "help" };
            case "--stack":
                once();
                args.stack = value();
                if (!/^[A-Za-z0-9_.\-\/]+$/.test(args.stack)) throw new UsageError(`--stack '${args.stack}' is not a stack name`);
                break;
            case "--project-dir":
                once();
                args.projectDir = value();
                break;
            case "--outputs":
                once();
                args.outputsFile = value();
                break;
            case "--no-pulumi":
                args.pulumi = false;
                break;
            case "--host-ip": {
                const [name, addr] = parseHostIp(value());
                if (name in args.hostIps) throw new UsageError(`--host-ip ${name} given twice`);
                args.hostIps[name] = addr;
                break;
            }
            case "--identity":
            case "-i":
                once();
                args.identity = value();
                break;
            case "--ssh-port":
                once();
                args.sshPort = port(value(), "--ssh-port");
                break;
            case "--ssh-option": {
                const opt = value();
                if (!/^[A-Za-z]+[ =]\S.*$/.test(opt)) throw new UsageError(`--ssh-option '${opt}': expected Name=value, e.g. UserKnownHostsFile=/tmp/known_hosts`);
                args.sshOptions.push(opt);
                break;
            }
            case "--ssh-config":
                once();
                args.sshConfig = value();
                break;
            case "--host": {
                const h = value();
                if (!HOST_NAME.test(h)) throw new UsageError(`--host '${h}' is not a host name`);
                if (!args.hosts.includes(h)) args.hosts.push(h);
                break;
            }
            case "--follow":
            case "-f":
                args.follow = true;
                break;
            case "--since": {
                once();
                const s = value();
                if (!DURATION.test(s) && !TIMESTAMP.test(s)) throw new UsageError(`--since '${s}': expected a duration such as 10m, 2h or 1h30m, or a timestamp such as 2024-05-01T10:00:00`);
                args.since = s;
                break;
            }
            case "--tail":
            case "-n": {
                once();
                const t = value();
                if (!/^([0-9]+|all)$/.test(t)) throw new UsageError(`--tail '${t}': expected a number of lines or 'all'`);
                args.tail = t;
                break;
            }
            case "--json":
                args.json = true;
                break;
            case "--image": {
                once();
                const img = value();
                const ref = parseImageReference(img);
                if ("error" in ref) throw new UsageError(`--image '${img}' ${ref.error}; expected an image such as ghcr.io/owner/shred-day:abc123`);
                args.image = img;
                break;
            }
            case "--db": {
                once();
                const db = value();
                if (!DB_NAME.test(db)) throw new UsageError(`--db '${db}' is not a database name`);
                args.database = db;
                break;
            }
            case "--queue":
                args.queue = true;
                break;
            default:
                if (raw.startsWith("-")) throw new UsageError(`unknown option ${raw}`);
                positional.push(raw);
        }
    }

    if (positional.length === 0) return { ...args, verb: "help" };
    const verb = positional[0];
    if (!(VERBS as readonly string[]).includes(verb)) throw new UsageError(`unknown verb '${verb}'; one of: ${VERBS.join(", ")}`);
    args.verb = verb as Verb;
    const rest = positional.slice(1);

    const allowed: Record<Verb, string[]> = {
        status: ["--json"],
        logs: ["--host", "--follow", "--since", "--tail"],
        console: ["--host", "--image"],
        dbconsole: ["--db", "--queue"],
        hosts: ["--json"],
        help: [],
    };
    const used: [string, boolean][] = [
        ["--json", args.json],
        ["--host", args.hosts.length > 0],
        ["--follow", args.follow],
        ["--since", args.since !== undefined],
        ["--tail", args.tail !== undefined],
        ["--image", args.image !== undefined],
        ["--db", args.database !== undefined],
        ["--queue", args.queue],
    ];
    for (const [flag, isUsed] of used) {
        if (isUsed && !allowed[args.verb].includes(flag)) throw new UsageError(`${flag} does not apply to '${args.verb}'`);
    }

    if (args.verb === "logs") {
        if (rest.length !== 1 || !(LOG_TARGETS as readonly string[]).includes(rest[0])) {
            throw new UsageError(`logs needs one of: ${LOG_TARGETS.join(", ")}${rest.length ? ` (got '${rest.join(" ")}')` : ""}`);
        }
        args.target = rest[0] as LogTarget;
    } else if (rest.length > 0) {
        throw new UsageError(`'${args.verb}' takes no argument '${rest[0]}'`);
    }
    if (args.verb === "console" && args.hosts.length > 1) throw new UsageError("console runs on one host: give --host once");
    if (args.database !== undefined && args.queue) throw new UsageError("--db and --queue: give one");
    if (args.outputsFile !== undefined && !args.pulumi) throw new UsageError("--outputs and --no-pulumi: give one");
    return args;
}
