/**
 * Config values for tests. They never read the user's Pulumi.production.yaml: the stack file as
 * shipped (placeholders and all) is copied here, so the suite passes whatever the user has put
 * in theirs. The one check of the real file says so in its name (tests/unit/program-user-stack-file.test.ts).
 */
import { MAX_CONNECTIONS_SETTING_DEFAULT, neededMaxConnections } from "../../components/postgresConnections";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { ConfigError, NAMESPACE, parseConfig } from "../../stacks/config";

export const SECRETS = {
    postgresPassword: "pg-SECRET-0123456789abcdef",
    registryPassword: "ghp_REGISTRYSECRET0123456789",
    appSecrets: { RAILS_MASTER_KEY: "master-SECRET-key-0123456789abcdef", AWS_SECRET_ACCESS_KEY: "aws-SECRET-0123456789" },
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nSSH-SECRET-KEY-MATERIAL\n-----END OPENSSH PRIVATE KEY-----\n",
};

/** Every secret value a test must never find in plain text. */
export const SECRET_VALUES: string[] = [
    SECRETS.postgresPassword,
    SECRETS.registryPassword,
    ...Object.values(SECRETS.appSecrets),
    "SSH-SECRET-KEY-MATERIAL",
];

/** Public SSH host keys of the adopted web and jobs servers (test keys, made with ssh-keygen). */
export const HOST_KEYS = {
    web: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEUeXl5vXMhMvPuAXMXx/f55Y85IA4nyKJ8b84fr0OPx",
    jobs: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGl8Hu2Iql4XBaYvqr18NUuvD94AY7h4QS8djuxOvpvh",
};
/**
 * Pulumi.production.yaml as the repository ships it: CHANGE-ME placeholders, no secrets, one jobs
 * host. A copy, so the user's edits never change a test: when you change the shipped file, copy it here too.
 */
export const SHIPPED_STACK_YAML = `# The production stack: shred-day on Hetzner Cloud.
# Values starting with CHANGE-ME must be filled in before \`pulumi up\` (the program refuses them).
# Secrets are not in this file until you set them (README, "Secrets"):
#   pulumi config set --secret hcloud:token                           (or export HCLOUD_TOKEN)
#   pulumi config set --secret shred-day:postgresPassword             (the password the app uses today)
#   pulumi config set --secret shred-day:registryPassword             (a token that can pull app.image)
#   pulumi config set --secret --path shred-day:appSecrets.RAILS_MASTER_KEY
#   pulumi config set --secret shred-day:sshPrivateKey < key          (optional; else the SSH agent)
config:
  shred-day:location: fsn1
  shred-day:network:
    name: shred-day
    ipRange: 10.0.0.0/16
    subnetRange: 10.0.0.0/24
    zone: eu-central
    importId: CHANGE-ME     # the existing network's id (\`hcloud network list\`): it, its subnet and the web server's attachment are adopted
  shred-day:ssh:
    user: root
    keyNames:
      - shred-day-deploy
    adminCidrs:
      - CHANGE-ME/32        # your office / VPN address, e.g. 203.0.113.7/32
  shred-day:web:
    name: shred-day-web
    importId: CHANGE-ME     # hcloud id of the existing server: \`hcloud server list -o columns=id,name,ipv4\`
    publicIp: 91.99.62.190
    hostKey: CHANGE-ME      # its public SSH host key, read on the Hetzner console: cat /etc/ssh/ssh_host_ed25519_key.pub (docs/runbook-from-kamal.md, "Host keys")
    privateIp: 10.0.0.3
    serverType: cpx21
    image: ubuntu-24.04
    appHost: shred.day
    appPort: 80             # Kamal's proxy.app_port (80 unless config/deploy.yml says otherwise)
    env:                    # web role only
      WEB_CONCURRENCY: "2"
  shred-day:jobs:
    serverType: cpx21
    image: ubuntu-24.04
    concurrency: 2
    hosts:
      - name: shred-day-jobs-ubuntu
        privateIp: 10.0.0.2
        importId: CHANGE-ME   # it exists (Kamal deploys to it): \`hcloud server list -o columns=id,name,ipv4\`
        publicIp: CHANGE-ME   # its public IPv4 (same list): the program checks that importId is this host
        hostKey: CHANGE-ME    # its public SSH host key, read on its console (as web.hostKey)
  shred-day:postgres:
    image: postgres:16
    adoptFrom: CHANGE-ME    # Kamal's accessory container on the web host: \`docker ps --format '{{.Names}} {{.Image}}'\`
    dataDir: CHANGE-ME      # its cluster's host path: \`docker inspect -f '{{range .Mounts}}{{.Type}} {{.Source}} -> {{.Destination}}{{"\\n"}}{{end}}' <adoptFrom>\`
    user: shred_day
    databases:
      - shred_day_production
      - shred_day_production_queue
      - shred_day_production_cache
      - shred_day_production_cable
  shred-day:app:
    image: ghcr.io/CHANGE-ME/shred-day:CHANGE-ME      # the image Kamal builds; a deploy = new tag + \`pulumi up\`
    registry:
      server: ghcr.io
      username: CHANGE-ME
    env:                    # both roles
      RAILS_LOG_TO_STDOUT: "1"
    activeStorageService: hetzner
`;

