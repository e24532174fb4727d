/**
 * `npm run plan`: the real program on mocks, read back for a reviewer. The plan comes from the
 * program (a config change shows up in it), never prints a secret, writes nothing unless asked,
 * and refuses bad command lines and bad stack files with a message, not a stack trace. The plan
 * is made of the stack file as shipped (tests/support/fixtures.ts); only the tests whose name says
 * so read the user's Pulumi.production.yaml.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describePublish, longestChain, Plan, planForConfig, planForStack } from "../../scripts/plan/model";
import { renderMermaid, renderText, summaryLine, wrap } from "../../scripts/plan/render";
import { dockerRuns, parseScriptCommand, scriptSummary, scriptVariables, shellWords } from "../../scripts/plan/shell";
import { DIAGRAM, DIAGRAM_DOC, main, README_BEGIN, README_END, readmeWithDiagram, USAGE } from "../../scripts/plan";
import { productionConfig, removeStackDir, SECRET_VALUES, SHIPPED_STACK_YAML, stackDir, withJobsHosts } from "../support/fixtures";

const ROOT = path.resolve(__dirname, "../..");

let dir: string;
let fromFile: Plan;
let fromFileText: string;
let fromFileDiagram: string;

beforeAll(async () => {
    dir = stackDir();
    fromFile = await planForStack("production", dir);
    fromFileText = renderText(fromFile);
    fromFileDiagram = renderMermaid(fromFile);
});
afterAll(() => removeStackDir(dir));

function section(text: string, title: string): string {
    const start = text.indexOf(`\n${title}`);
    if (start < 0) throw new Error(`no section ${title}`);
    const end = text.indexOf("\n\n", start + 1);
    return text.slice(start + 1, end < 0 ? undefined : end);
}

describe("the plan of the production stack file as shipped", () => {
    test("warns first about what pulumi up refuses: the CHANGE-ME placeholders and the secrets not set", () => {
        const head = fromFileText.slice(0, fromFileText.indexOf("\nHosts"));
        expect(head).toContain("WARNING: pulumi up will refuse until these are set:");
        for (const key of ["ssh.adminCidrs[0]", "web.importId", "app.image", "app.registry.username"]) {
            expect(head).toMatch(new RegExp(`shred-day:${key.replace(/[.[\]]/g, "\\$&")} = ".*CHANGE-ME.*"`));
        }
        for (const key of ["postgresPassword", "registryPassword", "appSecrets.RAILS_MASTER_KEY"]) {
            expect(head).toContain(`shred-day:${key}: not set (secret)`);
        }
    });

    test("hosts: the adopted web and jobs servers with their configured public IPs; private IPs and types", () => {
        const hosts = section(fromFileText, "Hosts");
        expect(hosts).toMatch(/shred-day-web\s+web\s+91\.99\.62\.190 \(adopted, import CHANGE-ME\)\s+10\.0\.0\.3\s+cpx21/);
        expect(hosts).toMatch(/shred-day-jobs-ubuntu\s+jobs\s+CHANGE-ME \(adopted, import CHANGE-ME\)\s+10\.0\.0\.2\s+cpx21/);
        expect(hosts).toMatch(/shred-day-web .*shred-day-web \(FirewallAttachment/);
        // adopted: the jobs firewall by one attachment, never by an update of the server (tests/unit/adoption.test.ts)
        expect(hosts).toMatch(/shred-day-jobs-ubuntu .*shred-day-jobs \(FirewallAttachment shred-day-jobs-firewall\)/);
    });

    test("firewall matrix: port x source x host; 22 from the admin range on both, 80/443 from anywhere on web only, 5432 nowhere", () => {
        const fw = section(fromFileText, "Firewall");
        expect(fw).toMatch(/port\s+source\s+shred-day-web\s+shred-day-jobs-ubuntu/);
        expect(fw).toMatch(/22\/tcp\s+CHANGE-ME\/32\s+allow\s+allow/);
        for (const p of ["80", "443"]) {
            expect(fw).toMatch(new RegExp(`${p}/tcp\\s+0\\.0\\.0\\.0/0 \\(anywhere\\)\\s+allow\\s+-`));
            expect(fw).toMatch(new RegExp(`${p}/tcp\\s+::/0 \\(anywhere\\)\\s+allow\\s+-`));
        }
        expect(fw).not.toMatch(/^\s+5432\/tcp\s+\S+\s+allow/m);
        expect(fw).toContain("5432/tcp: no rule on any host");
    });

    test("containers: Postgres on the private address only; kamal-proxy on 80/443; app containers from the release steps, env names only", () => {
        const byName = (n: string) => fromFile.containers.find((c) => c.name === n)!;
        expect(byName("shred-day-postgres")).toMatchObject({ host: "shred-day-web", image: "postgres:16", published: ["10.0.0.3:5432 -> 5432/tcp"] });
        expect(byName("kamal-proxy")).toMatchObject({ host: "shred-day-web", published: ["every address:80 -> 80/tcp", "every address:443 -> 443/tcp"] });
        const web = byName("shred-day-web-<release>");
        expect(web).toMatchObject({ host: "shred-day-web", published: [], role: "web", envFile: "/etc/shred-day/web.env" });
        expect(web.envNames).toEqual(expect.arrayContaining(["DATABASE_URL", "QUEUE_DATABASE_URL", "RAILS_MASTER_KEY"]));
        expect(web.envNames).not.toContain("SOLID_QUEUE_IN_PUMA");
        expect(web.envNames).not.toContain("JOB_CONCURRENCY");
        const jobs = byName("shred-day-jobs-<release>");
        expect(jobs).toMatchObject({ host: "shred-day-jobs-ubuntu", published: [], role: "jobs", command: "bin/jobs" });
        expect(jobs.envNames).toContain("JOB_CONCURRENCY");
        // i12-release: the migrate step runs one of these, by whether the image has data_migrate (db-prepare.sh).
        expect(fromFile.containers.filter((c) => c.oneOff && c.command?.startsWith("bin/rails")).map((c) => c.command)).toEqual([
            "bin/rails db:prepare data:migrate",
            "bin/rails db:prepare",
        ]);
    });

    test("release steps: a topological order of the remote commands by dependsOn, staged", () => {
        const stage = new Map(fromFile.steps.map((s) => [s.name, s.stage]));
        for (const s of fromFile.steps) for (const d of s.after) expect([s.name, d, stage.get(d)! < s.stage]).toEqual([s.name, d, true]);
        const order = fromFile.steps.map((s) => s.name);
        const before = (a: string, b: string) => expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
        before("host-ready-shred-day-web", "release-env-shred-day-web");
        before("postgres-databases", "release-migrate");
        // i12-release (issue 12.5): workers first, the web switch last.
        before("release-migrate", "release-jobs-start-shred-day-jobs-ubuntu");
        before("release-jobs-start-shred-day-jobs-ubuntu", "release-jobs-proof");
        before("release-jobs-proof", "release-jobs-retire-shred-day-jobs-ubuntu");
        before("release-jobs-retire-shred-day-jobs-ubuntu", "release-web");
        // Every remote command is listed, each once.
        expect(new Set(order).size).toBe(order.length);
        expect(fromFile.steps.filter((s) => s.type === "command").every((s) => s.host !== undefined && s.script !== undefined)).toBe(true);
    });

    test("no secret stand-in is ever printed", () => {
        expect(fromFile.secrets.length).toBeGreaterThanOrEqual(3);
        for (const s of fromFile.secrets) {
            expect(fromFileText).not.toContain(s);
            expect(fromFileDiagram).not.toContain(s);
        }
    });
});

describe("the plan comes from the program", () => {
    test("three jobs hosts: three hosts, columns, workers and per-host steps; the release gets no longer", async () => {
        const one = await planForConfig(productionConfig());
        const three = await planForConfig(withJobsHosts(3));
        expect(three.hosts.map((h) => h.name)).toEqual(["shred-day-web", "shred-day-jobs-ubuntu", "shred-day-jobs-2", "shred-day-jobs-3"]);
        expect(three.hosts.map((h) => h.privateIp)).toEqual(["10.0.0.3", "10.0.0.2", "10.0.0.4", "10.0.0.5"]);
        expect(renderText(three)).toMatch(/22\/tcp\s+203\.0\.113\.7\/32\s+allow\s+allow\s+allow\s+allow/);
        expect(three.containers.filter((c) => c.role === "jobs").map((c) => c.host)).toEqual(["shred-day-jobs-ubuntu", "shred-day-jobs-2", "shred-day-jobs-3"]);
        for (const h of ["shred-day-jobs-2", "shred-day-jobs-3"]) {
            expect(three.steps.map((s) => s.name)).toEqual(expect.arrayContaining([`release-jobs-start-${h}`, `release-jobs-retire-${h}`]));
            expect(one.steps.map((s) => s.name)).not.toContain(`release-jobs-start-${h}`);
        }
        const maxStage = (p: Plan) => Math.max(...p.steps.map((s) => s.stage));
        expect(maxStage(three)).toBe(maxStage(one));
        expect(renderMermaid(three)).toContain("shred-day-jobs-3");
    });

    test("a concurrency change: a new jobs release id, the same web release id", async () => {
        const c = productionConfig();
        c.jobs.concurrency = 5;
        const base = await planForConfig(productionConfig());
        const changed = await planForConfig(c);
        const release = (p: Plan, role: string) => p.containers.find((x) => x.role === role)!.release;
        expect(release(changed, "jobs")).not.toBe(release(base, "jobs"));
        expect(release(changed, "web")).toBe(release(base, "web"));
        expect(renderText(changed)).not.toBe(renderText(base));
    });

    test("a new image shows in every app container and the one-off migration", async () => {
        const c = productionConfig();
        c.app.image = "ghcr.io/shred-day/shred-day:v2";
        const plan = await planForConfig(c);
        const app = plan.containers.filter((x) => x.role !== undefined || x.oneOff);
        expect(app.length).toBe(5); // web, jobs, the data_migrate probe and the two migrate variants (i12-release)
        for (const x of app) expect(x.image).toBe("ghcr.io/shred-day/shred-day:v2");
    });

    test("with the test secrets set, no secret value appears in the plan or the diagram", async () => {
        const plan = await planForConfig(withJobsHosts(2));
        const text = renderText(plan) + renderMermaid(plan);
        for (const s of SECRET_VALUES) expect(text).not.toContain(s);
    });
});

describe("the diagram", () => {
    test("docs/topology.mmd and the copy in docs/review-and-preview.md are one diagram, the plan's of the shipped stack file or of Pulumi.production.yaml (after npm run plan -- --write)", async () => {
        const committed = fs.readFileSync(path.join(ROOT, DIAGRAM), "utf8");
        const doc = fs.readFileSync(path.join(ROOT, DIAGRAM_DOC), "utf8");
        expect(doc).toContain(README_BEGIN);
        expect(doc).toContain(README_END);
        expect(readmeWithDiagram(doc, committed)).toBe(doc);
        if (committed !== fromFileDiagram) expect(committed).toBe(renderMermaid(await planForStack("production")));
    });

    test("it is a Mermaid flowchart: hosts inside the private network, the Internet reaching kamal-proxy, apps reaching Postgres privately", () => {
        expect(fromFileDiagram.startsWith("flowchart LR\n")).toBe(true);
        expect(fromFileDiagram).toMatch(/subgraph net_shred_day\["private network shred-day 10\.0\.0\.0\/16/);
        expect(fromFileDiagram).toMatch(/src_internet -->\|"443\/tcp"\| c_shred_day_web_kamal_proxy/);
        expect(fromFileDiagram).toMatch(/c_shred_day_jobs_ubuntu_shred_day_jobs_release_ -\.->\|"10\.0\.0\.3:5432 private"\| c_shred_day_web_shred_day_postgres/);
        // Balanced subgraphs, and no raw quote or angle bracket inside a label.
        expect((fromFileDiagram.match(/^\s*subgraph /gm) ?? []).length).toBe((fromFileDiagram.match(/^\s*end$/gm) ?? []).length);
        for (const m of fromFileDiagram.matchAll(/"([^"]*)"/g)) expect(m[1].split("<br/>").join("")).not.toMatch(/[<>]/);
    });
});

describe("reading the steps' command text and scripts", () => {
    test("a remoteStep command splits back into parameters, script and name", () => {
        const parsed = parseScriptCommand(`A='x y' B='it'\\''s' bash -c 'echo "$A"
docker run --name "$B" img' demo`);
        expect(parsed).toEqual({ params: { A: "x y", B: "it's" }, script: 'echo "$A"\ndocker run --name "$B" img', name: "demo" });
    });

    test("docker run flags, continuation lines; a docker run inside a message is not a run", () => {
        const script = [
            'fail "docker run of $name failed"',
            'out=$(docker run --rm --pull never --env-file "$ENV_FILE" "$IMAGE" bin/rails db:prepare 2>&1)',
            'docker run --detach --name "$name" -p 10.0.0.3:5432:5432 \\',
            '    --label role=web -e FOO=1 "$IMAGE" >/dev/null ||',
            "    fail x",
            `found=$(docker run --rm --pull never --entrypoint grep "$IMAGE" -c -E '^    data_migrate( |$)' Gemfile.lock)`,
        ].join("\n");
        const runs = dockerRuns(script);
        expect(runs.map((r) => [r.name, r.image, r.command.join(" "), r.rm, r.publish, r.env, r.labels])).toEqual([
            [undefined, "$IMAGE", "bin/rails db:prepare", true, [], [], []],
            ["$name", "$IMAGE", "", false, ["10.0.0.3:5432:5432"], ["FOO"], ["role=web"]],
            // --entrypoint is what runs; the words after the image are its arguments
            [undefined, "$IMAGE", "grep -c -E ^    data_migrate( |$) Gemfile.lock", true, [], [], []],
        ]);
        expect(shellWords("a 'b c' \"d\\\"e\" f\\ g").words).toEqual(["a", "b c", 'd"e', "f g"]);
        expect(scriptVariables(': "${NET:=kamal}"\nname="$SERVICE-web-$RELEASE"\nx=$(date)\n', { SERVICE: "s", RELEASE: "r" })).toEqual({ SERVICE: "s", RELEASE: "r", NET: "kamal", name: "s-web-r" });
        expect(describePublish("80:80")).toBe("every address:80 -> 80/tcp");
        expect(describePublish("10.0.0.3:5432:5432")).toBe("10.0.0.3:5432 -> 5432/tcp");
    });
});

/** Every file under `root` with its content, to prove a run wrote nothing. */
function snapshot(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const f = path.join(d, e.name);
            if (e.isDirectory()) walk(f);
            else out[path.relative(root, f)] = fs.readFileSync(f, "utf8");
        }
    };
    walk(root);
    return out;
}

