import { stringify } from "yaml";

/** Root-only directory on every host for the role env files (written by the release). */
export const ENV_DIR = "/etc/shred-day";

/**
 * First-boot cloud-config for a server this program creates:
 * - Docker from Ubuntu's own packages (docker.io), enabled at boot;
 * - net.ipv4.ip_nonlocal_bind=1, so a container published on the private IP starts at
 *   boot even before the private interface is up (restart policies do not retry that);
 * - a root-only directory for env files;
 * - SSH by key only;
 * - the SSH host key the program made for this server (issue 11 point 2): the image's own keys
 *   are deleted and no other type generated, so the server answers with exactly the key the program
 *   pins. The text holds the private key: it is a secret (the servers pass it as such);
 * - containers cannot reach Hetzner's metadata service (169.254.169.254), which serves this
 *   user data, host key included, to anything on the server that asks: a REJECT rule in Docker's
 *   DOCKER-USER chain, put back each time dockerd starts (a systemd drop-in), so code running in
 *   the app cannot read the key and pose as the host.
 */
export const METADATA_BLOCK_DROP_IN = "/etc/systemd/system/docker.service.d/60-shred-day-metadata.conf";
const METADATA_RULE = "DOCKER-USER -d 169.254.169.254/32 -j REJECT";

export function cloudConfig(hostKey?: { privateKey: string; publicKey: string }): string {
    const doc = {
        package_update: true,
        packages: ["docker.io"],
        ssh_pwauth: false,
        ...(hostKey === undefined
            ? {}
            : {
                  ssh_deletekeys: true,
                  // ed25519 only: the one given below is kept (cloud-init generates a type only when its file is missing)
                  ssh_genkeytypes: ["ed25519"],
                  ssh_keys: { ed25519_private: hostKey.privateKey.endsWith("\n") ? hostKey.privateKey : `${hostKey.privateKey}\n`, ed25519_public: hostKey.publicKey },
              }),
        write_files: [
            {
                path: "/etc/sysctl.d/60-shred-day.conf",
                permissions: "0644",
                content: "net.ipv4.ip_nonlocal_bind = 1\n",
            },
            {
                path: METADATA_BLOCK_DROP_IN,
                permissions: "0644",
                content: `[Service]\nExecStartPost=/bin/sh -c 'iptables -C ${METADATA_RULE} 2>/dev/null || iptables -I ${METADATA_RULE}'\n`,
            },
            {
                path: "/etc/ssh/sshd_config.d/60-shred-day.conf",
                permissions: "0644",
                content: "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n",
            },
        ],
        runcmd: [
            ["sysctl", "--system"],
            ["install", "-d", "-m", "0700", "-o", "root", "-g", "root", ENV_DIR],
            // the package may have started dockerd before the drop-in was read: start it again with it
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "docker"],
            ["systemctl", "restart", "docker"],
            ["systemctl", "reload", "ssh"],
        ],
    };
    return `#cloud-config\n${stringify(doc)}`;
}
