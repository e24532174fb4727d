/** Config values for tests: the production stack file with its placeholders and secrets filled in. */
import { readStackFile } from "../../stacks/stackFile";

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

type Raw = Record<string, any>;

/** The production config as a deep copy, ready to evaluate. */
export function productionConfig(): Raw {
    const { raw } = readStackFile("production");
    const c: Raw = JSON.parse(JSON.stringify(raw));
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
    return c;
}
