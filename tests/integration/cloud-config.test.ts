import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { cloudConfig } from "../../components/cloudConfig";

/** Run the real validator; under CI a missing cloud-init is a failure, never a skip. */
function validate(text: string): { code: number; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloud-config-"));
    const file = path.join(dir, "user-data.yaml");
    fs.writeFileSync(file, text);
    const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    if (r.error) throw new Error(`cloud-init is not installed (apt-get install cloud-init): ${r.error.message}`);
    return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

describe("cloud-config of new servers (checked by `cloud-init schema`)", () => {
    test("is valid cloud-config", () => {
        const r = validate(cloudConfig());
        expect(r.output).toContain("Valid cloud-config");
        expect(r.code).toBe(0);
    });

    test("the validator does reject a broken document (so the check above can fail)", () => {
        const r = validate("#cloud-config\npackages: 5\n");
        expect(r.code).not.toBe(0);
    });

    test("installs Docker from Ubuntu's packages, allows binding the private IP early, root-only env dir, no password SSH", () => {
        const text = cloudConfig();
        expect(text).toMatch(/packages:\n\s+- docker\.io/);
        expect(text).toContain("net.ipv4.ip_nonlocal_bind = 1");
        expect(text).toContain("PasswordAuthentication no");
        expect(text).toMatch(/ssh_pwauth: false/);
        expect(text).toMatch(/- install\n\s+- -d\n\s+- -m\n\s+- "0700"/);
    });

    test("containers cannot read the metadata service (it serves the user data, host key included): a DOCKER-USER rule each time dockerd starts", () => {
        const doc = parse(cloudConfig({ privateKey: "PRIVATE", publicKey: "ssh-ed25519 AAAA" }).replace(/^#cloud-config\n/, ""));
        const dropIn = doc.write_files.find((f: { path: string }) => f.path === "/etc/systemd/system/docker.service.d/60-shred-day-metadata.conf");
        expect(dropIn.content).toBe(
            "[Service]\nExecStartPost=/bin/sh -c 'iptables -C DOCKER-USER -d 169.254.169.254/32 -j REJECT 2>/dev/null || iptables -I DOCKER-USER -d 169.254.169.254/32 -j REJECT'\n",
        );
        // the drop-in is read before dockerd runs with it (the package may have started it already)
        const cmds = doc.runcmd.map((c: string[]) => c.join(" "));
        expect(cmds.indexOf("systemctl daemon-reload")).toBeGreaterThanOrEqual(0);
        expect(cmds.indexOf("systemctl daemon-reload")).toBeLessThan(cmds.indexOf("systemctl restart docker"));
        expect(validate(cloudConfig({ privateKey: "PRIVATE", publicKey: "ssh-ed25519 AAAA" })).code).toBe(0);
    });

    test("the drop-in's command, run at each dockerd start, leaves exactly one REJECT rule (in a network namespace of the test's own)", () => {
        const doc = parse(cloudConfig().replace(/^#cloud-config\n/, ""));
        const content: string = doc.write_files.find((f: { path: string }) => f.path.endsWith("60-shred-day-metadata.conf")).content;
        const command = /^ExecStartPost=\/bin\/sh -c '(.*)'$/m.exec(content)![1];
        const ns = `sdmeta-${process.pid}`;
        const inNs = (args: string[]) => spawnSync("ip", ["netns", "exec", ns, ...args], { encoding: "utf8" });
        expect(spawnSync("ip", ["netns", "add", ns]).status).toBe(0);
        try {
            expect(inNs(["iptables", "-N", "DOCKER-USER"]).status).toBe(0); // dockerd makes the chain
            for (let i = 0; i < 3; i++) expect(inNs(["/bin/sh", "-c", command]).status).toBe(0); // three starts
            const rules = inNs(["iptables", "-S", "DOCKER-USER"]).stdout.trim().split("\n");
            expect(rules).toEqual(["-N DOCKER-USER", "-A DOCKER-USER -d 169.254.169.254/32 -j REJECT --reject-with icmp-port-unreachable"]);
        } finally {
            spawnSync("ip", ["netns", "delete", ns]);
        }
    });
});
