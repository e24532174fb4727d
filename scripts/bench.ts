/**
 * npm run bench [-- --stack production | --fixture] [--hosts 1,5,20] [--runs 5]
 *
 * How the program scales with the number of jobs hosts, for YOUR stack file (Pulumi.<stack>.yaml,
 * placeholders and secrets stood in for as the plan does), or with --fixture for the stack file as
 * the repository ships it. For each count of jobs hosts (the file's own hosts first, then more at
 * free addresses of the subnet): the time to evaluate the program on mocks (median of --runs), the
 * resources, the remote commands, and the longest chain of steps that must run one after the
 * other (scripts/plan/model.ts longestChain: the number the plan prints), which must not grow.
 */
import ipaddr from "ipaddr.js";
import { parseArgs } from "util";
import { MAX_CONNECTIONS_SETTING_DEFAULT, neededMaxConnections } from "../components/postgresConnections";
import { ConfigError, parseConfig } from "../stacks/config";
import { PROJECT_DIR, readStackFile, StackFileError } from "../stacks/stackFile";
import { evaluate } from "./evaluate";
import { planForConfig } from "./plan/model";
import { withStandIns } from "./plan/standIns";

export const USAGE = `usage: npm run bench -- [--stack NAME | --fixture] [--hosts 1,5,20] [--runs 5]

Evaluates the program on Pulumi's mocks for your stack file with 1, 5 and 20 jobs hosts, and
prints the evaluation time, the resource count and the longest chain of steps.

  --stack NAME   the stack file to measure: Pulumi.NAME.yaml (default: production)
  --fixture      measure the stack file as the repository ships it instead
  --hosts LIST   the jobs host counts, comma-separated (default: 1,5,20)
  --runs N       evaluations per count; the median time is shown (default: 5)
  --help, -h     this text
`;

type Raw = Record<string, any>;

/**
 * The config with `n` jobs hosts: the file's own hosts first (cut to n), then new ones named
 * `<first host's name>-bench-K` at the lowest free addresses of the subnet.
 */
export function scaleJobsHosts(base: Raw, n: number): Raw {
    const c: Raw = JSON.parse(JSON.stringify(base));
    const own: { name: string; privateIp: string }[] = Array.isArray(c.jobs?.hosts) ? c.jobs.hosts : [];
    const hosts = own.slice(0, n);
    const used = new Set<string>([String(c.web?.privateIp), ...own.map((h) => String(h.privateIp))]);
    const [net, bits] = ipaddr.IPv4.parseCIDR(String(c.network.subnetRange));
    const start = ipaddr.IPv4.networkAddressFromCIDR(`${net.toString()}/${bits}`).toByteArray();
    const toNumber = (b: number[]) => ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
    const first = toNumber(start);
    const size = 2 ** (32 - bits);
    const prefix = own[0]?.name ?? "shred-day-jobs";
    // Skip the network address and the gateway (first + 1); stop before the broadcast address.
    for (let i = 2; hosts.length < n && i < size - 1; i++) {
        const v = first + i;
        const ip = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
        if (used.has(ip)) continue;
        used.add(ip);
        hosts.push({ name: `${prefix}-bench-${hosts.length + 1}`, privateIp: ip });
    }
    if (hosts.length < n) throw new Error(`the subnet ${c.network.subnetRange} has room for ${hosts.length} jobs hosts, not ${n}`);
    c.jobs.hosts = hosts;
    // As an operator would after adding hosts: raise postgres.maxConnections to what the config asks for.
    c.postgres.maxConnections = Math.max(c.postgres?.maxConnections ?? MAX_CONNECTIONS_SETTING_DEFAULT, neededMaxConnections(c));
    return c;
}

/** The values to measure: the stack file with stand-ins for placeholders and secrets (as the plan). */
export function benchConfig(stack: string, dir: string): Raw {
    const file = readStackFile(stack, dir);
    const standIns = withStandIns(file);
    if (file.problems.length > 0) parseConfig(standIns.raw, file.problems);
    return standIns.raw;
}

export interface BenchRow {
    hosts: number;
    medianMs: number;
    resources: number;
    commands: number;
    chain: string[];
}

