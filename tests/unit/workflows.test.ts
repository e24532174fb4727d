/**
 * The GitHub workflows, parsed: the tests run on every push and pull request through .ci/run;
 * pull requests get `pulumi preview --policy-pack policy` on the production stack, commented;
 * every secret the preview uses is named in docs/review-and-preview.md, and every one named there is used.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { POLICY_NAMES } from "../../policy/policies";

const ROOT = path.resolve(__dirname, "../..");
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), "utf8");
const workflow = (name: string) => parse(read(`.github/workflows/${name}.yml`));

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}

function steps(wf: any, job: string): Step[] {
    return wf.jobs[job].steps as Step[];
}

/** `secrets.NAME` references in a workflow's text (GITHUB_TOKEN is GitHub's own). */
function secretsUsed(text: string): string[] {
    return [...new Set([...text.matchAll(/\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]))].filter((s) => s !== "GITHUB_TOKEN").sort();
}

/** The secrets listed in the review docs (docs/review-and-preview.md): the first column of its secrets table. */
function secretsInReadme(): string[] {
    const readme = read("docs/review-and-preview.md");
    const start = readme.indexOf("# Review: plan, policy, preview");
    expect(start).toBeGreaterThanOrEqual(0);
    const section = readme.slice(start);
    const rows = [...section.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]);
    return [...new Set(rows)].sort();
}

describe("test.yml", () => {
    const wf = workflow("test");

    test("runs on every push and every pull request", () => {
        expect(Object.keys(wf.on).sort()).toEqual(["pull_request", "push"]);
        // No branch or path filter: every push, every pull request.
        expect(wf.on.push ?? {}).toEqual({});
        expect(wf.on.pull_request ?? {}).toEqual({});
    });

    test("checks out, sets up Node, and runs .ci/run as root with Node on PATH", () => {
        const s = steps(wf, "test");
        expect(s[0].uses).toMatch(/^actions\/checkout@v\d+$/);
        const node = s.find((x) => x.uses?.startsWith("actions/setup-node@"))!;
        expect(Number(node.with!["node-version"])).toBeGreaterThanOrEqual(20);
        const run = s.find((x) => x.run?.includes(".ci/run"))!;
        expect(run.run).toMatch(/^sudo env "PATH=\$PATH"( \S+)* bash \.ci\/run$/);
        expect(s.indexOf(node)).toBeLessThan(s.indexOf(run));
    });

    test(".ci/run installs the Debian packages the integration tests need, then runs npm ci and npm test", () => {
        const ci = read(".ci/run");
        for (const pkg of ["openssh-server", "postgresql", "shellcheck", "cloud-init"]) expect(ci).toContain(pkg);
        expect(ci).toMatch(/apt-get install/);
        const npmCi = ci.search(/^npm ci\b/m);
        const npmTest = ci.search(/^npm test\b/m);
        expect(npmCi).toBeGreaterThan(0);
        expect(npmTest).toBeGreaterThan(npmCi);
        expect(JSON.parse(read("package.json")).scripts.test).toMatch(/tsc --noEmit.*&& jest/);
    });
});

describe("preview.yml", () => {
    const text = read(".github/workflows/preview.yml");
    const wf = workflow("preview");
    const s = steps(wf, "preview");
    const pulumi = s.find((x) => x.uses?.startsWith("pulumi/actions@"))!;

    test("runs on pull requests only, may comment on them, previews one at a time per pull request", () => {
        expect(Object.keys(wf.on)).toEqual(["pull_request"]);
        expect(wf.permissions).toEqual({ contents: "read", "pull-requests": "write" });
        expect(wf.concurrency.group).toContain("github.event.pull_request.number");
    });

    test("pulumi/actions: preview of the production stack with the policy pack, commented on the pull request", () => {
        expect(pulumi.uses).toMatch(/^pulumi\/actions@v6$/);
        expect(pulumi.with).toMatchObject({ command: "preview", "stack-name": "production", policyPacks: "policy", "comment-on-pr": true });
        expect(pulumi.with!["cloud-url"]).toBe("${{ secrets.PULUMI_BACKEND_URL }}");
    });

    test("the policy pack path is a TypeScript CrossGuard pack that assembles the guardrails", () => {
        const dir = String(pulumi.with!.policyPacks);
        expect(parse(read(`${dir}/PulumiPolicy.yaml`))).toMatchObject({ name: "shred-day", runtime: "nodejs" });
        // @pulumi/policy reads the version of the pack's package.json when the pack starts.
        expect(JSON.parse(read(`${dir}/package.json`)).version).toMatch(/^\d+\.\d+\.\d+$/);
        expect(read(`${dir}/index.ts`)).toMatch(/new PolicyPack\(/);
        expect(Object.values(POLICY_NAMES)).toHaveLength(8);
    });

    test("the pack is configured from the stack file, by a step before the preview", () => {
        const gen = s.find((x) => x.run?.includes("scripts/policy-config.ts"))!;
        const out = /--out (\S+)/.exec(gen.run!)![1];
        expect(gen.run).toContain("--stack production");
        expect(pulumi.with!.policyPackConfigs).toBe(out);
        expect(s.indexOf(gen)).toBeLessThan(s.indexOf(pulumi));
    });

    test("dependencies are installed (npm ci) before the preview", () => {
        const npmCi = s.findIndex((x) => /^npm ci\b/.test(x.run ?? ""));
        expect(npmCi).toBeGreaterThanOrEqual(0);
        expect(npmCi).toBeLessThan(s.indexOf(pulumi));
    });

    test("the job has the passphrase, the Hetzner token and the state bucket's keys, all from secrets", () => {
        expect(wf.jobs.preview.env).toMatchObject({
            PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
            HCLOUD_TOKEN: "${{ secrets.HCLOUD_TOKEN_READ_ONLY }}",
            AWS_ACCESS_KEY_ID: "${{ secrets.PULUMI_BACKEND_ACCESS_KEY_ID }}",
            AWS_SECRET_ACCESS_KEY: "${{ secrets.PULUMI_BACKEND_SECRET_ACCESS_KEY }}",
        });
        // Forks get no secrets: the job is skipped for them rather than failing.
        expect(wf.jobs.preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    });

    test("the offline plan goes to the job summary", () => {
        const plan = s.find((x) => x.run?.includes("npm run --silent plan"))!;
        expect(plan.run).toContain('>>"$GITHUB_STEP_SUMMARY"');
        expect(plan.run).toContain("--stack production --no-write");
    });

    test("the secrets it uses are exactly the ones docs/review-and-preview.md names", () => {
        expect(secretsUsed(text)).toEqual(secretsInReadme());
        expect(secretsUsed(text)).toEqual(
            ["HCLOUD_TOKEN_READ_ONLY", "PULUMI_BACKEND_ACCESS_KEY_ID", "PULUMI_BACKEND_SECRET_ACCESS_KEY", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"].sort(),
        );
        expect(secretsUsed(read(".github/workflows/test.yml"))).toEqual([]);
    });
});
