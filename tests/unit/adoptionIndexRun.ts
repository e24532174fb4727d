/**
 * Runs index.ts on Pulumi mocks in its own process (as the engine would: an unhandled
 * rejection fails the program) and prints what was registered and what failed, as JSON.
 * argv[2]: the HcloudWorld as JSON. Used by tests/unit/adoption-check.test.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { productionConfig } from "../support/fixtures";
import { hcloudCall } from "./adoptionMocks";
import { mockStdout } from "../../scripts/evaluate";

const world = JSON.parse(process.argv[2]);
const registered: string[] = [];
const errors: string[] = [];
process.on("unhandledRejection", (e: unknown) => errors.push(String((e as Error)?.message ?? e)));

async function main() {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered.push(args.name);
                return { id: "1", state: { ...args.inputs, ipv4Address: "192.0.2.1", stdout: mockStdout(String(args.inputs.create ?? "")) } };
            },
            call: (args) => hcloudCall(world)(args) ?? args.inputs,
        },
        "shred-day",
        "production",
    );
    const raw = productionConfig();
    const engine = Object.fromEntries(Object.entries(raw).map(([k, v]) => [`shred-day:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
    pulumi.runtime.setAllConfig(engine, ["shred-day:postgresPassword", "shred-day:registryPassword", "shred-day:appSecrets", "shred-day:sshPrivateKey"]);
    require("../../index");
    await new Promise((r) => setTimeout(r, 1500));
    process.stdout.write(`\nRESULT ${JSON.stringify({ registered, errors })}\n`);
    process.exit(0);
}
main();
