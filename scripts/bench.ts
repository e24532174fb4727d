/**
 * `npm run bench`: how the program scales with the number of jobs hosts.
 * For 1, 5 and 20 hosts: the time to evaluate the program on mocks (median of a few runs),
 * the number of resources, and the length of the longest chain of remote commands in a
 * release (which must not grow with the number of hosts).
 */
import { withJobsHosts } from "../tests/support/fixtures";
import { evaluate } from "./evaluate";
import { longestCommandChain } from "../tests/support/rerun";

const RUNS = 5;

async function main(): Promise<void> {
    console.log("jobs hosts | eval ms (median of 5) | resources | remote commands | longest command chain");
    console.log("---------- | --------------------- | --------- | --------------- | ---------------------");
    const chains: number[] = [];
    for (const hosts of [1, 5, 20]) {
        const times: number[] = [];
        let resources = 0;
        let commands = 0;
        let chain: string[] = [];
        for (let i = 0; i < RUNS; i++) {
            const start = process.hrtime.bigint();
            const e = await evaluate(withJobsHosts(hosts));
            times.push(Number(process.hrtime.bigint() - start) / 1e6);
            resources = e.resources.length;
            commands = e.ofType("command:remote:Command").length;
            chain = longestCommandChain(e);
        }
        times.sort((a, b) => a - b);
        chains.push(chain.length);
        console.log(
            `${String(hosts).padStart(10)} | ${times[Math.floor(RUNS / 2)].toFixed(1).padStart(21)} | ${String(resources).padStart(9)} | ${String(commands).padStart(15)} | ${chain.length}`,
        );
        if (hosts === 1) console.log(`             chain: ${chain.join(" -> ")}`);
    }
    const flat = chains.every((c) => c === chains[0]);
    console.log(flat ? "chain length is the same for 1, 5 and 20 hosts" : `chain length grows: ${chains.join(", ")}`);
    if (!flat) process.exitCode = 1;
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
