/**
 * The rehearsal's stand-in for the Pulumi engine's scheduling, and nothing more.
 *
 * `up(config)` evaluates the real program on mocks (scripts/evaluate.ts, the evaluation `npm run
 * plan` uses) and takes what it yields:
 *   - every `command:remote:Command`: its `create` text, `stdin`, `connection`, `triggers`
 *     (and `update`/`delete` if a version of the program sets them);
 *   - the Postgres `docker:index/container:Container`, run as the equivalent `docker run` on
 *     the host its docker provider points at (`ssh://user@host`);
 *   - a `docker:index/remoteImage:RemoteImage`: the lab has no registry, so it must already be
 *     on the host (the scenario loads it, as a registry pull would);
 *   - everything else (hcloud servers, networks, firewalls, providers): the lab's hosts and
 *     links already are those; they complete at once.
 * It runs them over SSH from the operator namespace, each once every resource in its
 * `dependsOn`, and every resource whose outputs flow into its inputs (Captured.inputDependsOn), is done, all ready ones at once (the engine's default parallelism). On the
 * first failure nothing new starts, running steps finish, and `up` fails, as the engine does.
 *
 * Between runs it keeps state like the engine's: a resource's inputs as last applied. A
 * resource whose inputs are unchanged (compared as the provider compares them: every input,
 * tests/support/rerun.ts) is not run; a changed one is updated (its `update`, else `create`);
 * a `triggers` change replaces it (`delete` of the old, then `create`); a failed step keeps
 * its old state, so the next `up` runs it again.
 */
import { ChildProcess, spawn } from "child_process";
import { fingerprint } from "../support/rerun"; // inputs compared as the command provider does (one comparison)
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Captured, evaluate, Evaluation, valueOf } from "../../scripts/evaluate";
import { shellQuote } from "../../components/remote";
import { Lab, LabHostSpec } from "./lab";

export const COMMAND = "command:remote:Command";
export const CONTAINER = "docker:index/container:Container";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
const DOCKER_PROVIDER = "pulumi:providers:docker";
/** What the evaluation's mock gives a RemoteImage as its imageId (scripts/evaluate.ts stateFor). */
const MOCK_IMAGE_ID_SUFFIX = "@sha256:mock";

/** The lab hosts a config asks for: names and roles from the program, public addresses as the evaluation yields them. */
export async function hostsOf(e: Evaluation): Promise<LabHostSpec[]> {
    const out: LabHostSpec[] = [];
    for (const [name, h] of Object.entries(e.stack.hosts)) {
        out.push({ name, role: h.role, publicIp: await valueOf(h.publicIp), privateIp: await valueOf(pulumi.output(h.privateIp)) });
    }
    const seen = new Set<string>();
    for (const h of out) {
        if (seen.has(h.publicIp)) throw new Error(`two hosts got the public address ${h.publicIp} from the mocks; rename a host`);
        seen.add(h.publicIp);
    }
    return out;
}

export type Action = "create" | "update" | "replace" | "same";

export interface StepRun {
    name: string;
    type: string;
    action: Exclude<Action, "same">;
    host?: string;
    /** ms since the start of `up`. */
    start: number;
    end: number;
    code: number;
    stdout: string;
    stderr: string;
}

export interface UpResult {
    ok: boolean;
    /** Steps that ran, in the order they finished. */
    runs: StepRun[];
    /** Resource names left unchanged. */
    same: string[];
    /** Steps never started because the `up` failed first. */
    notStarted: string[];
    failed: StepRun[];
    /** Wall time of the whole `up`, ms. */
    ms: number;
    /** The evaluation this `up` applied. */
    evaluation: Evaluation;
    /** A line per failure: the step, its host and its stderr. */
    error?: string;
}

interface Applied {
    type: string;
    inputs: Record<string, any>;
    print: string;
}

export interface DriverOptions {
    /** Bound on a single step (the proof waits up to 360 s itself). */
    stepTimeoutMs?: number;
    /** How many dial retries at most (the program asks for 60; the lab caps it to stay bounded). */
    maxDialRetries?: number;
    log?: (line: string) => void;
}