describe("npm run plan: the command line", () => {
    let project: string;
    const DOC = `# Review\n\n${README_BEGIN}\n\`\`\`mermaid\nold\n\`\`\`\n${README_END}\n`;
    beforeEach(() => {
        project = stackDir({ production: SHIPPED_STACK_YAML, staging: SHIPPED_STACK_YAML });
        fs.mkdirSync(path.join(project, "docs"));
        fs.writeFileSync(path.join(project, DIAGRAM), "old\n");
        fs.writeFileSync(path.join(project, DIAGRAM_DOC), DOC);
    });
    afterEach(() => removeStackDir(project));

    async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
        let out = "";
        let err = "";
        const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), projectDir: project });
        return { code, out, err };
    }

    test("without flags it prints the plan and writes nothing", async () => {
        const before = snapshot(project);
        const r = await run([]);
        expect([r.code, r.err]).toEqual([0, ""]);
        expect(r.out).toBe(fromFileText);
        expect(snapshot(project)).toEqual(before);
        expect((await run(["--no-write"])).out).toBe(fromFileText);
        expect(snapshot(project)).toEqual(before);
    });

    test("--write writes the diagram to docs/topology.mmd and between the markers of docs/review-and-preview.md, and says so", async () => {
        const r = await run(["--write"]);
        expect(r.code).toBe(0);
        expect(r.out).toContain(`Wrote the diagram (Mermaid, with this stack's values) to: ${DIAGRAM}, ${DIAGRAM_DOC}`);
        expect(fs.readFileSync(path.join(project, DIAGRAM), "utf8")).toBe(fromFileDiagram);
        expect(fs.readFileSync(path.join(project, DIAGRAM_DOC), "utf8")).toBe(readmeWithDiagram(DOC, fromFileDiagram));
        const other = await run(["--diagram", "out/d.mmd"]);
        expect(other.out).toContain("to: out/d.mmd");
        expect(fs.readFileSync(path.join(project, "out/d.mmd"), "utf8")).toBe(fromFileDiagram);
    });

    test("--help prints the usage; an unknown flag is refused with a guess, not ignored (--stak staging does not plan production)", async () => {
        const help = await run(["--help"]);
        expect([help.code, help.out]).toEqual([0, USAGE]);
        expect(USAGE).toMatch(/--stack NAME[\s\S]*--write[\s\S]*--diagram FILE[\s\S]*--help/);
        const typo = await run(["--stak", "staging"]);
        expect(typo.code).toBe(2);
        expect(typo.out).toBe("");
        expect(typo.err).toMatch(/^plan: unknown option --stak; did you mean --stack\?\n\nusage: npm run plan/);
        const positional = await run(["staging"]);
        expect([positional.code, positional.err.split("\n")[0]]).toEqual([2, "plan: unexpected argument 'staging' (the stack is given with --stack staging)"]);
        expect((await run(["--write", "--no-write"])).code).toBe(2);
    });

    test("an unknown stack: the stacks there are, no stack trace", async () => {
        const r = await run(["--stack", "prod"]);
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/^plan: no stack file Pulumi\.prod\.yaml in .*: the stacks here are: production, staging \(e\.g\. --stack production\)/);
        expect(r.err).not.toMatch(/\n\s+at /);
    });

    test("a YAML indentation error names the file, the line and the column; no stack trace", async () => {
        fs.writeFileSync(path.join(project, "Pulumi.production.yaml"), SHIPPED_STACK_YAML.replace("    name: shred-day-web\n", "    name: shred-day-web\n   importId: 1\n"));
        const r = await run([]);
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/^plan: Pulumi\.production\.yaml is not valid YAML at line \d+, column \d+: /);
        expect(r.err).toContain("check the indentation there");
        expect(r.err).not.toMatch(/\n\s+at /);
    });

    test("a config the program refuses gives the refusal with the file, not a plan", async () => {
        fs.writeFileSync(path.join(project, "Pulumi.production.yaml"), SHIPPED_STACK_YAML.replace("privateIp: 10.0.0.2", "privateIp: 10.0.0.3"));
        const r = await run([]);
        expect([r.code, r.out]).toEqual([1, ""]);
        expect(r.err).toMatch(/^The stack config in Pulumi\.production\.yaml is refused, so there is no plan:\n/);
        expect(r.err).toMatch(/jobs\.hosts\[0\]\.privateIp = "10\.0\.0\.3": already used by shred-day-web/);
    });

    test("a config accepted with a note (no _cache database) prints the note before the hosts", async () => {
        fs.writeFileSync(path.join(project, "Pulumi.production.yaml"), SHIPPED_STACK_YAML.replace("      - shred_day_production_cache\n", ""));
        const r = await run([]);
        expect(r.code).toBe(0);
        const note = r.out.slice(r.out.indexOf("Note (accepted, but check it is what you mean):"), r.out.indexOf("\nHosts"));
        expect(note).toContain("shred-day:postgres.databases has no _cache database, so the app gets no CACHE_DATABASE_URL");
    });

    test("a secret written as plain YAML is refused by the plan too, without printing it", async () => {
        fs.writeFileSync(path.join(project, "Pulumi.production.yaml"), `${SHIPPED_STACK_YAML}  shred-day:postgresPassword: hunter2-hunter2-hunter2\n`);
        const r = await run([]);
        expect(r.code).toBe(1);
        expect(r.err).toContain("shred-day:postgresPassword is written in plain text in the stack file");
        expect(r.err).not.toContain("hunter2");
    });
});

