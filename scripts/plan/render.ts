/**
 * The plan as text for a reviewer, and as a Mermaid diagram of the topology. Both are made
 * from the Plan model only; stand-ins for placeholders are shown as the placeholder.
 */
import type { Plan, PlanContainer, PlanStep } from "./model";

function layout(rows: string[][], indent = "  "): string[] {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    return rows.map((r) => `${indent}${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")}`.trimEnd());
}

/** Show stand-ins as the placeholders they replace (longest first, so no stand-in is cut in two). */
export function undisplay(text: string, display: [string, string][]): string {
    return [...display].sort((a, b) => b[0].length - a[0].length).reduce((t, [standIn, shown]) => t.split(standIn).join(shown), text);
}

const WORLD = new Set(["0.0.0.0/0", "::/0"]);

export function renderText(plan: Plan): string {
    const out: string[] = [];
    // Cells are shown as written in the stack file before the columns are measured.
    const table = (rows: string[][]) => layout(rows.map((r) => r.map((c) => undisplay(c, plan.display))));
    out.push(`shred-day plan: stack ${plan.stack} (${plan.source})`);
    out.push("The real program, evaluated on Pulumi's mocks: no cloud, no Pulumi CLI, no token, no network.");
    out.push(summaryLine(plan));
    if (plan.refuse.length > 0) {
        out.push("");
        out.push("WARNING: pulumi up will refuse until these are set:");
        for (const r of plan.refuse) out.push(`  - ${r}`);
        out.push("  (this plan evaluates the program with stand-in values for them)");
    }
    if (plan.warnings.length > 0) {
        out.push("");
        out.push("Note (accepted, but check it is what you mean):");
        for (const w of plan.warnings) out.push(`  - ${w}`);
    }
    if (plan.unreadable.length > 0) {
        out.push("");
        out.push("Encrypted in the stack file, so stand-ins were used (set; pulumi up can read them):");
        for (const r of plan.unreadable) out.push(`  - ${r}`);
    }

    out.push("");
    const net = plan.network;
    out.push(net ? `Hosts (private network ${net.name} ${net.ipRange}, subnet ${net.subnet ?? "?"} in ${net.zone ?? "?"})` : "Hosts");
    out.push(
        ...table([
            ["host", "role", "public IP", "private IP", "type", "location", "firewall"],
            ...plan.hosts.map((h) => [
                h.name,
                h.role,
                h.adopted ? `${h.publicIp} (adopted, import ${h.importId})` : h.publicIp,
                h.privateIp,
                h.serverType,
                h.location,
                h.firewalls.map((f) => `${f.name} (${f.how})`).join(", ") || "NONE",
            ]),
        ]),
    );

    if (plan.adopted.length > 0) {
        out.push("");
        out.push(...renderAdopted(plan));
    }

    out.push("");
    out.push("Firewall: inbound on the public interface (port x source x host); anything else is dropped.");
    out.push("The private network is not filtered by Hetzner Cloud Firewalls.");
    const hostNames = plan.hosts.map((h) => h.name);
    out.push(
        ...table([
            ["port", "source", ...hostNames],
            ...plan.rules.map((r) => [`${r.port}/${r.protocol}`, WORLD.has(r.source) ? `${r.source} (anywhere)` : r.source, ...hostNames.map((h) => (r.hosts.includes(h) ? "allow" : "-"))]),
        ]),
    );
    for (const c of plan.closed) out.push(`  ${c.port}/tcp: ${c.note}`);

    out.push("");
    out.push("Containers");
    for (const h of plan.hosts) {
        const here = plan.containers.filter((c) => c.host === h.name);
        if (here.length === 0) continue;
        out.push(`  on ${h.name}:`);
        for (const c of here) out.push(...renderContainer(c));
    }
    const elsewhere = plan.containers.filter((c) => !plan.hosts.some((h) => h.name === c.host));
    for (const c of elsewhere) out.push(...renderContainer(c));

    const stages = Math.max(0, ...plan.steps.map((s) => s.stage));
    out.push("");
    out.push(`Steps, in ${stages} stages: the steps of one stage run side by side; each stage waits for the one before.`);
    out.push(`Longest chain (${plan.chain.length} steps): ${plan.chain.join(" -> ")}`);
    for (const [group, title] of [
        ["host", "Host and Postgres steps (set-up: they re-run only when a host or Postgres setting changes)"],
        ["release", "Release steps (a deploy: a new app.image or env re-runs these)"],
    ] as const) {
        const steps = plan.steps.filter((s) => s.group === group);
        if (steps.length === 0) continue;
        out.push("");
        out.push(title);
        out.push(...renderSteps(steps, plan));
    }

    return undisplay(out.join("\n"), plan.display) + "\n";
}

