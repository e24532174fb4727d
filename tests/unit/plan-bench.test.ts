/**
 * `npm run bench` measures the user's stack file (here: a stack file in a private directory), or
 * the shipped fixture when asked, works without app.registry, and reports the plan's chain length.
 */
import * as fs from "fs";
import * as path from "path";
import { main, scaleJobsHosts, USAGE } from "../../scripts/bench";
import { productionConfig, removeStackDir, SHIPPED_STACK_YAML, stackDir } from "../support/fixtures";

let dir: string;
afterEach(() => removeStackDir(dir));

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), projectDir: dir, fixture: productionConfig });
    return { code, out, err };
}

/** The shipped stack file without app.registry (a public image), its jobs host renamed my-jobs-1. */
const NO_REGISTRY = SHIPPED_STACK_YAML.replace(/    registry:\n      server: ghcr.io\n      username: CHANGE-ME\n/, "").replace("- name: shred-day-jobs-ubuntu", "- name: my-jobs-1");

describe("npm run bench", () => {
    test("without app.registry it measures the user's stack file (its own values), and the chain does not grow", async () => {
        expect(NO_REGISTRY).not.toContain("registry:");
        expect(NO_REGISTRY).toContain("- name: my-jobs-1");
        dir = stackDir({ production: NO_REGISTRY });
        const r = await run(["--hosts", "1,3", "--runs", "1"]);
        expect([r.code, r.err]).toEqual([0, ""]);
        expect(r.out).toMatch(/^measuring Pulumi\.production\.yaml \(placeholders and secrets stood in for, as in npm run plan\)\n/);
        const rows = [...r.out.matchAll(/^\s+(\d+) \|\s+[\d.]+ \|\s+(\d+) \|\s+(\d+) \| (\d+)$/gm)].map((m) => m.slice(1).map(Number));
        expect(rows.map((x) => x[0])).toEqual([1, 3]);
        expect(rows[1][1]).toBeGreaterThan(rows[0][1]);
        expect(rows[0][3]).toBe(rows[1][3]);
        expect(r.out).toContain(`the chain is ${rows[0][3]} steps for 1, 3 jobs hosts: it does not grow`);
        // The file's own host, not a fixture's, is in the chain.
        expect(r.out).toContain("release-jobs-start-my-jobs-1 -> release-jobs-proof");
    }, 60_000);

    test("scaled hosts keep the file's own hosts first and take free addresses of the subnet", () => {
        const c = productionConfig();
        const scaled = scaleJobsHosts(c, 3);
        expect(scaled.jobs.hosts.map((h: any) => [h.name, h.privateIp])).toEqual([
            ["shred-day-jobs-ubuntu", "10.0.0.2"],
            ["shred-day-jobs-ubuntu-bench-2", "10.0.0.4"],
            ["shred-day-jobs-ubuntu-bench-3", "10.0.0.5"],
        ]);
        expect(scaled.jobs.hosts[0].importId).toBe(c.jobs.hosts[0].importId);
        expect(() => scaleJobsHosts({ ...c, network: { ...c.network, subnetRange: "10.0.0.0/29" } }, 10)).toThrow(/has room for \d+ jobs hosts, not 10/);
    });

    test("--fixture measures the shipped stack file instead; --help; bad options are refused", async () => {
        dir = stackDir({ production: "config: {}\n" });
        const r = await run(["--fixture", "--hosts", "1", "--runs", "1"]);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^measuring the stack file as shipped, placeholders filled/);
        expect((await run(["--help"])).out).toBe(USAGE);
        const bad = await run(["--hots", "1"]);
        expect(bad.code).toBe(2);
        expect(bad.err).toMatch(/^bench: Unknown option '--hots'/);
        expect((await run(["--hosts", "0"])).code).toBe(2);
    }, 60_000);

    test("a refused stack file says so, with the key; an unknown stack names the stacks", async () => {
        dir = stackDir({ production: SHIPPED_STACK_YAML.replace("privateIp: 10.0.0.2", "privateIp: 10.0.0.3") });
        const r = await run(["--hosts", "1", "--runs", "1"]);
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/^The stack config in Pulumi\.production\.yaml is refused, so there is nothing to measure:\n/);
        const none = await run(["--stack", "nope"]);
        expect(none.err).toMatch(/^bench: no stack file Pulumi\.nope\.yaml in .*: the stacks here are: production/);
        expect(fs.existsSync(path.join(dir, "Pulumi.production.yaml"))).toBe(true);
    }, 60_000);
});
