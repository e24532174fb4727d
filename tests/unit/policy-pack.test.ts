/**
 * The pack as `pulumi preview --policy-pack policy` runs it, still without the CLI: Pulumi's
 * own policy runner (@pulumi/pulumi/cmd/run-policy-pack, the program the CLI's
 * `pulumi-analyzer-policy` plugin starts in the pack's directory) loads policy/index.ts with
 * ts-node (type-checked), serves the Analyzer gRPC service, and this test plays the engine:
 * it sends the real program's resources (secrets wrapped as the engine wraps them, unknowns
 * as the engine's sentinels) and reads back the diagnostics.
 */
import * as grpc from "@grpc/grpc-js";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { POLICY_NAMES } from "../../policy/policies";
import { TYPES } from "../../policy/rules";
import { toPolicyResources, urnOf } from "../../scripts/plan/policyResources";
import { productionConfig } from "../support/fixtures";
import { Captured, evaluate } from "../../scripts/evaluate";

/* eslint-disable @typescript-eslint/no-var-requires */
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
/* eslint-enable @typescript-eslint/no-var-requires */

const ROOT = path.resolve(__dirname, "../..");
const SECRET_SIG = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };
const UNKNOWN_ARRAY = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2";

let pack: ChildProcess;
let client: any;
let captured: Captured[];

function call<T>(method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) => client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
}

/** Inputs as the engine sends them: secret inputs wrapped in the secret signature. */
function properties(c: Captured, overrides: Record<string, unknown> = {}) {
    const props: Record<string, unknown> = JSON.parse(JSON.stringify({ ...c.inputs, ...overrides }));
    for (const key of new Set(c.secretPaths.map((p) => p.split(/[.[]/)[0]))) {
        if (key in props && !(key in overrides)) props[key] = { ...SECRET_SIG, value: props[key] };
    }
    return Struct.fromJavaScript(props);
}

function options(c: Captured) {
    const o = new analyzerPb.AnalyzerResourceOptions();
    o.setProtect(c.protect);
    o.setIgnorechangesList(c.ignoreChanges);
    if (c.deleteBeforeReplace) {
        o.setDeletebeforereplace(true);
        o.setDeletebeforereplacedefined(true);
    }
    return o;
}

async function analyze(c: Captured, overrides: Record<string, unknown> = {}): Promise<{ policy: string; message: string; mandatory: boolean }[]> {
    const req = new analyzerPb.AnalyzeRequest();
    req.setType(c.type);
    req.setName(c.name);
    req.setUrn(urnOf(c));
    req.setProperties(properties(c, overrides));
    req.setOptions(options(c));
    const res: any = await call("analyze", req);
    return res.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), message: d.getMessage(), mandatory: d.getEnforcementlevel() === analyzerPb.EnforcementLevel.MANDATORY }));
}

async function analyzeStack(resources: Captured[], overrides: Record<string, Record<string, unknown>> = {}) {
    const deps = toPolicyResources(resources);
    const req = new analyzerPb.AnalyzeStackRequest();
    req.setResourcesList(
        resources
            .filter((c) => c.custom)
            .map((c) => {
                const r = new analyzerPb.AnalyzerResource();
                r.setType(c.type);
                r.setName(c.name);
                r.setUrn(urnOf(c));
                r.setProperties(properties(c, overrides[c.name] ?? {}));
                r.setOptions(options(c));
                const d = deps.find((x) => x.urn === urnOf(c))!;
                r.setDependenciesList((d.dependencies ?? []).map((x) => x.urn!));
                const map = r.getPropertydependenciesMap();
                for (const [k, v] of Object.entries(d.propertyDependencies ?? {})) {
                    const pd = new analyzerPb.AnalyzerPropertyDependencies();
                    pd.setUrnsList(v.map((x) => x.urn!));
                    map.set(k, pd);
                }
                return r;
            }),
    );
    const res: any = await call("analyzeStack", req);
    return res.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), message: d.getMessage(), urn: d.getUrn() }));
}

async function configure(config: Record<string, Record<string, unknown>>) {
    const req = new analyzerPb.ConfigureAnalyzerRequest();
    const map = req.getPolicyconfigMap();
    for (const [name, props] of Object.entries(config)) {
        const pc = new analyzerPb.PolicyConfig();
        pc.setEnforcementlevel(analyzerPb.EnforcementLevel.MANDATORY);
        pc.setProperties(Struct.fromJavaScript(props));
        map.set(name, pc);
    }
    await call("configure", req);
}

