/**
 * A test process for harness.test.ts's cleanup tests: starts a private dockerd (with a running
 * container) and an sshd, prints where they live as one JSON line, then "READY", and waits to
 * be killed. Whatever it started must be gone afterwards (cleanup.ts on SIGTERM; the dockerd
 * session's owner watch on SIGKILL).
 */
import { startDocker } from "./docker";
import { startSshd } from "./integration";

(async () => {
    const docker = await startDocker();
    const image = await docker.image("app");
    await docker.ok(["run", "-d", "--name", "victim", image, "sleep", "600"]);
    const ssh = await startSshd();
    const pid = ssh.pid() ?? 0;
    const sshDir = ssh.configFile.replace(/\/sshd_config$/, "");
    process.stdout.write(JSON.stringify({ dockerDir: docker.dir, netns: docker.netns, sshDir, sshPid: pid }) + "\nREADY\n");
    setInterval(() => undefined, 1000);
})().catch((e) => {
    process.stderr.write(String(e?.stack ?? e) + "\n");
    process.exit(1);
});
