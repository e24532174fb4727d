/**
 * The real program evaluated on Pulumi's mocks, for the plan, the bench and every unit test:
 * run it for a config and capture each resource's type, name, inputs (secrets unwrapped, their paths recorded)
 * and the options that MockResourceArgs does not carry (protect, dependsOn, ignoreChanges,
 * import, deleteBeforeReplace, parent), through a transformation on the root component.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseConfig, StackConfig } from "../stacks/config";
import { ShredDay } from "../stacks/shredDay";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface Captured {
    type: string;
    name: string;
    /** The id the mock gave it (the import id for an adopted resource). */
    id: string;
    custom: boolean;
    /** Inputs with secrets unwrapped to their plain values. */
    inputs: Record<string, any>;
    /** Dotted paths of inputs that arrived marked secret (e.g. "stdin", "envs"). */
    secretPaths: string[];
    /** The id given to `import`, if any. */
    importId?: string;
    protect: boolean;
    dependsOn: string[];
    /** Resources whose outputs flow into this one's inputs: the engine waits for them too (the rehearsal's scheduling). */
    inputDependsOn: string[];
    ignoreChanges: string[];
    deleteBeforeReplace: boolean;
    replaceOnChanges: string[];
    /** Outputs the resource options mark secret (`additionalSecretOutputs`). */
    additionalSecretOutputs: string[];
    /** `customTimeouts`, when set. */
    customTimeouts?: pulumi.CustomTimeouts;
    parent?: string;
}

export interface Evaluation {
    config: StackConfig;
    stack: ShredDay;
    resources: Captured[];
    /** Resources of a type token (e.g. "hcloud:index/server:Server"). */
    ofType(type: string): Captured[];
    /** The one resource named `name`; throws if none or several. */
    named(name: string): Captured;
}

/** Strip Pulumi's secret wrappers, recording where they were. */
export function unwrapSecrets(value: any, path = "", found: string[] = []): any {
    if (value !== null && typeof value === "object") {
        if (value[SECRET_SIG] === SECRET_VALUE) {
            found.push(path || "(root)");
            return unwrapSecrets(value.value, path, []);
        }
        if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, found));
        const out: Record<string, any> = {};
        for (const [k, v] of Object.entries(value)) out[k] = unwrapSecrets(v, path ? `${path}.${k}` : k, found);
        return out;
    }
    return value;
}

/** A stable numeric id per resource, so two evaluations can be compared input for input. */
function stableId(type: string, name: string): number {
    let h = 2166136261;
    for (const ch of `${type}::${name}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    return 1000 + (h % 90_000_000);
}

/** Plausible provider outputs for the few resources whose outputs the program reads. */
function stateFor(type: string, inputs: Record<string, any>, id: number): Record<string, any> {
    switch (type) {
        case "hcloud:index/server:Server":
            return { ...inputs, ipv4Address: `192.0.2.${id % 250}`, ipv6Address: "2001:db8::1", status: "running" };
        case "hcloud:index/serverNetwork:ServerNetwork":
            return { ...inputs, ip: inputs.ip };
        case "docker:index/remoteImage:RemoteImage":
            return { ...inputs, imageId: `${inputs.name}@sha256:mock`, repoDigest: `${inputs.name}@sha256:mock` };
        case "tls:index/privateKey:PrivateKey":
            // a stand-in key pair (the real one is made by the tls provider at `up`)
            return {
                ...inputs,
                privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK-HOST-KEY-${id}\n-----END OPENSSH PRIVATE KEY-----\n`,
                publicKeyOpenssh: `ssh-ed25519 ${Buffer.from(`mock-host-key-${id}`).toString("base64")}\n`,
            };
        case "command:remote:Command":
            return { ...inputs, stdout: mockStdout(String(inputs.create ?? "")), stderr: "" };
        default:
            return inputs;
    }
}

/**
 * The digest the mocks say every host pulled. It is known only at `pulumi up`; the plan shows
 * the configured image in its place (scripts/plan/model.ts).
 */
export const MOCK_DIGEST = `sha256:${"0".repeat(64)}`;

/** What a remote step prints that the program reads back: the image-pull step's content line. */
export function mockStdout(create: string): string {
    if (!/ image-pull$/.test(create)) return "";
    const image = /(?:^| )IMAGE='([^']*)'/.exec(create)?.[1] ?? "";
    const repository = image.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
    return `image-pull: content ${repository}@${MOCK_DIGEST}\n`;
}

/** Names of the resources whose outputs reach `props` (the implicit dependencies the engine honours). */
async function outputResources(props: unknown): Promise<string[]> {
    const found = new Set<string>();
    const walk = async (v: unknown, depth: number): Promise<void> => {
        if (depth > 12 || v === null || typeof v !== "object") return;
        if (pulumi.Output.isInstance(v)) {
            for (const r of await pulumi.getAllResources(v)) {
                const n = resourceName(r);
                if (n !== undefined) found.add(n);
            }
            return;
        }
        if (pulumi.Resource.isInstance(v)) return;
        for (const x of Array.isArray(v) ? v : Object.values(v as object)) await walk(x, depth + 1);
    };
    await walk(props, 0);
    return [...found].sort();
}