export async function measure(base: Raw, counts: number[], runs: number): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    for (const n of counts) {
        const raw = scaleJobsHosts(base, n);
        const times: number[] = [];
        let resources = 0;
        let commands = 0;
        for (let i = 0; i < runs; i++) {
            const start = process.hrtime.bigint();
            const e = await evaluate(raw);
            times.push(Number(process.hrtime.bigint() - start) / 1e6);
            resources = e.resources.length;
            commands = e.ofType("command:remote:Command").length;
        }
        times.sort((a, b) => a - b);
        const plan = await planForConfig(raw);
        rows.push({ hosts: n, medianMs: times[Math.floor(runs / 2)], resources, commands, chain: plan.chain });
    }
    return rows;
}

export function renderBench(source: string, rows: BenchRow[], runs: number): string {
    const out = [`measuring ${source}`, ""];
    out.push(`jobs hosts | eval ms (median of ${runs}) | resources | remote commands | longest chain of steps`);
    out.push("---------- | --------------------- | --------- | --------------- | ----------------------");
    for (const r of rows) {
        out.push(`${String(r.hosts).padStart(10)} | ${r.medianMs.toFixed(1).padStart(21)} | ${String(r.resources).padStart(9)} | ${String(r.commands).padStart(15)} | ${r.chain.length}`);
    }
    if (rows.length > 0) out.push("", `chain (${rows[0].hosts} jobs host${rows[0].hosts === 1 ? "" : "s"}): ${rows[0].chain.join(" -> ")}`);
    const flat = rows.every((r) => r.chain.length === rows[0].chain.length);
    out.push(flat ? `the chain is ${rows[0]?.chain.length ?? 0} steps for ${rows.map((r) => r.hosts).join(", ")} jobs hosts: it does not grow` : `the chain grows: ${rows.map((r) => r.chain.length).join(", ")}`);
    return `${out.join("\n")}\n`;
}

export interface BenchIo {
    out: (s: string) => void;
    err: (s: string) => void;
    projectDir: string;
    /** The shipped stack file's values, for --fixture (tests/support/fixtures.ts shippedConfig). */
    fixture?: () => Raw;
}

export async function main(argv: string[], io: BenchIo): Promise<number> {
    let values: { stack?: string; fixture?: boolean; hosts?: string; runs?: string; help?: boolean };
    try {
        ({ values } = parseArgs({
            args: argv,
            options: { stack: { type: "string" }, fixture: { type: "boolean" }, hosts: { type: "string" }, runs: { type: "string" }, help: { type: "boolean", short: "h" } },
            strict: true,
            allowPositionals: false,
        }));
    } catch (e) {
        io.err(`bench: ${(e as Error).message}\n\n${USAGE}`);
        return 2;
    }
    if (values.help) {
        io.out(USAGE);
        return 0;
    }
    const counts = (values.hosts ?? "1,5,20").split(",").map(Number);
    const runs = Number(values.runs ?? "5");
    if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 200) || !Number.isInteger(runs) || runs < 1 || runs > 50) {
        io.err(`bench: --hosts takes counts from 1 to 200 (e.g. 1,5,20) and --runs 1 to 50\n\n${USAGE}`);
        return 2;
    }
    if (values.fixture && values.stack !== undefined) {
        io.err(`bench: --stack and --fixture: give one\n\n${USAGE}`);
        return 2;
    }
    const stack = values.stack ?? "production";
    let base: Raw;
    let source: string;
    try {
        if (values.fixture) {
            const fixture = io.fixture ?? (() => require("../tests/support/fixtures").productionConfig());
            base = fixture();
            source = "the stack file as shipped, placeholders filled (tests/support/fixtures.ts)";
        } else {
            base = benchConfig(stack, io.projectDir);
            source = `Pulumi.${stack}.yaml (placeholders and secrets stood in for, as in npm run plan)`;
        }
        const rows = await measure(base, counts, runs);
        io.out(renderBench(source, rows, runs));
        return rows.every((r) => r.chain.length === rows[0].chain.length) ? 0 : 1;
    } catch (e) {
        if (e instanceof ConfigError) {
            io.err(`The stack config in Pulumi.${stack}.yaml is refused, so there is nothing to measure:\n${e.message}\n`);
            return 1;
        }
        if (e instanceof StackFileError) {
            io.err(`bench: ${e.message}\n`);
            return 1;
        }
        throw e;
    }
}

if (require.main === module) {
    main(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), projectDir: PROJECT_DIR }).then(
        (code) => process.exit(code),
        (e) => {
            process.stderr.write(`bench: unexpected error (a bug; please report it with this trace):\n${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
            process.exit(1);
        },
    );
}