export class Driver {
    private state = new Map<string, Applied>();
    /** What each command printed when it last ran (the provider keeps stdout/stderr in state). */
    private outputs: Record<string, Record<string, any>> = {};
    /** Real ids (the Postgres container's), fed to the evaluation as the engine would. */
    private ids: Record<string, string> = {};
    private evaluations: Promise<unknown> = Promise.resolve();
    private keyFiles = new Map<string, string>();
    private readonly running = new Set<ChildProcess>();

    constructor(
        readonly lab: Lab,
        private readonly opts: DriverOptions = {},
    ) {}

    /** What the driver believes is applied (names), for assertions. */
    appliedNames(): string[] {
        return [...this.state.keys()].sort();
    }

    /**
     * What the tls provider gives a host the program creates (`<host>-host-key`,
     * components/hostKeys.ts newHostKey): the lab host's own key pair, which its sshd serves as
     * cloud-init would have installed it. Adopted hosts have no such resource; their keys come
     * from the config (rehearsal.ts).
     */
    private hostKeyOutputs(): Record<string, Record<string, any>> {
        return Object.fromEntries(
            this.lab.hosts.map((h) => [
                `${h.name}-host-key`,
                { publicKeyOpenssh: `${h.hostPublicKey}\n`, privateKeyOpenssh: fs.readFileSync(h.hostPrivateKeyFile, "utf8") },
            ]),
        );
    }

    /** Which steps `up(raw)` would run, and how, without running them. */
    async preview(raw: Record<string, unknown>): Promise<Map<string, Action>> {
        const e = await this.evaluate(raw);
        return new Map(e.resources.filter((r) => r.custom).map((r) => [r.name, this.actionFor(r)]));
    }

    private actionFor(r: Captured): Action {
        const old = this.state.get(r.name);
        const print = fingerprint(r.inputs);
        if (old === undefined) return "create";
        if (old.print === print) return "same";
        const triggers = (x: Record<string, any>) => fingerprint({ t: x.triggers ?? null });
        if (r.type === COMMAND && triggers(old.inputs) !== triggers(r.inputs)) return "replace";
        if (r.type === CONTAINER || r.type === REMOTE_IMAGE) return "replace";
        return "update";
    }

    /**
     * Evaluations one at a time (the mocks are global), with the outputs and ids the engine would have in state.
     * `pending`: commands of the running `up` that have not finished. Their outputs are not known yet (the
     * engine holds back every input made from them), so they are fed as unknown and the evaluation runs as a
     * preview: an `apply` over them (e.g. the release's agreedContent over every host's pull) waits instead of
     * mixing this up's real outputs with a previous up's or the mocks'.
     */
    private evaluate(raw: Record<string, unknown>, pending: string[] = []): Promise<Evaluation> {
        const unknowns = Object.fromEntries(pending.map((n) => [n, { stdout: UNKNOWN, stderr: UNKNOWN }]));
        const p = this.evaluations.then(() =>
            evaluate(raw, { preview: pending.length > 0, outputs: { ...this.hostKeyOutputs(), ...this.outputs, ...unknowns }, ids: { ...this.ids } }),
        );
        this.evaluations = p.catch(() => undefined);
        return p;
    }

