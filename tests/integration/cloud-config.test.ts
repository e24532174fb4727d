import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
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
});
