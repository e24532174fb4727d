/**
 * Issue 11 point 2 for `ops`: the local ssh trusts only the host keys the stack pins (a
 * known_hosts built from the stack, StrictHostKeyChecking=yes), over a real OpenSSH server.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Host, Inventory } from "../../scripts/ops/inventory";
import { knownHostsFor, runCaptured, sshArgv, SshSettings } from "../../scripts/ops/ssh";
import { HARNESS_START_TIMEOUT_MS, requireTool, SshServer, startSshd } from "../support/integration";
import { HOST_KEYS } from "../support/fixtures";

let sshd: SshServer;
let dir: string;
let serverKey: string;

beforeAll(async () => {
    sshd = await startSshd();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-security-ops-"));
    // the harness's known_hosts: "[127.0.0.1]:PORT ssh-ed25519 AAAA..."
    serverKey = fs.readFileSync(sshd.knownHostsFile, "utf8").trim().split(" ").slice(1).join(" ");
}, HARNESS_START_TIMEOUT_MS);

afterAll(async () => {
    await sshd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function attempt(hostKey: string | undefined): Promise<{ code: number; stderr: string; stdout: string }> {
    const host: Host = { name: "shred-day-web", role: "web", address: "127.0.0.1", port: sshd.port, privateIp: "10.0.0.3", ...(hostKey ? { hostKey } : {}) };
    const inv: Inventory = { source: "test", user: sshd.user, hosts: [host], postgres: { user: "x", primary: "p", queue: "q", databases: ["p", "q"], container: "c" }, notes: [] };
    const known = knownHostsFor(inv.hosts);
    const file = path.join(dir, `known_hosts_${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(file, known.text, { mode: 0o600 });
    const settings: SshSettings = { user: sshd.user, identity: sshd.keyFile, config: "/dev/null", knownHostsFile: file, options: [], connectTimeoutSeconds: 10 };
    return runCaptured(requireTool("ssh"), sshArgv(settings, inv, host, "echo reached"), { timeoutMs: 20_000, env: { PATH: process.env.PATH, HOME: dir } });
}

describe("ops ssh: only the stack's host keys are trusted", () => {
    test("the pinned key: connects", async () => {
        const r = await attempt(serverKey);
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe("reached\n");
        expect(r.code).toBe(0);
    });

    test("another key (whoever else answers on the address): refused before anything is sent", async () => {
        const r = await attempt(HOST_KEYS.web);
        expect(r.code).toBe(255);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    });

    test("no key in the stack: refused (never accepted on first sight), and ops says how to fix it", async () => {
        const r = await attempt(undefined);
        expect(r.code).toBe(255);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/Host key verification failed|No ED25519 host key is known/);
        const host: Host = { name: "shred-day-web", role: "web", address: "127.0.0.1", privateIp: "10.0.0.3" };
        expect(knownHostsFor([host]).missing[0]).toMatch(/no SSH host key for shred-day-web, so ops refuses to connect to it.*web\.hostKey/);
        // nothing was written to the user's own known_hosts
        expect(fs.existsSync(path.join(dir, ".ssh", "known_hosts"))).toBe(false);
    });
});
