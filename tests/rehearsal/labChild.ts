/**
 * A lab in a child process, for the test that interrupts it: starts a one-host lab, prints
 * {"id", "dir", "namespaces"} on one line, then waits (at most 120 s) for a signal.
 */
import { startLab } from "./lab";

startLab({ privateCidr: "10.0.0.0/24", hosts: [{ name: "web", role: "web", publicIp: "192.0.2.10", privateIp: "10.0.0.3" }] })
    .then((lab) => {
        process.stdout.write(`${JSON.stringify({ id: lab.id, dir: lab.dir, namespaces: [lab.operatorNs, ...lab.hosts.map((h) => h.netns)] })}\n`);
        setTimeout(() => process.exit(3), 120_000);
    })
    .catch((e) => {
        process.stderr.write(`${e}\n`);
        process.exit(2);
    });