describe("npm run plan on the user's own Pulumi.production.yaml", () => {
    test("reads Pulumi.production.yaml: runs with no Pulumi CLI, token or network, prints the plan of that file and leaves every file as it was", async () => {
        const watched = ["README.md", DIAGRAM, DIAGRAM_DOC, "Pulumi.production.yaml"];
        const before = watched.map((f) => fs.readFileSync(path.join(ROOT, f), "utf8"));
        const env = { ...process.env, PATH: path.dirname(process.execPath), HCLOUD_TOKEN: "", PULUMI_ACCESS_TOKEN: "", PULUMI_CONFIG_PASSPHRASE: "", SSH_AUTH_SOCK: "" };
        const r = spawnSync(process.execPath, [path.join(ROOT, "node_modules/ts-node/dist/bin.js"), "-T", "scripts/plan.ts"], {
            cwd: ROOT,
            env,
            encoding: "utf8",
            timeout: 150_000, // a bound on a hung run, not a speed test (npm run bench measures speed)
        });
        expect([r.status, r.stderr]).toEqual([0, ""]);
        expect(r.stdout).toBe(renderText(await planForStack("production")));
        expect(watched.map((f) => fs.readFileSync(path.join(ROOT, f), "utf8"))).toEqual(before);
    }, 180_000);
});

