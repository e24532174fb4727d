import { appRolePassword } from "../../components/appRole";
import { databaseUrl, POSTGRES_CONTAINER } from "../../components/postgresAccessory";
import { productionConfig, SECRETS } from "../support/fixtures";
import { evaluate, valueOf } from "../../scripts/evaluate";

const CONTAINER = "docker:index/container:Container";

describe("Postgres accessory on the web host", () => {
    test("publishes 5432 on the private address only, restarts unless stopped, health-checks the private address", async () => {
        const e = await evaluate(productionConfig());
        const [pg] = e.ofType(CONTAINER);
        expect(pg.inputs.name).toBe(POSTGRES_CONTAINER);
        expect(pg.inputs.ports).toEqual([{ internal: 5432, external: 5432, ip: "10.0.0.3", protocol: "tcp" }]);
        expect(pg.inputs.restart).toBe("unless-stopped");
        expect(pg.inputs.healthcheck.tests).toEqual(["CMD", "pg_isready", "-h", "10.0.0.3", "-U", "shred_day"]);
        expect(pg.inputs.image).toBe("postgres:16@sha256:mock");
    });

    test("talks to the web host's Docker over SSH with a host-key policy", async () => {
        const e = await evaluate(productionConfig());
        const [provider] = e.ofType("pulumi:providers:docker");
        expect(provider.inputs.host).toMatch(/^ssh:\/\/root@192\.0\.2\.\d+$/);
        const opts = JSON.parse(provider.inputs.sshOpts);
        // issue 11 point 2: only the stack's host key is trusted, never a new one on first sight
        expect(opts).toEqual(expect.arrayContaining(["-i", "-o", "StrictHostKeyChecking=yes"]));
        expect(opts).not.toContain("StrictHostKeyChecking=accept-new");
        expect(provider.inputs.sshOpts).not.toContain("SSH-SECRET-KEY-MATERIAL");
        // A PR preview runs where SSH is closed: the provider must not dial the host to configure.
        expect(String(provider.inputs.disableDockerDaemonCheck)).toBe("true");
    });

    test.each([
        ["postgres:16", "/var/lib/postgresql/data"],
        ["postgres:17.2", "/var/lib/postgresql/data"],
        ["postgres:18", "/var/lib/postgresql"],
    ])("%s mounts postgres.dataDir at %s; the data survives the container", async (image, mountPath) => {
        const c = productionConfig();
        c.postgres.image = image;
        const e = await evaluate(c);
        const [pg] = e.ofType(CONTAINER);
        expect(pg.inputs.volumes).toEqual([
            { hostPath: "/root/shred-day-db/data", containerPath: mountPath },
            { hostPath: "/etc/shred-day/postgres-password", containerPath: "/run/secrets/postgres-password", readOnly: true },
        ]);
        expect(pg.inputs.removeVolumes).toBe(false);
    });

    test("a fixed name and port: the old container is removed before its replacement starts", async () => {
        const e = await evaluate(productionConfig());
        const [pg] = e.ofType(CONTAINER);
        expect(pg.deleteBeforeReplace).toBe(true);
        // ...and only after the preflight has refused a major-version mismatch or a port holder.
        // (production takes Kamal's accessory over: the takeover runs after the preflight, see adoption-postgres.test.ts)
        expect(pg.dependsOn).toContain("postgres-takeover");
        expect(e.named("postgres-takeover").dependsOn).toContain("postgres-preflight");
        expect(e.named("postgres-preflight").inputs.create).toContain("PG_MAJOR='16'");
    });

    test("the password is secret everywhere it appears, and never in a command text", async () => {
        const e = await evaluate(productionConfig());
        const [pg] = e.ofType(CONTAINER);
        // issue 11 point 6: the container's env names a root-only file, never the password
        expect(pg.inputs.envs).toContain("POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password");
        expect(JSON.stringify(pg.inputs)).not.toContain(SECRETS.postgresPassword);
        const file = e.named("postgres-password-file");
        expect(file.secretPaths).toContain("stdin");
        expect(file.inputs.stdin).toBe(`${SECRETS.postgresPassword}\n`);
        expect(pg.dependsOn).toContain("postgres-password-file");
        const dbs = e.named("postgres-databases");
        expect(dbs.secretPaths).toContain("stdin");
        expect(dbs.inputs.stdin).toBe(`${SECRETS.postgresPassword}\n${appRolePassword(SECRETS.postgresPassword)}\n`);
        for (const r of e.ofType("command:remote:Command")) {
            expect(r.inputs.create).not.toContain(SECRETS.postgresPassword);
            expect(r.inputs.environment).toBeUndefined();
            expect(r.inputs.addPreviousOutputInEnv).toBe(false);
        }
        const urls = e.stack.postgres.urls;
        expect(pulumiIsSecret(urls)).resolves.toBe(true);
        // issue 11 point 7: the app connects as its own role
        const app = `shred_day_app:${appRolePassword(SECRETS.postgresPassword)}`;
        expect(await valueOf(urls)).toEqual({
            DATABASE_URL: `postgres://${app}@10.0.0.3:5432/shred_day_production`,
            QUEUE_DATABASE_URL: `postgres://${app}@10.0.0.3:5432/shred_day_production_queue`,
            CACHE_DATABASE_URL: `postgres://${app}@10.0.0.3:5432/shred_day_production_cache`,
            CABLE_DATABASE_URL: `postgres://${app}@10.0.0.3:5432/shred_day_production_cable`,
        });
    });

    test("a password with URL-special characters is encoded in the URLs", async () => {
        expect(databaseUrl("shred_day_app", "p@ss/word:with#chars-0123", "10.0.0.3", "shred_day_production")).toBe(
            "postgres://shred_day_app:p%40ss%2Fword%3Awith%23chars-0123@10.0.0.3:5432/shred_day_production",
        );
    });

    test("databases are created after readiness, which waits for the container; both re-run for a new container", async () => {
        const e = await evaluate(productionConfig());
        expect(e.named("postgres-ready").dependsOn).toContain("postgres-container");
        expect(e.named("postgres-databases").dependsOn).toContain("postgres-ready");
        expect(e.named("postgres-databases").inputs.create).toContain(
            "DATABASES='shred_day_production shred_day_production_queue shred_day_production_cache shred_day_production_cable'",
        );
        expect(e.named("postgres-ready").inputs.triggers).toHaveLength(1);
    });
});

function pulumiIsSecret(o: any): Promise<boolean> {
    return o.isSecret as Promise<boolean>;
}
