/**
 * `npm run plan`: the real program on mocks, read back for a reviewer. The plan comes from the
 * program (a config change shows up in it), never prints a secret, and the committed diagram
 * (docs/topology.mmd, and the copy in README.md) is what the plan makes of the production stack file.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describePublish, Plan, planForConfig, planForStack } from "../../scripts/plan/model";
import { renderMermaid, renderText } from "../../scripts/plan/render";
import { dockerRuns, parseScriptCommand, scriptVariables, shellWords } from "../../scripts/plan/shell";
import { DIAGRAM, DIAGRAM_DOC, README_BEGIN, README_END, readmeWithDiagram } from "../../scripts/plan";
import { productionConfig, SECRET_VALUES, withJobsHosts } from "../support/fixtures";

const ROOT = path.resolve(__dirname, "../..");

let fromFile: Plan;
let fromFileText: string;
let fromFileDiagram: string;

beforeAll(async () => {
    fromFile = await planForStack("production");
    fromFileText = renderText(fromFile);
    fromFileDiagram = renderMermaid(fromFile);
});

function section(text: string, title: string): string {
    const start = text.indexOf(`\n${title}`);
    if (start < 0) throw new Error(`no section ${title}`);
    const end = text.indexOf("\n\n", start + 1);
    return text.slice(start + 1, end < 0 ? undefined : end);
}

describe("the plan of the production stack file", () => {
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
    test("docs/topology.mmd is what the plan makes of the production stack file (run npm run plan to refresh)", () => {
        expect(fs.readFileSync(path.join(ROOT, DIAGRAM), "utf8")).toBe(fromFileDiagram);
    });

    test("docs/review-and-preview.md shows the same diagram between the topology markers", () => {
        const readme = fs.readFileSync(path.join(ROOT, DIAGRAM_DOC), "utf8");
        expect(readme).toContain(README_BEGIN);
        expect(readme).toContain(README_END);
        expect(readmeWithDiagram(readme, fromFileDiagram)).toBe(readme);
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
        ].join("\n");
        const runs = dockerRuns(script);
        expect(runs.map((r) => [r.name, r.image, r.command.join(" "), r.rm, r.publish, r.env, r.labels])).toEqual([
            [undefined, "$IMAGE", "bin/rails db:prepare", true, [], [], []],
            ["$name", "$IMAGE", "", false, ["10.0.0.3:5432:5432"], ["FOO"], ["role=web"]],
        ]);
        expect(shellWords("a 'b c' \"d\\\"e\" f\\ g").words).toEqual(["a", "b c", 'd"e', "f g"]);
        expect(scriptVariables(': "${NET:=kamal}"\nname="$SERVICE-web-$RELEASE"\nx=$(date)\n', { SERVICE: "s", RELEASE: "r" })).toEqual({ SERVICE: "s", RELEASE: "r", NET: "kamal", name: "s-web-r" });
        expect(describePublish("80:80")).toBe("every address:80 -> 80/tcp");
        expect(describePublish("10.0.0.3:5432:5432")).toBe("10.0.0.3:5432 -> 5432/tcp");
    });
});

describe("npm run plan", () => {
    test("runs on a fresh checkout in under 10 s, with no Pulumi CLI, token or network", () => {
        const start = Date.now();
        const env = { ...process.env, PATH: path.dirname(process.execPath), HCLOUD_TOKEN: "", PULUMI_ACCESS_TOKEN: "", PULUMI_CONFIG_PASSPHRASE: "", SSH_AUTH_SOCK: "" };
        const r = spawnSync(process.execPath, [path.join(ROOT, "node_modules/ts-node/dist/bin.js"), "-T", "scripts/plan.ts", "--stack", "production", "--no-write"], {
            cwd: ROOT,
            env,
            encoding: "utf8",
            timeout: 30_000,
        });
        const seconds = (Date.now() - start) / 1000;
        expect([r.status, r.stderr]).toEqual([0, ""]);
        expect(r.stdout).toBe(fromFileText);
        expect(seconds).toBeLessThan(10);
    }, 30_000);

    test("a config the program refuses gives the refusal, not a plan", () => {
        const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "plan-"));
        const yaml = fs.readFileSync(path.join(ROOT, "Pulumi.production.yaml"), "utf8").replace("privateIp: 10.0.0.2", "privateIp: 10.0.0.3");
        fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), yaml);
        return planForStack("bad", dir).then(
            () => {
                throw new Error("expected a refusal");
            },
            (e: Error) => expect(e.message).toMatch(/jobs\.hosts\[0\]\.privateIp = "10\.0\.0\.3": already used by shred-day-web/),
        );
    });
});
