/**
 * Taking over Kamal's Postgres accessory, on mocks: the order of the steps, what triggers
 * them, the kamal network alias, the labels our container is told apart by, and the way back.
 */
import { DUMP_DIR, KAMAL_NETWORK, POSTGRES_CONTAINER } from "../../components/postgresAccessory";
import { evaluate } from "../../scripts/evaluate";
import { productionConfig } from "../support/fixtures";

const CONTAINER = "docker:index/container:Container";

// six evaluations of the program in one test: minutes on a loaded 2-core machine
jest.setTimeout(240_000);

describe("postgres.adoptFrom: the takeover", () => {
    test("preflight -> takeover -> our container: it is created only after the old accessory is stopped", async () => {
        const e = await evaluate(productionConfig());
        const takeover = e.named("postgres-takeover");
        const [pg] = e.ofType(CONTAINER);
        expect(takeover.dependsOn).toEqual(["postgres-preflight"]);
        expect(pg.dependsOn).toEqual(["postgres-takeover", "postgres-password-file"]);
        expect(pg.deleteBeforeReplace).toBe(true);
        for (const p of [`ADOPT_FROM='shred-day-db'`, `DATA_DIR='/root/shred-day-db/data'`, `PG_MAJOR='16'`, `CONTAINER='${POSTGRES_CONTAINER}'`, `DUMP_DIR='${DUMP_DIR}'`, `NETWORK='kamal'`]) {
            expect(takeover.inputs.create).toContain(p);
        }
        expect(e.named("postgres-preflight").inputs.create).toContain("ADOPT_FROM='shred-day-db'");
        expect(e.named("postgres-preflight").inputs.create).toContain("INITIALIZE='false'");
    });

    test("ours joins the kamal network with the old accessory's name as alias, and carries the labels it is told apart by", async () => {
        const e = await evaluate(productionConfig());
        const [pg] = e.ofType(CONTAINER);
        expect(pg.inputs.networksAdvanced).toEqual([{ name: KAMAL_NETWORK, aliases: ["shred-day-db"] }]);
        expect(pg.inputs.labels).toEqual(
            expect.arrayContaining([
                { label: "shred-day.part", value: "postgres" },
                { label: "managed-by", value: "pulumi" },
            ]),
        );
        // not Kamal's accessory label: `kamal accessory remove` prunes by label service=<accessory service>
        expect(pg.inputs.labels).not.toContainEqual({ label: "service", value: "shred-day-db" });
        expect(pg.inputs.volumes).toEqual([
            { hostPath: "/root/shred-day-db/data", containerPath: "/var/lib/postgresql/data" },
            // the superuser's password file (issue 11 point 6)
            { hostPath: "/etc/shred-day/postgres-password", containerPath: "/run/secrets/postgres-password", readOnly: true },
        ]);
    });

    test("preflight and takeover run again whenever the container would be created anew (image, data dir, password, port)", async () => {
        const base = await evaluate(productionConfig());
        const triggersOf = (e: typeof base) => ["postgres-preflight", "postgres-takeover"].map((n) => JSON.stringify(e.named(n).inputs.triggers));
        const same = await evaluate(productionConfig());
        expect(triggersOf(same)).toEqual(triggersOf(base));
        const variants: ((c: Record<string, any>) => void)[] = [
            (c) => (c.postgres.image = "postgres:16.4"),
            (c) => (c.postgres.dataDir = "/srv/pg"),
            (c) => (c.postgresPassword = "another-password-0123456789"),
            (c) => (c.web.privateIp = "10.0.0.9"),
        ];
        for (const change of variants) {
            const c = productionConfig();
            change(c);
            const e = await evaluate(c);
            const [before, after] = [triggersOf(base), triggersOf(e)];
            expect(after[0]).not.toEqual(before[0]);
            expect(after[1]).not.toEqual(before[1]);
        }
        // the password is in the triggers only as a secret
        expect(base.named("postgres-preflight").secretPaths.some((p) => p.startsWith("triggers"))).toBe(true);
    });

    test("the image is pulled before the checks (their triggers need its id), never after the container", async () => {
        const e = await evaluate(productionConfig());
        expect(e.named("postgres-image").dependsOn).not.toContain("postgres-preflight");
        expect(e.named("postgres-preflight").inputs.triggers[1]).toBe("postgres:16@sha256:mock");
    });
});

describe("postgres.initialize: a brand-new cluster", () => {
    test("no takeover, no kamal network; the preflight is told it may initialise", async () => {
        const c = productionConfig();
        delete c.postgres.adoptFrom;
        c.postgres.initialize = true;
        c.postgres.dataDir = "/var/lib/shred-day/postgres";
        const e = await evaluate(c);
        expect(e.resources.some((r) => r.name === "postgres-takeover")).toBe(false);
        const [pg] = e.ofType(CONTAINER);
        expect(pg.inputs.networksAdvanced).toBeUndefined();
        expect(pg.dependsOn).toEqual(["postgres-preflight", "postgres-password-file"]);
        expect(e.named("postgres-preflight").inputs.create).toContain("INITIALIZE='true'");
    });
});

describe("postgres.handBack: the way back", () => {
    test("no container, no preflight, no takeover: this up removes ours from the state; the hand-back step hands the data back", async () => {
        const c = productionConfig();
        c.postgres.handBack = true;
        const e = await evaluate(c);
        expect(e.ofType(CONTAINER)).toEqual([]);
        for (const gone of ["postgres-preflight", "postgres-takeover", "postgres-ready", "postgres-databases", "postgres-docker", "postgres-image"]) {
            expect(e.resources.some((r) => r.name === gone)).toBe(false);
        }
        const handback = e.named("postgres-handback");
        for (const p of [`ADOPT_FROM='shred-day-db'`, `DATA_DIR='/root/shred-day-db/data'`, `CONTAINER='${POSTGRES_CONTAINER}'`]) {
            expect(handback.inputs.create).toContain(p);
        }
        // the release waits for it (and re-runs nothing by itself: its inputs are unchanged)
        expect(e.named("release-migrate").dependsOn).toContain("postgres-handback");
    });
});
