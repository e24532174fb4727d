/**
 * The README is the front door (issue 14.8): under 15 KB, in the order a newcomer needs it, and
 * every page it points to exists; the rest lives in docs/.
 */
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

describe("README.md", () => {
    test("is under 15 KB", () => {
        expect(Buffer.byteLength(readme)).toBeLessThan(15 * 1024);
    });

    test("what this is, the two commands, the first deploy, a daily deploy, where to go next: in that order", () => {
        const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
        expect(headings).toEqual(["Two commands on a fresh machine", "The first deploy, against today's production", "A daily deploy", "Where to go next"]);
        expect(readme.indexOf("A Pulumi program")).toBeLessThan(readme.indexOf("## Two commands"));
    });

    test("every docs page it links exists, and each of the six is linked", () => {
        const links = [...readme.matchAll(/\]\((docs\/[^)#]+)(#[^)]*)?\)/g)].map((m) => m[1]);
        for (const l of links) expect([l, fs.existsSync(path.join(ROOT, l))]).toEqual([l, true]);
        for (const page of ["configuration", "operations", "runbook-from-kamal", "rollback", "review-and-preview", "development"]) {
            expect(links).toContain(`docs/${page}.md`);
        }
    });

    test("docs/development.md says how to run the unit tests without apt (macOS), and what .ci/run does", () => {
        const dev = fs.readFileSync(path.join(ROOT, "docs/development.md"), "utf8");
        expect(dev).toContain("On macOS (no apt)");
        expect(dev).toContain("npx jest --selectProjects unit");
        expect(dev).toContain("## What `.ci/run` does");
        // Every package .ci/run may install is named there.
        const ci = fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8");
        const packages = [...ci.matchAll(/need\+=\(([a-z0-9.-]+)\)/g)].map((m) => m[1]);
        expect(packages.length).toBeGreaterThan(5);
        for (const p of packages) expect([p, dev.includes(`\`${p}\``)]).toEqual([p, true]);
    });
});
