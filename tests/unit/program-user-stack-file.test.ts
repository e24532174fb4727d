/**
 * The one check of the user's own stack file. Every other unit test uses the fixtures
 * (tests/support/fixtures.ts), so the suite passes whatever the user has put in
 * Pulumi.production.yaml; this test reads that file, says so in its name, and holds for any valid
 * content: filled in or not (CHANGE-ME values and secrets not set are stood in for, as
 * `npm run plan` does), one jobs host or several.
 */
import { POLICY_NAMES } from "../../policy/policies";
import { runPolicies, toPolicyResources } from "../../scripts/plan/policyResources";
import { withStandIns } from "../../scripts/plan/standIns";
import { evaluate } from "../../scripts/evaluate";
import { parseConfig } from "../../stacks/config";
import { readStackFile } from "../../stacks/stackFile";

describe("the user's Pulumi.production.yaml", () => {
    test("reads Pulumi.production.yaml: it parses (placeholders and unset secrets stood in for), nothing is written in plain text that should be secret, and no policy of the pack fires on what it builds", async () => {
        const file = readStackFile("production");
        expect(file.problems).toEqual([]);
        const { raw } = withStandIns(file);
        const config = parseConfig(raw);
        const e = await evaluate(raw);
        const results = await runPolicies(toPolicyResources(e.resources), { [POLICY_NAMES.sshAdminOnly]: { adminCidrs: config.ssh.adminCidrs, allowSshFromAnywhere: config.ssh.allowSshFromAnywhere } });
        expect(Object.entries(results).filter(([, m]) => m.length > 0)).toEqual([]);
        // Every host of the file is there, whatever their number.
        expect(e.ofType("hcloud:index/server:Server").map((s) => s.inputs.name).sort()).toEqual([config.web.name, ...config.jobs.hosts.map((h) => h.name)].sort());
    }, 60_000);
});