type Raw = Record<string, any>;

/** The `shred-day:` values of a stack file's text, keys without the namespace. */
export function rawOfStackYaml(text: string): Raw {
    const doc = parse(text) ?? {};
    const raw: Raw = {};
    for (const [k, v] of Object.entries<unknown>(doc.config ?? {})) {
        if (k.startsWith(`${NAMESPACE}:`)) raw[k.slice(NAMESPACE.length + 1)] = v;
    }
    return raw;
}

/** The shipped stack file's values, placeholders still in (a deep copy). */
export function shippedConfig(): Raw {
    return rawOfStackYaml(SHIPPED_STACK_YAML);
}

/** The production config as a deep copy, placeholders and secrets filled in, ready to evaluate. */
export function productionConfig(): Raw {
    const c = shippedConfig();
    c.ssh.adminCidrs = ["203.0.113.7/32"];
    c.web.importId = "12345678";
    c.network.importId = "4711";
    c.jobs.hosts[0].importId = "23456789";
    c.jobs.hosts[0].publicIp = "203.0.113.20";
    // public host keys of the adopted servers (issue 11 point 2), as read from their consoles
    c.web.hostKey = HOST_KEYS.web;
    c.jobs.hosts[0].hostKey = HOST_KEYS.jobs;
    c.postgres.adoptFrom = "shred-day-db";
    c.postgres.dataDir = "/root/shred-day-db/data";
    c.app.image = "ghcr.io/shred-day/shred-day:v1";
    c.app.registry.username = "shred-day";
    return { ...c, ...JSON.parse(JSON.stringify(SECRETS)) };
}

/** Production config with `n` jobs hosts at 10.0.0.2, 10.0.0.4, 10.0.0.5, ... (10.0.0.3 is the web host). */
export function withJobsHosts(n: number, base: Raw = productionConfig()): Raw {
    const c: Raw = JSON.parse(JSON.stringify(base));
    const ips = [2, ...Array.from({ length: 250 }, (_, i) => i + 4)];
    c.jobs.hosts = Array.from({ length: n }, (_, i) => ({
        name: i === 0 ? "shred-day-jobs-ubuntu" : `shred-day-jobs-${i + 1}`,
        privateIp: `10.0.0.${ips[i]}`,
        // the first host exists today and is adopted, like in productionConfig()
        ...(i === 0 && base.jobs.hosts[0]?.importId !== undefined
            ? { importId: base.jobs.hosts[0].importId, publicIp: base.jobs.hosts[0].publicIp, hostKey: base.jobs.hosts[0].hostKey }
            : {}),
    }));
    // An operator who adds hosts raises postgres.maxConnections as the config's refusal says (never lowers it).
    c.postgres.maxConnections = Math.max(c.postgres.maxConnections ?? MAX_CONNECTIONS_SETTING_DEFAULT, neededMaxConnections(c));
    return c;
}

/**
 * A private directory holding `Pulumi.<stack>.yaml` files with the given texts (default: the
 * shipped production file), for the tools that read a stack file (plan, ops). Remove it with
 * `removeStackDir` in an afterAll.
 */
export function stackDir(files: Record<string, string> = { production: SHIPPED_STACK_YAML }): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-stack-"));
    for (const [stack, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
    return dir;
}

export function removeStackDir(dir: string): void {
    if (dir.startsWith(os.tmpdir()) && path.basename(dir).startsWith("shred-day-stack-")) fs.rmSync(dir, { recursive: true, force: true });
}

/** The ConfigError parseConfig gives for the production fixture changed by `edit`; throws if it is accepted. */
export function refusedConfig(edit: (c: Raw) => void): ConfigError {
    const c = productionConfig();
    edit(c);
    try {
        parseConfig(c);
    } catch (e) {
        if (e instanceof ConfigError) return e;
        throw e;
    }
    throw new Error("config was accepted");
}
