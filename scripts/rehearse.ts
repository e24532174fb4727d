/**
 * npm run rehearse [-- jest args, e.g. -t "second release"]
 *
 * Runs the rehearsal (tests/rehearsal): the program's own remote commands and Postgres container,
 * in the engine's order, on lab hosts made of network namespaces with their own sshd and dockerd,
 * from bare hosts through releases and failures; then prints the figures (wall time per step,
 * critical path against the app's own boot/health/registration, failed requests per rollout,
 * time from up to workers proven).
 *
 * Needs root (network namespaces, mounts, dockerd) and the Debian packages .ci/run installs.
 * It dials nothing outside the lab it makes, and tears the lab down at the end, on failure and on Ctrl-C.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderFigures, UpFigures } from "../tests/rehearsal/figures";

function main(argv: string[]): number {
    if (process.getuid?.() !== 0) {
        process.stderr.write(
            "npm run rehearse needs root: it makes network namespaces, mounts and a Docker engine per lab host.\n" +
                "Run it as root (e.g. `sudo npm run rehearse`) on a machine with the packages .ci/run installs.\n",
        );
        return 1;
    }
    const figuresFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-rehearse-")), "figures.json");
    const jest = path.join(__dirname, "..", "node_modules", ".bin", "jest");
    const r = spawnSync(jest, ["--selectProjects", "rehearsal", "--runInBand", ...argv], {
        stdio: "inherit",
        env: { ...process.env, REHEARSAL_FIGURES: figuresFile },
    });
    if (fs.existsSync(figuresFile)) {
        const figures: UpFigures[] = JSON.parse(fs.readFileSync(figuresFile, "utf8"));
        process.stdout.write(`\nRehearsal figures\n${renderFigures(figures)}`);
    }
    fs.rmSync(path.dirname(figuresFile), { recursive: true, force: true });
    return r.status ?? 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