beforeAll(async () => {
    captured = (await evaluate(productionConfig())).resources;
    // What `pulumi-analyzer-policy` does: resolve the runner from the pack's directory and start it there.
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [path.join(ROOT, "policy")] });
    pack = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: path.join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    pack.stderr!.on("data", (d) => (stderr += d));
    const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        pack.stdout!.on("data", (d) => {
            out += d;
            const m = /^(\d+)\s*$/m.exec(out);
            if (m) resolve(Number(m[1]));
        });
        pack.on("exit", (code) => reject(new Error(`the policy pack exited (${code}) before serving:\n${out}\n${stderr}`)));
    });
    client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 120_000);

afterAll(() => {
    client?.close();
    if (pack && pack.exitCode === null) pack.kill();
});

describe("the pack under Pulumi's policy runner (what pulumi preview --policy-pack policy starts)", () => {
    test("it loads (ts-node, type-checked), and serves every policy as mandatory", async () => {
        const info: any = await call("getAnalyzerInfo", new Empty());
        expect(info.getName()).toBe("shred-day");
        const served = info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel()]);
        expect(served.map(([n]: [string]) => n).sort()).toEqual(Object.values(POLICY_NAMES).sort());
        for (const [, level] of served) expect(level).toBe(analyzerPb.EnforcementLevel.MANDATORY);
    });

    test("production: no resource and no stack diagnostic", async () => {
        for (const c of captured.filter((r) => r.custom)) expect([c.name, await analyze(c)]).toEqual([c.name, []]);
        expect(await analyzeStack(captured)).toEqual([]);
    });

    test("a preview in which the jobs firewall does not exist yet (its id unknown): still no diagnostic", async () => {
        const jobs = captured.find((c) => c.type === TYPES.server && c.inputs.name === "shred-day-jobs-ubuntu")!;
        expect(await analyze(jobs, { firewallIds: UNKNOWN_ARRAY })).toEqual([]);
        expect(await analyzeStack(captured, { [jobs.name]: { firewallIds: UNKNOWN_ARRAY } })).toEqual([]);
    });

    test("5432 opened on the web firewall: a mandatory diagnostic from postgres-port-closed", async () => {
        const fw = captured.find((c) => c.type === TYPES.firewall && c.inputs.name === "shred-day-web")!;
        const rules = [...fw.inputs.rules, { direction: "in", protocol: "tcp", port: "5000-6000", sourceIps: ["0.0.0.0/0"] }];
        const d = await analyze(fw, { rules });
        expect(d.map((x) => x.policy)).toEqual([POLICY_NAMES.postgresPortClosed]);
        expect(d[0].mandatory).toBe(true);
    });

    test("a server without a firewall: a stack diagnostic naming it", async () => {
        // a created jobs server (production adopts it and attaches the firewall separately)
        const created = productionConfig();
        delete created.jobs.hosts[0].importId;
        const own = (await evaluate(created)).resources;
        const jobs = own.find((c) => c.type === TYPES.server && c.inputs.name === "shred-day-jobs-ubuntu")!;
        const d = await analyzeStack(own, { [jobs.name]: { firewallIds: [] } });
        expect(d.map((x: any) => [x.policy, x.urn])).toEqual([[POLICY_NAMES.serverFirewall, urnOf(jobs)]]);
    });

    test("the pack's config reaches the SSH policy (adminCidrs from the stack)", async () => {
        const fw = captured.find((c) => c.type === TYPES.firewall && c.inputs.name === "shred-day-jobs")!;
        await configure({ [POLICY_NAMES.sshAdminOnly]: { adminCidrs: ["198.51.100.0/24"], allowSshFromAnywhere: false } });
        const d = await analyze(fw);
        expect(d.map((x) => x.policy)).toEqual([POLICY_NAMES.sshAdminOnly]);
        expect(d[0].message).toContain("not inside the stack's admin ranges");
        await configure({ [POLICY_NAMES.sshAdminOnly]: { adminCidrs: ["203.0.113.7/32"], allowSshFromAnywhere: false } });
        expect(await analyze(fw)).toEqual([]);
    });
});
