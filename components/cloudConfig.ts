import { stringify } from "yaml";

/** Root-only directory on every host for the role env files (written by the release). */
export const ENV_DIR = "/etc/shred-day";

/**
 * First-boot cloud-config for a server this program creates:
 * - Docker from Ubuntu's own packages (docker.io), enabled at boot;
 * - net.ipv4.ip_nonlocal_bind=1, so a container published on the private IP starts at
 *   boot even before the private interface is up (restart policies do not retry that);
 * - a root-only directory for env files;
 * - SSH by key only.
 */
export function cloudConfig(): string {
    const doc = {
        package_update: true,
        packages: ["docker.io"],
        ssh_pwauth: false,
        write_files: [
            {
                path: "/etc/sysctl.d/60-shred-day.conf",
                permissions: "0644",
                content: "net.ipv4.ip_nonlocal_bind = 1\n",
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
            ["systemctl", "enable", "--now", "docker"],
            ["systemctl", "reload", "ssh"],
        ],
    };
    return `#cloud-config\n${stringify(doc)}`;
}
