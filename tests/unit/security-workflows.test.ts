/**
 * Issue 11 point 3: the pull-request preview runs the branch's code, so it gets no SSH key,
 * a read-only Hetzner token and a protected environment; the program previews without a key.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { productionConfig } from "../support/fixtures";

const ROOT = path.resolve(__dirname, "../..");
const text = fs.readFileSync(path.join(ROOT, ".github/workflows/preview.yml"), "utf8");
const wf = parse(text);
const job = wf.jobs.preview;

describe("preview.yml", () => {
    test("runs in the protected environment `preview`", () => {
        expect(job.environment === "preview" || job.environment?.name === "preview").toBe(true);
    });

    test("gets no SSH key and starts no ssh-agent", () => {
        // the workflow as GitHub reads it (comments aside)
        expect(JSON.stringify(wf)).not.toMatch(/SSH_PRIVATE_KEY|ssh-agent|ssh-add|SSH_AUTH_SOCK|sshPrivateKey|id_ed25519|id_rsa/);
        for (const step of job.steps) expect(JSON.stringify(step.run ?? "") + JSON.stringify(step.env ?? {}) + JSON.stringify(step.with ?? {})).not.toMatch(/\bssh\b|ssh-/i);
    });

    test("gets a read-only Hetzner token, never the deploy token", () => {
        expect(job.env.HCLOUD_TOKEN).toBe("${{ secrets.HCLOUD_TOKEN_READ_ONLY }}");
        expect(text).not.toMatch(/secrets\.HCLOUD_TOKEN\s*\}\}/);
    });

    test("docs/review-and-preview.md says what a preview can and cannot reach, and how to protect the environment", () => {
        const doc = fs.readFileSync(path.join(ROOT, "docs/review-and-preview.md"), "utf8");
        expect(doc).toContain("What a preview can and cannot reach");
        expect(doc).toMatch(/Required reviewers/);
        expect(doc).toMatch(/\*\*No host\.\*\*/);
        expect(doc).toMatch(/read only/i);
    });
});

describe("the program previews without an SSH key", () => {
    function engineConfig(raw: Record<string, any>): Record<string, string> {
        return Object.fromEntries(Object.entries(raw).map(([k, v]) => [`shred-day:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
    }

    test("loadConfig accepts a missing key and agent in a preview, and refuses them for an update", async () => {
        const c = productionConfig();
        delete c.sshPrivateKey;
        const sock = process.env.SSH_AUTH_SOCK;
        delete process.env.SSH_AUTH_SOCK;
        try {
            for (const preview of [true, false]) {
                await pulumi.runtime.setMocks({ newResource: (a) => ({ id: "1", state: a.inputs }), call: (a) => a.inputs }, "shred-day", "production", preview);
                pulumi.runtime.setAllConfig(engineConfig(c), ["shred-day:postgresPassword", "shred-day:registryPassword", "shred-day:appSecrets"]);
                let error: Error | undefined;
                jest.isolateModules(() => {
                    try {
                        require("../../stacks/config").loadConfig();
                    } catch (e) {
                        error = e as Error;
                    }
                });
                if (preview) expect(error).toBeUndefined();
                else expect(error?.message).toContain("shred-day:sshPrivateKey = missing and SSH_AUTH_SOCK is not set");
            }
        } finally {
            if (sock !== undefined) process.env.SSH_AUTH_SOCK = sock;
        }
    });
});
