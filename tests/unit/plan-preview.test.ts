/**
 * `npm run plan -- --preview FILE`: the plan flags any diff a real `pulumi preview --json` shows
 * on an adopted object (issue 10: "the plan flags any other diff on an adopted object"), and
 * without a preview it lists each adopted object's declared and ignored inputs. The previews are
 * small fixtures in the format of pulumi/pulumi pkg/backend/display/json.go (tests/support/previews).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { main } from "../../scripts/plan";
import { Plan, planForConfig } from "../../scripts/plan/model";
import { checkPreview, parsePreview, PreviewFileError, PreviewStep, renderPreviewCheck, urnParts } from "../../scripts/plan/preview";
import { renderText } from "../../scripts/plan/render";
import { NAMESPACE } from "../../stacks/config";
import { productionConfig, SECRETS } from "../support/fixtures";

const PREVIEWS = path.resolve(__dirname, "../support/previews");
const preview = (name: string) => parsePreview(fs.readFileSync(path.join(PREVIEWS, name), "utf8"), name);

let plan: Plan;
beforeAll(async () => {
    plan = await planForConfig(productionConfig());
});

const ADOPTED = ["network-network", "network-subnet", "web-server", "web-private", "shred-day-jobs-ubuntu-server", "shred-day-jobs-ubuntu-private"];

describe("the adopted objects, from the program", () => {
    test("every object with an importId in the config, with its import id", () => {
        expect(plan.adopted.map((a) => [a.name, a.importId])).toEqual(
            expect.arrayContaining([
                ["network-network", "4711"],
                ["network-subnet", "4711-10.0.0.0/24"],
                ["web-server", "12345678"],
                ["web-private", "12345678-4711"],
                ["shred-day-jobs-ubuntu-server", "23456789"],
                ["shred-day-jobs-ubuntu-private", "23456789-4711"],
            ]),
        );
        expect(plan.adopted.map((a) => a.name).sort()).toEqual([...ADOPTED].sort());
    });

    test("without a preview the plan lists, per adopted object, the declared inputs (can diff) and the ignored ones", () => {
        const text = renderText(plan);
        const start = text.indexOf("\nAdopted objects");
        expect(start).toBeGreaterThan(0);
        const section = text.slice(start + 1, text.indexOf("\n\n", start + 1));
        const block = (name: string) => {
            const i = section.indexOf(`  ${name} (`);
            expect(i).toBeGreaterThanOrEqual(0);
            const next = section.slice(i + 3).search(/\n  \S/);
            return section.slice(i, next < 0 ? undefined : i + 3 + next).replace(/\n\s+/g, " ");
        };
        expect(block("web-server")).toMatch(/^ {2}web-server \(hcloud:index\/server:Server, import 12345678\) declared: name ignored: .*\bbackups\b/);
        for (const risky of ["serverType", "labels", "sshKeys", "placementGroupId", "image"]) expect(block("web-server")).toMatch(new RegExp(`ignored: .*\\b${risky}\\b`));
        expect(block("network-network")).toMatch(/declared: ipRange, name ignored: deleteProtection, exposeRoutesToVswitch, labels/);
        expect(block("web-private")).toMatch(/declared: ip, networkId, serverId ignored: aliasIps, subnetId/);
        expect(section).toContain("npm run plan -- --preview FILE");
    });

    test("an adopted firewall declares its rules as the intended update; a config without importIds adopts nothing", async () => {
        const c = productionConfig();
        c.firewalls = { web: { importId: "555" } };
        const withFirewall = await planForConfig(c);
        const fw = withFirewall.adopted.find((a) => a.name === "shred-day-web")!;
        expect([fw.type, fw.importId, fw.declared, fw.intended]).toEqual(["hcloud:index/firewall:Firewall", "555", ["rules"], ["rules"]]);
        expect(renderText(withFirewall)).toMatch(/shred-day-web \(hcloud:index\/firewall:Firewall, import 555\)\n\s+declared: rules \(its intended update\)/);

        const fresh = productionConfig();
        delete fresh.web.importId;
        delete fresh.web.hostKey;
        delete fresh.network.importId;
        delete fresh.jobs.hosts[0].importId;
        delete fresh.jobs.hosts[0].hostKey;
        delete fresh.jobs.hosts[0].publicIp;
        delete fresh.postgres.adoptFrom;
        fresh.postgres.initialize = true;
        const created = await planForConfig(fresh);
        expect(created.adopted).toEqual([]);
        expect(renderText(created)).not.toContain("Adopted objects");
    });
});

describe("a real preview checked against the adopted objects", () => {
    test("URNs are read back to type and name, through the parent chain", () => {
        expect(urnParts("urn:pulumi:production::shred-day::shred-day:stack:ShredDay$shred-day:hosts:WebServer$hcloud:index/server:Server::web-server")).toEqual({
            type: "hcloud:index/server:Server",
            name: "web-server",
        });
        expect(urnParts("not-a-urn")).toBeUndefined();
    });

    test("a clean adoption preview (= import for each, + create for the rest): nothing flagged", () => {
        const findings = checkPreview(plan.adopted, preview("adoption-clean.json"));
        expect(findings.map((f) => [f.object.name, f.verdict, f.ops])).toEqual(plan.adopted.map((a) => [a.name, "ok", ["import"]]));
        const text = renderPreviewCheck(findings, "adoption-clean.json");
        expect(text).toContain("Clean: no adopted object is updated, replaced or deleted by this preview.");
        expect(text).not.toContain("FLAGGED");
    });

    test("~ update of backups on the imported web server is flagged, with the op and the changed key", () => {
        const findings = checkPreview(plan.adopted, preview("adoption-web-update-backups.json"));
        const flagged = findings.filter((f) => f.verdict === "flagged");
        expect(flagged.map((f) => [f.object.name, f.ops, f.changed])).toEqual([["web-server", ["import", "update"], [{ path: "backups", kind: "update" }]]]);
        const text = renderPreviewCheck(findings, "adoption-web-update-backups.json");
        expect(text).toContain("FLAGGED: 1 adopted object(s) would be changed. Do not run pulumi up; find out why:");
        expect(text).toContain("  FLAGGED   web-server (hcloud:index/server:Server, import 12345678): = import, ~ update of backups (update)");
        expect(text).toMatch(/backups is ignored by the program/);
    });

    test("a replacement of the imported jobs server (sshKeys) is flagged: all three replace steps, the key and a never-acceptable note", () => {
        const findings = checkPreview(plan.adopted, preview("adoption-jobs-replace.json"));
        const f = findings.find((x) => x.object.name === "shred-day-jobs-ubuntu-server")!;
        expect([f.verdict, f.ops, f.changed]).toEqual(["flagged", ["create-replacement", "replace", "delete-replaced"], [{ path: "sshKeys[0]", kind: "add-replace" }]]);
        expect(findings.filter((x) => x.verdict === "flagged")).toHaveLength(1);
        const text = renderPreviewCheck(findings, "adoption-jobs-replace.json");
        expect(text).toContain("FLAGGED   shred-day-jobs-ubuntu-server (hcloud:index/server:Server, import 23456789): ++ create-replacement, +- replace, -- delete-replaced of sshKeys[0] (add-replace)");
        expect(text).toContain("a replacement or delete would destroy the real object");
    });

    test("an adopted firewall: ~ update of rules only is the intended diff; of labels, or a replace, is flagged; a delete of any adopted object is flagged", async () => {
        const c = productionConfig();
        c.firewalls = { web: { importId: "555" } };
        const adopted = (await planForConfig(c)).adopted;
        const urn = "urn:pulumi:production::shred-day::shred-day:stack:ShredDay$shred-day:network:Firewalls$hcloud:index/firewall:Firewall::shred-day-web";
        const verdict = (steps: PreviewStep[]) => checkPreview(adopted, steps).find((f) => f.object.name === "shred-day-web")!.verdict;
        expect(verdict([{ op: "import", urn }, { op: "update", urn, diffReasons: ["rules"], detailedDiff: { "rules[0].sourceIps[0]": { kind: "update" } } }])).toBe("intended");
        expect(verdict([{ op: "import", urn }, { op: "update", urn, diffReasons: ["rules", "labels"] }])).toBe("flagged");
        expect(verdict([{ op: "replace", urn, replaceReasons: ["rules"], detailedDiff: { rules: { kind: "update-replace" } } }])).toBe("flagged");
        expect(verdict([{ op: "update", urn }])).toBe("flagged"); // an update that names no key is not assumed harmless
        const net = "urn:pulumi:production::shred-day::shred-day:stack:ShredDay$shred-day:network:PrivateNetwork$hcloud:index/network:Network::network-network";
        expect(checkPreview(adopted, [{ op: "delete", urn: net }]).find((f) => f.object.name === "network-network")!.verdict).toBe("flagged");
        // created in the preview instead of imported: the config and the preview disagree
        expect(checkPreview(adopted, [{ op: "create", urn: net }]).find((f) => f.object.name === "network-network")!.verdict).toBe("flagged");
    });

    test("a file that is not the JSON of pulumi preview --json is refused with what to run", () => {
        expect(() => parsePreview("Previewing update (production)\n", "p.json")).toThrow(PreviewFileError);
        expect(() => parsePreview("Previewing update (production)\n", "p.json")).toThrow(/p\.json is not JSON .*pulumi preview --stack production --json > p\.json/);
        expect(() => parsePreview(JSON.stringify({ steps: [{ op: "update" }] }), "p.json")).toThrow(/not the output of `pulumi preview --json`: at steps\.0\.urn/);
    });
});

describe("npm run plan -- --preview FILE", () => {
    let project: string;
    beforeAll(() => {
        project = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-stack-"));
        const raw = productionConfig();
        const config: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(raw)) if (!(k in SECRETS)) config[`${NAMESPACE}:${k}`] = v;
        fs.writeFileSync(path.join(project, "Pulumi.production.yaml"), stringify({ config }));
        for (const f of fs.readdirSync(PREVIEWS)) fs.copyFileSync(path.join(PREVIEWS, f), path.join(project, f));
        fs.writeFileSync(path.join(project, "not-json.json"), "Previewing update (production)\n");
    });
    afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

    async function run(argv: string[]) {
        let out = "";
        let err = "";
        const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), projectDir: project });
        return { code, out, err };
    }

    test("a preview with ~ update of the web server's backups: the plan, then the flag; exit 3", async () => {
        const r = await run(["--preview", "adoption-web-update-backups.json"]);
        expect([r.code, r.err]).toEqual([3, ""]);
        expect(r.out).toContain("\nAdopted objects");
        expect(r.out).toContain("\nPreview check (adoption-web-update-backups.json, pulumi preview --json): the adopted objects\nFLAGGED: 1 adopted object(s)");
        expect(r.out).toContain("web-server (hcloud:index/server:Server, import 12345678): = import, ~ update of backups (update)");
    });

    test("a replacement: exit 3; a clean preview: exit 0", async () => {
        expect((await run(["--preview", "adoption-jobs-replace.json"])).code).toBe(3);
        const clean = await run(["--preview", "adoption-clean.json"]);
        expect([clean.code, clean.err]).toEqual([0, ""]);
        expect(clean.out).toContain("Clean: no adopted object is updated, replaced or deleted by this preview.");
    });

    test("a missing or unreadable preview file: exit 1 and what to run, no plan output", async () => {
        const missing = await run(["--preview", "nope.json"]);
        expect([missing.code, missing.out]).toEqual([1, ""]);
        expect(missing.err).toBe("plan: --preview: nope.json does not exist; write it with: pulumi preview --stack production --json > nope.json\n");
        const bad = await run(["--preview", "not-json.json"]);
        expect([bad.code, bad.out]).toEqual([1, ""]);
        expect(bad.err).toMatch(/^plan: --preview: not-json\.json is not JSON/);
    });
});