    async up(raw: Record<string, unknown>): Promise<UpResult> {
        let e = await this.evaluate(raw);
        const t0 = Date.now();
        const custom = e.resources.filter((r) => r.custom);
        const byName = new Map(custom.map((r) => [r.name, r]));
        const runs: StepRun[] = [];
        const same: string[] = [];
        const failed: StepRun[] = [];
        const done = new Set<string>();
        const started = new Set<string>();
        /** Steps of this `up` whose outputs changed: what reads them must be evaluated again. */
        const fresh = new Set<string>();
        let failing = false;
        let inFlight = 0;

        // dependsOn may name components (not custom): a component is done when its custom children are.
        const childrenOf = (name: string): string[] => e.resources.filter((r) => r.parent === name).flatMap((r) => (r.custom ? [r.name] : childrenOf(r.name)));
        const depsOf = (r: Captured): string[] =>
            [...r.dependsOn, ...r.inputDependsOn].flatMap((d) => (byName.has(d) ? [d] : childrenOf(d))).filter((d) => d !== r.name);
        for (const r of custom) {
            for (const d of r.dependsOn) {
                if (!byName.has(d) && childrenOf(d).length === 0 && !e.resources.some((x) => x.name === d)) {
                    throw new Error(`${r.name} depends on ${d}, which the evaluation does not have`);
                }
            }
        }

        await new Promise<void>((resolve) => {
            const finish = () => {
                if (inFlight === 0) resolve();
            };
            const start = async (first: Captured) => {
                let r = first;
                // Inputs made from outputs of steps that ran in this up: the engine resolves them only now.
                // Every producer of r's inputs is done (pump waits for them); steps still pending elsewhere
                // in the graph are unknown in this evaluation.
                if (r.inputDependsOn.some((d) => fresh.has(d))) {
                    const pending = custom.filter((x) => x.type === COMMAND && !done.has(x.name)).map((x) => x.name);
                    e = await this.evaluate(raw, pending);
                    r = e.named(r.name);
                    if (containsUnknown(r.inputs)) throw new Error(`${r.name}: an input is still unknown after every producer finished (driver bug)`);
                }
                const action = this.actionFor(r);
                if (action === "same" || !isRemote(r.type)) {
                    if (action === "same") same.push(r.name);
                    this.state.set(r.name, { type: r.type, inputs: r.inputs, print: fingerprint(r.inputs) });
                    done.add(r.name);
                    return;
                }
                const at = Date.now() - t0;
                this.opts.log?.(`[${(at / 1000).toFixed(1)}s] ${action} ${r.name}`);
                const run: StepRun = await this.apply(e, r, action)
                    .then((res) => ({ ...res, name: r.name, type: r.type, action, start: at, end: Date.now() - t0 }))
                    .catch((err) => ({ name: r.name, type: r.type, action, start: at, end: Date.now() - t0, code: -1, stdout: "", stderr: String(err), host: undefined }));
                runs.push(run);
                this.opts.log?.(`[${(run.end / 1000).toFixed(1)}s] ${run.code === 0 ? "done" : `FAILED (${run.code})`} ${r.name}`);
                if (run.code === 0) {
                    this.state.set(r.name, { type: r.type, inputs: r.inputs, print: fingerprint(r.inputs) });
                    if (r.type === COMMAND) this.outputs[r.name] = { stdout: run.stdout, stderr: run.stderr };
                    const id = /^container-id=([0-9a-f]{64})$/m.exec(run.stdout)?.[1];
                    if (r.type === CONTAINER && id) this.ids[r.name] = id;
                    fresh.add(r.name);
                    done.add(r.name);
                } else {
                    failed.push(run);
                    failing = true;
                }
            };
            const pump = () => {
                if (failing) return finish();
                for (const r of custom) {
                    if (started.has(r.name) || !depsOf(r).every((d) => done.has(d))) continue;
                    started.add(r.name);
                    inFlight++;
                    // An error thrown in start() itself (an evaluation that fails, the driver-bug check) is a
                    // failed step: without this the step would be neither done nor failed, its dependents would
                    // never start, and the up would still look ok.
                    void start(r)
                        .catch((err: unknown) => {
                            const at = Date.now() - t0;
                            const stderr = err instanceof Error ? (err.stack ?? err.message) : String(err);
                            this.opts.log?.(`[${(at / 1000).toFixed(1)}s] FAILED (driver) ${r.name}: ${stderr}`);
                            failed.push({ name: r.name, type: r.type, action: "update", start: at, end: at, code: -1, stdout: "", stderr });
                            failing = true;
                        })
                        .finally(() => {
                            inFlight--;
                            pump();
                        });
                }
                finish();
            };
            pump();
        });

        // The state the up leaves: every output known (the last evaluation above may have had pending steps).
        if (fresh.size > 0) {
            try {
                e = await this.evaluate(raw);
            } catch (err) {
                if (!failing) throw err;
            }
        }

        // Removed resources: delete (run `delete` of a command that has one; remove a container).
        if (!failing) {
            for (const [name, old] of [...this.state.entries()]) {
                if (byName.has(name)) continue;
                if (old.type === COMMAND && old.inputs.delete) {
                    const start = Date.now() - t0;
                    const res = await this.runCommand(old.inputs, old.inputs.delete);
                    runs.push({ ...res, name, type: old.type, action: "replace", start, end: Date.now() - t0 });
                }
                this.state.delete(name);
                delete this.outputs[name];
            }
        }

        const notStarted = custom.filter((r) => !started.has(r.name)).map((r) => r.name);
        // Without a failure every step is started (pump starts each one whose dependencies are done, and every
        // step either finishes done or fails), so a step left unstarted on an up with no failure is a step that
        // never ran (e.g. a dependency cycle): not ok either.
        const result: UpResult = { ok: failed.length === 0 && notStarted.length === 0, runs, same, notStarted, failed, ms: Date.now() - t0, evaluation: e };
        if (failed.length > 0) {
            result.error = failed.map((f) => `${f.name} on ${f.host ?? "?"} failed (exit ${f.code}):\n${f.stderr}`).join("\n");
        } else if (notStarted.length > 0) {
            result.error = `no step failed, yet these never started: ${notStarted.join(", ")}`;
        }
        return result;
    }