/**
 * The adopted objects: for each, the inputs declared (compared with the real object before any
 * change, or part of its import id: only these can ever diff) and the inputs ignored (taken
 * from the real object on import, never changed).
 */
export function renderAdopted(plan: Plan): string[] {
    const out = [
        "Adopted objects (import, protect): only DECLARED inputs can ever diff against the real object; IGNORED ones are taken from it.",
        "A real preview must show `= import` for each (no ~ update, +- replace, - delete): check it with npm run plan -- --preview FILE.",
    ];
    for (const a of plan.adopted) {
        out.push(`  ${a.name} (${a.type}, import ${a.importId})`);
        const declared = a.declared.map((d) => (a.intended.includes(d) ? `${d} (its intended update)` : d));
        out.push(...wrap(`declared: ${declared.join(", ") || "(none)"}`, 96).map((l) => `      ${l}`));
        out.push(...wrap(`ignored: ${a.ignored.join(", ") || "(none)"}`, 96).map((l) => `      ${l}`));
    }
    return out;
}

/** One summary line: what the stack is made of. */
export function summaryLine(plan: Plan): string {
    const n = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
    const release = plan.steps.filter((s) => s.group === "release").length;
    return `Summary: ${n(plan.hosts.length, "host")}, ${n(plan.ruleCount, "firewall rule")}, ${n(plan.containers.length, "container")}, ${n(plan.steps.length, "step")} (${plan.steps.length - release} host and Postgres, ${release} release); longest chain ${plan.chain.length} steps`;
}

/** Steps as rows (stage, step, host, script), each with its description whole on the next line. */
function renderSteps(steps: PlanStep[], plan: Plan): string[] {
    const rows = steps.map((s) => [String(s.stage), s.name, s.host ?? "", s.type === "container" ? "docker.Container" : s.script ? `${s.script}.sh` : ""]);
    const lines = layout([["stage", "step", "host", "runs"], ...rows].map((r) => r.map((c) => undisplay(c, plan.display))));
    const out = [lines[0]];
    steps.forEach((s, i) => {
        out.push(lines[i + 1]);
        if (s.summary) out.push(...wrap(s.summary, 96).map((l) => `         ${l}`));
    });
    return out;
}

/** Wrap text at word boundaries (a word longer than the width stays whole). */
export function wrap(text: string, width: number): string[] {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(" ")) {
        if (line !== "" && line.length + 1 + word.length > width) {
            lines.push(line);
            line = word;
        } else line = line === "" ? word : `${line} ${word}`;
    }
    if (line !== "") lines.push(line);
    return lines;
}

function renderContainer(c: PlanContainer): string[] {
    const name = c.name === "(unnamed)" && c.oneOff ? "(one-off container)" : c.name;
    const lines = [`    ${name}  (${c.createdBy})`];
    const field = (k: string, v: string | undefined) => {
        if (v !== undefined && v !== "") lines.push(`      ${k.padEnd(10)} ${v}`);
    };
    field("image", c.command ? `${c.image}  (runs: ${c.command})` : c.image);
    if (c.release) field("release", `${c.release}  (${c.role ? `${c.role} ` : ""}release id: a digest of the image and the role's env; a new id means a new container)`);
    field("published", c.published.length > 0 ? c.published.join(", ") : c.oneOff ? "not published (one-off, removed when done)" : `not published${c.network ? ` (docker network ${c.network})` : ""}`);
    if (c.published.length > 0 && c.network) field("network", c.network);
    field("restart", c.restart);
    field("mounts", c.mounts.join(", "));
    field("env", c.envNames.length > 0 ? `${c.envFile ? `${c.envFile}: ` : ""}${c.envNames.join(" ")}` : c.envFile);
    return lines;
}

// ---------------------------------------------------------------------------------------------
// Mermaid
// ---------------------------------------------------------------------------------------------

