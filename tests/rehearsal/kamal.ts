/**
 * Today's setup on the lab's web host, as Kamal 2 left it (the scenario's starting point, made
 * with the docker CLI on the host: this is the world before the program, not the program):
 *
 *   - the `kamal` network;
 *   - the Postgres accessory `shred-day-db` (Kamal names accessories <service>-<name>), published
 *     on 127.0.0.1:5432, its data in /root/shred-day-db/data (Kamal's `directories: data:...`
 *     lands under the deploy user's home), label service=shred-day-db;
 *   - the app container `shred-day-web-<version>` with SOLID_QUEUE_IN_PUMA (Solid Queue's
 *     supervisor inside the web container: the stand-in runs bin/jobs beside its web process,
 *     which is what the Puma plugin amounts to), hostname `<host>-<12 hex>` as Kamal 2 sets it,
 *     labels service=shred-day role=web destination="";
 *   - kamal-proxy routing the app host to it.
 *   - rows: the primary database has a `posts` table, the queue database Solid Queue's tables
 *     (loaded by the app's own `bin/rails db:prepare`, as Kamal's boot did) and finished jobs.
 * The jobs hosts are bare (Docker installed, nothing running).
 *
 * Kamal source checked: basecamp/kamal lib/kamal/commands/app.rb (run: --name, --hostname
 * "#{host}-#{SecureRandom.hex(6)}", labels), lib/kamal/configuration/accessory.rb (service_name
 * "#{service}-#{name}", directories under the host's path), lib/kamal/commands/proxy.rb.
 */
import { SECRETS } from "../support/fixtures";
import { APP_REPOSITORY, PROXY_IMAGE, POSTGRES_IMAGE } from "./config";
import { LabHost } from "./lab";

export const KAMAL_DB = "shred-day-db";
export const KAMAL_DATA_DIR = "/root/shred-day-db/data";
export const KAMAL_WEB = "shred-day-web-kamal0123456789";
export const KAMAL_TAG = "kamal";
export const POSTS = 250;

export interface KamalSetup {
    /** The Kamal-era web container's hostname. */
    hostname: string;
}

async function ok(h: LabHost, args: string[], timeoutMs = 120_000): Promise<string> {
    const r = await h.docker(args, { timeoutMs });
    if (r.code !== 0) throw new Error(`docker ${args.join(" ")} on ${h.name} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return r.stdout.trim();
}

export async function kamalSetup(web: LabHost, appHost: string): Promise<KamalSetup> {
    const pw = SECRETS.postgresPassword;
    const user = "shred_day";
    const url = (db: string) => `postgres://${user}:${pw}@${KAMAL_DB}:5432/${db}`;
    const image = `${APP_REPOSITORY}:${KAMAL_TAG}`;
    await ok(web, ["network", "create", "kamal"]);
    await web.exec(`install -d -m 0700 ${KAMAL_DATA_DIR}`);
    await ok(web, [
        "run", "--detach", "--name", KAMAL_DB, "--network", "kamal", "--restart", "unless-stopped",
        "--publish", "127.0.0.1:5432:5432", "--volume", `${KAMAL_DATA_DIR}:/var/lib/postgresql/data`,
        "--env", `POSTGRES_USER=${user}`, "--env", `POSTGRES_PASSWORD=${pw}`, "--env", "POSTGRES_DB=shred_day_production",
        "--label", `service=${KAMAL_DB}`, POSTGRES_IMAGE,
    ]);
    // Ready (bounded): TCP on the container's own address, as the app connects.
    let ready = false;
    for (let i = 0; i < 120 && !ready; i++) {
        ready = (await web.docker(["exec", KAMAL_DB, "pg_isready", "-h", "127.0.0.1", "-U", user])).code === 0;
        if (!ready) await new Promise((r) => setTimeout(r, 500));
    }
    if (!ready) throw new Error(`${KAMAL_DB} did not get ready within 60 s`);
    const env = ["--env", `DATABASE_URL=${url("shred_day_production")}`, "--env", `QUEUE_DATABASE_URL=${url("shred_day_production_queue")}`];
    await ok(web, ["run", "--rm", "--network", "kamal", ...env, image, "bin/rails", "db:prepare"]);
    const psql = (db: string, sql: string) => ok(web, ["exec", "-i", KAMAL_DB, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", db, "-c", sql]);
    await psql("shred_day_production", `CREATE TABLE posts (id bigserial PRIMARY KEY, title text NOT NULL); INSERT INTO posts (title) SELECT 'post ' || g FROM generate_series(1, ${POSTS}) g;`);

    const hostname = `${web.publicIp}-0123456789ab`;
    await ok(web, [
        "run", "--detach", "--name", KAMAL_WEB, "--hostname", hostname, "--network", "kamal", "--restart", "unless-stopped",
        "--label", "service=shred-day", "--label", "role=web", "--label", "destination=",
        ...env, "--env", "SOLID_QUEUE_IN_PUMA=true", "--env", "JOB_CONCURRENCY=1", "--env", `STANDIN_RELEASE=${KAMAL_TAG}`,
        // Puma with the Solid Queue plugin: one container, both processes, both stopped on TERM (the plugin stops the supervisor with Puma).
        image, "bash", "-c", 'bin/jobs & j=$!; bin/rails server & w=$!; trap "kill -TERM $j $w; wait" TERM INT; wait',
    ]);
    await ok(web, [
        "run", "--detach", "--name", "kamal-proxy", "--network", "kamal", "--restart", "unless-stopped",
        "--publish", "80:80", "--publish", "443:443", "--volume", "kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy",
        "--label", "service=kamal-proxy", PROXY_IMAGE,
    ]);
    let deployed = "";
    for (let i = 0; i < 30; i++) {
        const r = await web.docker(["exec", "kamal-proxy", "kamal-proxy", "deploy", "shred-day-web", "--target", `${KAMAL_WEB}:80`, "--host", appHost, "--tls", "--health-check-path", "/up", "--deploy-timeout", "30s"], { timeoutMs: 60_000 });
        if (r.code === 0) {
            deployed = "yes";
            break;
        }
        deployed = r.stderr;
        await new Promise((res) => setTimeout(res, 1000));
    }
    if (deployed !== "yes") throw new Error(`kamal-proxy deploy of ${KAMAL_WEB} failed: ${deployed}`);
    return { hostname };
}