function resourceName(r: pulumi.Resource | pulumi.Input<pulumi.Resource> | undefined): string | undefined {
    if (r === undefined) return undefined;
    return (r as any).__name ?? (r as any).__pulumiName ?? undefined;
}

/**
 * Evaluate the program for raw config values (keys without `shred-day:`), on mocks.
 * `preview: true` evaluates as `pulumi preview` would.
 */
export async function evaluate(
    raw: Record<string, unknown>,
    opts: {
        preview?: boolean;
        /**
         * Real outputs by resource name, in place of the mocks' (the rehearsal feeds back what a
         * command printed, as the engine feeds a resource's outputs to the inputs that use them).
         */
        outputs?: Record<string, Record<string, any>>;
        /** Real ids by resource name (a replaced container's new id). */
        ids?: Record<string, string>;
    } = {},
): Promise<Evaluation> {
    const options = new Map<string, Omit<Captured, "type" | "name" | "id" | "custom" | "inputs" | "secretPaths" | "inputDependsOn">>();
    const inputDeps = new Map<string, Promise<string[]>>();
    const registered: { type: string; name: string; custom: boolean; inputs: any; secretPaths: string[]; id?: string; assignedId: string }[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                const secretPaths: string[] = [];
                const inputs = unwrapSecrets(args.inputs, "", secretPaths);
                const id = args.id ? Number(args.id) : stableId(args.type, args.name);
                const assignedId = opts.ids?.[args.name] ?? String(id);
                registered.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs, secretPaths, id: args.id, assignedId });
                return { id: assignedId, state: { ...stateFor(args.type, inputs, id), ...(opts.outputs?.[args.name] ?? {}) } };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                return args.inputs;
            },
        },
        "shred-day",
        "test",
        opts.preview ?? false,
    );

    const config = parseConfig(raw);
    const capture: pulumi.ResourceTransformation = (args) => {
        const o = args.opts;
        const deps = o.dependsOn === undefined ? [] : Array.isArray(o.dependsOn) ? o.dependsOn : [o.dependsOn];
        inputDeps.set(`${args.type}::${args.name}`, outputResources(args.props));
        options.set(`${args.type}::${args.name}`, {
            importId: (o as pulumi.CustomResourceOptions).import === undefined ? undefined : String((o as pulumi.CustomResourceOptions).import),
            protect: o.protect === true,
            dependsOn: deps.map((d) => resourceName(d as pulumi.Resource) ?? "?"),
            ignoreChanges: o.ignoreChanges ?? [],
            deleteBeforeReplace: (o as pulumi.CustomResourceOptions).deleteBeforeReplace === true,
            replaceOnChanges: o.replaceOnChanges ?? [],
            additionalSecretOutputs: (o as pulumi.CustomResourceOptions).additionalSecretOutputs ?? [],
            customTimeouts: (o as pulumi.CustomResourceOptions).customTimeouts,
            parent: resourceName(o.parent),
        });
        return undefined;
    };
    const stack = new ShredDay("shred-day", config, { transformations: [capture] });

    // Registration is asynchronous: wait until every custom resource the transformation saw
    // has reached the mock monitor.
    const customCount = () => [...options.keys()].filter((k) => !k.startsWith("shred-day:")).length;
    for (let i = 0; i < 2000 && registered.filter((r) => r.custom).length < customCount(); i++) {
        await new Promise((r) => setImmediate(r));
    }
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));

    const implicit = new Map<string, string[]>();
    for (const [key, deps] of inputDeps) implicit.set(key, await Promise.race([deps, new Promise<string[]>((r) => setTimeout(() => r([]), 2000))]));
    const resources: Captured[] = registered.map((r) => {
        const o = options.get(`${r.type}::${r.name}`);
        return {
            type: r.type,
            name: r.name,
            id: r.assignedId,
            custom: r.custom,
            inputs: r.inputs,
            secretPaths: r.secretPaths,
            importId: o?.importId ?? (r.id ? r.id : undefined),
            protect: o?.protect ?? false,
            dependsOn: o?.dependsOn ?? [],
            inputDependsOn: (implicit.get(`${r.type}::${r.name}`) ?? []).filter((n) => n !== r.name),
            ignoreChanges: o?.ignoreChanges ?? [],
            deleteBeforeReplace: o?.deleteBeforeReplace ?? false,
            replaceOnChanges: o?.replaceOnChanges ?? [],
            additionalSecretOutputs: o?.additionalSecretOutputs ?? [],
            customTimeouts: o?.customTimeouts,
            parent: o?.parent,
        };
    });
    return {
        config,
        stack,
        resources,
        ofType: (type) => resources.filter((r) => r.type === type),
        named: (name) => {
            const found = resources.filter((r) => r.name === name);
            if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}: ${resources.map((r) => r.name).join(", ")}`);
            return found[0];
        },
    };
}

/** The value of an Output once the mocks resolve it (the plan and the tests read outputs this way). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}
