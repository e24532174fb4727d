/**
 * lib/bounded.sh, the bound on every wait of the remote scripts, run with bash: a command that
 * outlives its limit is reported as a timeout (124); a command that fails on its own, even with
 * the statuses timeout(1) uses (124, 137: an OOM-killed container exits 137), keeps its status
 * and is not blamed on the limit.
 */
import * as path from "path";
import { spawnSync } from "child_process";
import { SCRIPTS_DIR } from "../../components/remote";

const LIB = path.join(SCRIPTS_DIR, "lib", "bounded.sh");

function bounded(limit: number, command: string): { code: number; stderr: string; ms: number } {
    const t0 = Date.now();
    const r = spawnSync("bash", ["-c", `source "$LIB"; bounded ${limit} "the thing" bash -c "$CMD"`], {
        env: { PATH: process.env.PATH, LIB, CMD: command },
        encoding: "utf8",
        timeout: 30_000,
        stdio: ["ignore", "pipe", "pipe"], // stdin not a socket: bash would read ~/.bashrc (its rshd rule)
    });
    return { code: r.status ?? -1, stderr: r.stderr, ms: Date.now() - t0 };
}

test("a command past its limit: TERM, status 124, 'gave up waiting for WHAT after N s'", () => {
    const r = bounded(1, "sleep 20");
    expect(r.code).toBe(124);
    expect(r.stderr).toBe("gave up waiting for the thing after 1 s\n");
    expect(r.ms).toBeLessThan(10_000);
});

test("a command that ignores TERM is KILLed 10 s later and still reported as a timeout", () => {
    const r = bounded(1, "trap '' TERM; sleep 30");
    expect(r.code).toBe(124);
    // (bash also notes that timeout(1) itself ended by KILL, which is how it passes the KILL on)
    expect(r.stderr).toContain("gave up waiting for the thing after 1 s\n");
});

test("a command that exits 137 or 124 on its own, within its limit, keeps its status and is not called a timeout", () => {
    for (const status of [137, 124, 3]) {
        const r = bounded(20, `exit ${status}`);
        expect([r.code, r.stderr]).toEqual([status, ""]);
    }
});