function id(prefix: string, s: string): string {
    return `${prefix}_${s.replace(/[^A-Za-z0-9]+/g, "_")}`;
}

function label(...lines: string[]): string {
    // Mermaid's own entity codes (#lt; ...), which every renderer understands.
    const esc = (s: string) => s.replace(/#/g, "#35;").replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
    return `"${lines.filter((l) => l !== "").map(esc).join("<br/>")}"`;
}

/** The published ports of a container as `80, 443`. */
function ports(c: PlanContainer): string[] {
    return c.published.map((p) => /:(\d+|\(random\)) ->/.exec(p)?.[1] ?? p);
}

export function renderMermaid(plan: Plan): string {
    const out: string[] = ["flowchart LR"];
    const hostIds = new Map(plan.hosts.map((h) => [h.name, id("host", h.name)]));
    const containerId = (c: PlanContainer) => id("c", `${c.host}_${c.name}`);
    const longRunning = plan.containers.filter((c) => !c.oneOff);

    // Sources: the whole internet, or each admin range.
    const sources = [...new Set(plan.rules.map((r) => (WORLD.has(r.source) ? "internet" : r.source)))].sort((a, b) => (a === "internet" ? -1 : b === "internet" ? 1 : 0));
    const admins = sources.filter((s) => s !== "internet");
    const sourceId = (s: string) => (WORLD.has(s) || s === "internet" ? "src_internet" : `src_admin_${admins.indexOf(s) + 1}`);
    for (const s of sources) out.push(`    ${sourceId(s)}((${label(s === "internet" ? "Internet" : `admin ${s}`)}))`);

    const net = plan.network;
    out.push(`    subgraph ${id("net", net?.name ?? "private")}[${label(net ? `private network ${net.name} ${net.ipRange}` : "private network", net?.subnet ? `subnet ${net.subnet}, not filtered` : "")}]`);
    for (const h of plan.hosts) {
        out.push(`        subgraph ${hostIds.get(h.name)}[${label(`${h.name} (${h.role}, ${h.serverType})`, `public ${h.publicIp}`, `private ${h.privateIp}`)}]`);
        const here = longRunning.filter((c) => c.host === h.name);
        if (here.length === 0) out.push(`            ${id("empty", h.name)}[${label("(no containers)")}]`);
        for (const c of here) {
            const pub = c.published.length > 0 ? `published ${c.published.map((p) => p.split(" -> ")[0]).join(", ")}` : "not published";
            const shape = c.mounts.some((m) => m.includes("host bind mount")) ? ["[(", ")]"] : ["[", "]"];
            out.push(`            ${containerId(c)}${shape[0]}${label(c.name, c.image + (c.command ? ` ${c.command}` : ""), pub)}${shape[1]}`);
        }
        out.push("        end");
    }
    out.push("    end");

    // Inbound: each firewall rule to the host, or to the container that publishes the port.
    const edges = new Set<string>();
    for (const r of plan.rules) {
        const src = sourceId(r.source);
        for (const h of r.hosts) {
            const target = longRunning.find((c) => c.host === h && ports(c).includes(r.port));
            const edge = `    ${src} -->|${label(`${r.port}/${r.protocol}`)}| ${target ? containerId(target) : hostIds.get(h)}`;
            edges.add(edge);
        }
    }
    // Inside: a published proxy reaches the unpublished app containers on its docker network;
    // app containers with a database URL reach the Postgres container on the private address.
    const db = longRunning.find((c) => c.envNames.includes("POSTGRES_PASSWORD") || /postgres/.test(c.image));
    for (const c of longRunning) {
        if (c === db) continue;
        const proxy = longRunning.find((p) => p !== c && p.host === c.host && p.published.length > 0 && p.network !== undefined && p.network === c.network);
        if (proxy && c.published.length === 0) edges.add(`    ${containerId(proxy)} --> ${containerId(c)}`);
        if (db && c.envNames.some((n) => n === "DATABASE_URL" || n === "QUEUE_DATABASE_URL")) {
            const dbAddr = db.published[0]?.split(" -> ")[0] ?? "5432";
            edges.add(`    ${containerId(c)} -.->|${label(`${dbAddr} private`)}| ${containerId(db)}`);
        }
    }
    out.push(...edges);
    return undisplay(out.join("\n"), plan.display) + "\n";
}