describe("the plan's output: a summary, whole step descriptions, set-up apart from the release, one chain length", () => {
    test("a summary line under the title: hosts, firewall rules, containers, steps, the longest chain", () => {
        expect(fromFileText.split("\n")[2]).toBe(summaryLine(fromFile));
        const m = /^Summary: 2 hosts, 6 firewall rules, (\d+) containers, (\d+) steps \((\d+) host and Postgres, (\d+) release\); longest chain (\d+) steps$/.exec(summaryLine(fromFile));
        expect(m).not.toBeNull();
        const [containers, steps, host, release, chain] = m!.slice(1).map(Number);
        expect([containers, steps, host + release, chain]).toEqual([fromFile.containers.length, fromFile.steps.length, steps, fromFile.chain.length]);
        expect(release).toBe(fromFile.steps.filter((s) => s.name.startsWith("release-")).length);
    });

    test("step descriptions are whole sentences, never cut (no ellipsis, each ends with a period)", () => {
        const described = fromFile.steps.filter((s) => s.summary !== undefined);
        expect(described.length).toBeGreaterThan(10);
        for (const s of described) expect([s.name, /\.$/.test(s.summary!), s.summary!.includes("…")]).toEqual([s.name, true, false]);
        expect(fromFileText).not.toContain("…");
        expect(scriptSummary("#!/bin/bash\n# Does a thing: many words here, and a v1.2 version. Then more.\nset -e\n")).toBe("Does a thing: many words here, and a v1.2 version.");
        expect(scriptSummary("#!/bin/bash\n# Rolls as Kamal does:\n#\n#   1. first\n")).toBe("Rolls as Kamal does.");
        expect(wrap("aaa bbb ccc", 7)).toEqual(["aaa bbb", "ccc"]);
    });

    test("host and Postgres steps are listed apart from the release steps", () => {
        const host = section(fromFileText, "Host and Postgres steps");
        const release = section(fromFileText, "Release steps");
        expect(host).toContain("postgres-databases");
        expect(host).toContain("host-ready-shred-day-web");
        expect(host).not.toContain("release-");
        expect(release).toContain("release-migrate");
        expect(release).not.toMatch(/postgres-|host-ready/);
        expect(fromFile.steps.filter((s) => s.group === "release").map((s) => s.name).every((n) => n.startsWith("release-"))).toBe(true);
    });

    test("one chain length: the plan's, the bench's and the README's, the same for 1 and 3 jobs hosts", async () => {
        const { measure } = await import("../../scripts/bench");
        const rows = await measure(productionConfig(), [1, 3], 1);
        expect(rows.map((r) => r.chain.length)).toEqual([fromFile.chain.length, fromFile.chain.length]);
        expect(fromFile.chain.length).toBe(Math.max(...fromFile.steps.map((s) => s.stage)));
        expect(longestChain(fromFile.steps)).toEqual(fromFile.chain);
        expect(fromFileText).toContain(`Longest chain (${fromFile.chain.length} steps): host-ready-shred-day-web -> `);
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const claims = [...readme.matchAll(/chain of (\d+) steps/g)].map((m) => Number(m[1]));
        expect(claims.length).toBeGreaterThan(0);
        for (const n of claims) expect(n).toBe(fromFile.chain.length);
        const dev = fs.readFileSync(path.join(ROOT, "docs/development.md"), "utf8");
        for (const m of dev.matchAll(/chain of (\d+) steps/g)) expect(Number(m[1])).toBe(fromFile.chain.length);
    }, 60_000);
});
