/**
 * index.ts as the engine runs it: config from the engine, validated before any resource is
 * registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { productionConfig } from "../support/fixtures";
import { mockStdout } from "../../scripts/evaluate";
import { hcloudCall, productionWorld } from "./adoptionMocks";

function engineConfig(raw: Record<string, any>): Record<string, string> {
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [`shred-day:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

async function runIndex(raw: Record<string, any>): Promise<{ registered: string[]; error?: Error; outputs?: any }> {
    const registered: string[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered.push(args.name);
                return { id: "1", state: { ...args.inputs, ipv4Address: "192.0.2.1", stdout: mockStdout(String(args.inputs.create ?? "")) } };
            },
            // index.ts reads the adopted objects before any change (stacks/adoptionCheck.ts)
            call: (args) => hcloudCall(productionWorld())(args) ?? args.inputs,
        },
        "shred-day",
        "production",
    );
    pulumi.runtime.setAllConfig(engineConfig(raw), ["shred-day:postgresPassword", "shred-day:registryPassword", "shred-day:appSecrets", "shred-day:sshPrivateKey"]);
    let error: Error | undefined;
    let outputs: any;
    jest.isolateModules(() => {
        try {
            outputs = require("../../index");
        } catch (e) {
            error = e as Error;
        }
    });
    await new Promise((r) => setTimeout(r, 50));
    return { registered, error, outputs };
}

describe("index.ts", () => {
    test("a bad config is refused before any resource is registered", async () => {
        const c = productionConfig();
        c.jobs.hosts[0].privateIp = "10.0.0.1";
        const r = await runIndex(c);
        expect(r.error?.message).toContain('shred-day:jobs.hosts[0].privateIp = "10.0.0.1": that is the subnet\'s gateway');
        expect(r.registered).toEqual([]);
    });

    test("with neither sshPrivateKey nor an SSH agent it says how to provide one", async () => {
        const c = productionConfig();
        delete c.sshPrivateKey;
        const sock = process.env.SSH_AUTH_SOCK;
        delete process.env.SSH_AUTH_SOCK;
        try {
            const r = await runIndex(c);
            expect(r.error?.message).toContain("shred-day:sshPrivateKey = missing and SSH_AUTH_SOCK is not set");
            expect(r.registered).toEqual([]);
        } finally {
            if (sock !== undefined) process.env.SSH_AUTH_SOCK = sock;
        }
    });

    test("the production config registers the stack and exports hosts, logs and secret database URLs", async () => {
        const r = await runIndex(productionConfig());
        expect(r.error).toBeUndefined();
        expect(Object.keys(r.outputs).sort()).toEqual(["databaseHost", "databasePort", "databaseUrls", "hosts", "jobsRelease", "logs", "networkId", "webRelease"]);
        expect(await r.outputs.databaseUrls.isSecret).toBe(true);
        expect(r.registered).toContain("web-server");
    });
});