    /** Kill every SSH session in flight (teardown after a failed test). */
    abort(): void {
        for (const c of this.running) c.kill("SIGKILL");
    }

    private hostFor(address: string): LabHostSpec {
        const h = this.lab.hosts.find((x) => x.publicIp === address);
        if (!h) throw new Error(`the program dials ${address}, which is no lab host (${this.lab.hosts.map((x) => `${x.name} ${x.publicIp}`).join(", ")}); refusing to dial it`);
        return h;
    }

    private keyFile(privateKey: string): string {
        const digest = crypto.createHash("sha256").update(privateKey).digest("hex").slice(0, 16);
        let file = this.keyFiles.get(digest);
        if (!file) {
            file = path.join(this.lab.dir, `driver-key-${digest}`);
            fs.writeFileSync(file, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
            this.keyFiles.set(digest, file);
        }
        return file;
    }

    private async apply(e: Evaluation, r: Captured, action: Exclude<Action, "same">): Promise<Omit<StepRun, "name" | "type" | "action" | "start" | "end">> {
        if (r.type === COMMAND) {
            const old = this.state.get(r.name);
            if (action === "replace" && old?.inputs.delete) {
                const del = await this.runCommand(old.inputs, old.inputs.delete);
                if (del.code !== 0) return del;
            }
            const text = action === "update" && r.inputs.update ? r.inputs.update : r.inputs.create;
            return this.runCommand(r.inputs, text);
        }
        const { host, user } = dockerHostOf(e);
        if (r.type === REMOTE_IMAGE) {
            // No registry in the lab: the image must be on the host already (loaded by the scenario).
            return this.ssh({ host, user }, `docker image inspect --format '{{.Id}}' ${shellQuote(r.inputs.name)} >/dev/null || { echo "${r.inputs.name} is not on the host and the lab has no registry" >&2; exit 1; }`);
        }
        if (r.type === CONTAINER) {
            const run = dockerRun(r.inputs);
            const old = this.state.get(r.name);
            const remove = old ? `docker stop --time ${Number(old.inputs.stopTimeout ?? 10)} ${shellQuote(old.inputs.name)} >/dev/null 2>&1 || true; docker rm -f ${shellQuote(old.inputs.name)} >/dev/null 2>&1 || true\n` : "";
            return this.ssh({ host, user }, `set -euo pipefail\n${remove}${run.script}`, run.stdin);
        }
        throw new Error(`the driver cannot apply ${r.type}`);
    }

    private runCommand(inputs: Record<string, any>, text: string) {
        const conn = inputs.connection ?? {};
        if (typeof conn.hostKey !== "string" || conn.hostKey === "") throw new Error(`a remote command to ${conn.host} has no hostKey in its connection; the program must pin every host's key`);
        return this.ssh({ host: conn.host, user: conn.user ?? "root", privateKey: conn.privateKey, hostKey: conn.hostKey, dialErrorLimit: conn.dialErrorLimit }, text, inputs.stdin ?? "");
    }

    /** A known_hosts file trusting exactly `hostKey` for `address` (the provider's hostKey check). */
    private knownHostsFile(address: string, hostKey: string): string {
        const line = `${address} ${hostKey.trim().split(/\s+/).slice(0, 2).join(" ")}\n`;
        const digest = crypto.createHash("sha256").update(line).digest("hex").slice(0, 16);
        const file = path.join(this.lab.dir, `driver-known-hosts-${digest}`);
        if (!fs.existsSync(file)) fs.writeFileSync(file, line, { mode: 0o600 });
        return file;
    }

    /** One SSH session from the operator namespace, like the provider's: the login shell runs `command`; stdin then EOF. */
    ssh(
        /**
         * hostKey: the connection's pinned host key; ssh trusts only it (StrictHostKeyChecking=yes), so
         * a step whose hostKey is not the dialled host's fails with "Host key verification failed".
         * Without one (the Docker provider's steps, whose own ssh reads the program's known_hosts),
         * the lab's known_hosts of its per-run keys is used.
         */
        conn: { host: string; user: string; privateKey?: string; hostKey?: string; dialErrorLimit?: number },
        command: string,
        stdin = "",
    ): Promise<{ host: string; code: number; stdout: string; stderr: string }> {
        const h = this.hostFor(conn.host);
        const base = this.lab.sshArgs(h).map((a) => (a === `root@${h.publicIp}` ? `${conn.user}@${h.publicIp}` : a));
        if (conn.privateKey) {
            const i = base.indexOf("-i");
            base[i + 1] = this.keyFile(conn.privateKey);
        }
        if (conn.hostKey !== undefined) {
            const i = base.findIndex((a) => a.startsWith("UserKnownHostsFile="));
            if (i < 0) throw new Error("the lab's ssh arguments have no UserKnownHostsFile to replace");
            base[i] = `UserKnownHostsFile=${this.knownHostsFile(h.publicIp, conn.hostKey)}`;
        }
        const retries = Math.min(conn.dialErrorLimit ?? 1, this.opts.maxDialRetries ?? 3);
        const once = () =>
            new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
                const c = spawn("nsenter", [`--net=/var/run/netns/${this.lab.operatorNs}`, "--", "ssh", ...base, "--", command], { stdio: ["pipe", "pipe", "pipe"] });
                this.running.add(c);
                let stdout = "";
                let stderr = "";
                const timer = setTimeout(() => {
                    stderr += `\n[driver] step exceeded ${this.opts.stepTimeoutMs ?? 600_000} ms; killed\n`;
                    c.kill("SIGKILL");
                }, this.opts.stepTimeoutMs ?? 600_000);
                c.stdout.on("data", (d) => (stdout += d));
                c.stderr.on("data", (d) => (stderr += d));
                c.stdin.on("error", () => undefined);
                c.on("close", (code, signal) => {
                    clearTimeout(timer);
                    this.running.delete(c);
                    resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
                });
                c.stdin.end(stdin);
            });
        return (async () => {
            let r = await once();
            // Only a failure to dial is retried (as the provider's dialErrorLimit does), never a command's failure.
            for (let n = 1; n < retries && r.code === 255 && /connect to host|Connection refused|timed out|No route to host/i.test(r.stderr); n++) {
                await new Promise((res) => setTimeout(res, 1000));
                r = await once();
            }
            return { host: h.name, ...r };
        })();
    }
}

/** The Pulumi wire sentinel for an unknown value (@pulumi/pulumi runtime/rpc unknownValue). */
const UNKNOWN = pulumi.runtime.unknownValue as string;

function containsUnknown(v: unknown): boolean {
    if (v === UNKNOWN) return true;
    if (v === null || typeof v !== "object") return false;
    return Object.values(v as object).some(containsUnknown);
}

function isRemote(type: string): boolean {
    return type === COMMAND || type === CONTAINER || type === REMOTE_IMAGE;
}

/** The host a docker provider talks to, from its `ssh://user@host` (the program has one). */
function dockerHostOf(e: Evaluation): { host: string; user: string } {
    const providers = e.ofType(DOCKER_PROVIDER);
    if (providers.length !== 1) throw new Error(`expected one docker provider in the program, found ${providers.length}`);
    const m = /^ssh:\/\/([^@]+)@([^:/]+)/.exec(String(providers[0].inputs.host ?? ""));
    if (!m) throw new Error(`the docker provider's host ${JSON.stringify(providers[0].inputs.host)} is not ssh://user@host`);
    return { user: m[1], host: m[2] };
}

/** Inputs of docker.Container the lab translates; any other input set by the program is refused, never ignored. */
const CONTAINER_INPUTS = new Set([
    "name",
    "image",
    "restart",
    "ports",
    "volumes",
    "envs",
    "healthcheck",
    "destroyGraceSeconds",
    "stopTimeout",
    "mustRun",
    "removeVolumes",
    "labels",
    "hostname",
    "command",
    "entrypoints",
    "networksAdvanced",
    "wait",
    "waitTimeout",
]);

/**
 * The `docker run` a docker.Container's inputs amount to: name, image, restart policy, port
 * bindings (with their address), bind mounts, env (on stdin into a 0600 file, as the provider
 * sends it in the API body, never on a command line), health check, stop timeout, labels.
 */
export function dockerRun(inputs: Record<string, any>): { script: string; stdin: string } {
    const unknown = Object.keys(inputs).filter((k) => inputs[k] !== undefined && !CONTAINER_INPUTS.has(k));
    if (unknown.length > 0) throw new Error(`docker.Container inputs the rehearsal does not translate yet: ${unknown.join(", ")}`);
    const q = shellQuote;
    const args: string[] = ["docker", "run", "--detach", "--name", q(inputs.name)];
    if (inputs.hostname) args.push("--hostname", q(inputs.hostname));
    if (inputs.restart) args.push("--restart", q(inputs.restart));
    for (const p of inputs.ports ?? []) {
        args.push("--publish", q(`${p.ip ? `${p.ip}:` : ""}${p.external ?? ""}:${p.internal}/${p.protocol ?? "tcp"}`));
    }
    for (const v of inputs.volumes ?? []) {
        const src = v.hostPath ?? v.volumeName;
        args.push("--volume", q(`${src}:${v.containerPath}${v.readOnly ? ":ro" : ""}`));
    }
    // `docker run` joins one network (with its aliases); the provider connects the others after create.
    const networks: { name: string; aliases?: string[] }[] = inputs.networksAdvanced ?? [];
    if (networks.length > 0) {
        args.push("--network", q(networks[0].name));
        for (const a of networks[0].aliases ?? []) args.push("--network-alias", q(a));
    }
    const connects = networks.slice(1).map((n) => `docker network connect ${(n.aliases ?? []).map((a) => `--alias ${q(a)} `).join("")}${q(n.name)} ${q(inputs.name)}`);
    const hc = inputs.healthcheck;
    if (hc) {
        const tests: string[] = hc.tests ?? [];
        if (tests[0] === "CMD") args.push("--health-cmd", q(tests.slice(1).map(q).join(" ")));
        else if (tests[0] === "CMD-SHELL") args.push("--health-cmd", q(tests.slice(1).join(" ")));
        if (hc.interval) args.push("--health-interval", q(hc.interval));
        if (hc.timeout) args.push("--health-timeout", q(hc.timeout));
        if (hc.retries !== undefined) args.push("--health-retries", String(Number(hc.retries)));
        if (hc.startPeriod) args.push("--health-start-period", q(hc.startPeriod));
    }
    if (inputs.stopTimeout !== undefined) args.push("--stop-timeout", String(Number(inputs.stopTimeout)));
    for (const l of inputs.labels ?? []) args.push("--label", q(`${l.label}=${l.value}`));
    const envs: string[] = inputs.envs ?? [];
    args.push("--env-file", '"$envfile"');
    for (const e of inputs.entrypoints ?? []) args.push("--entrypoint", q(e));
    const image = String(inputs.image).endsWith(MOCK_IMAGE_ID_SUFFIX) ? String(inputs.image).slice(0, -MOCK_IMAGE_ID_SUFFIX.length) : String(inputs.image);
    args.push(q(image), ...(inputs.command ?? []).map((c: string) => q(c)));
    const script = [
        'envfile=$(umask 077 && mktemp)',
        'trap \'rm -f "$envfile"\' EXIT',
        'cat >"$envfile"',
        `id=$(${args.join(" ")})`,
        ...connects,
        'echo "container-id=$id"',
        // mustRun: the provider fails unless the container is running after create.
        inputs.mustRun === false
            ? "true"
            : `[ "$(docker container inspect --format '{{.State.Running}}' ${q(inputs.name)})" = true ] || { echo "container ${inputs.name} is not running after create" >&2; docker logs --tail 30 ${q(inputs.name)} >&2; exit 1; }`,
        `echo "started ${inputs.name}"`,
    ].join("\n");
    return { script, stdin: envs.length > 0 ? `${envs.join("\n")}\n` : "" };
}
