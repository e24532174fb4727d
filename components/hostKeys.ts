import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import * as crypto from "crypto";

/**
 * SSH host keys (issue 11 point 2). Whoever answers on a host's address receives every secret
 * a remote step sends on stdin, so every connection checks the host's key:
 * - a server this program creates gets a host key the program made (ED25519, @pulumi/tls), its
 *   private half a secret in the state, installed by cloud-init at first boot;
 * - an adopted server's public host key comes from the config (`web.hostKey`,
 *   `jobs.hosts[].hostKey`), read safely by the operator (docs/runbook-from-kamal.md).
 * Remote commands get it as `hostKey`; the local `ssh` (the Docker provider, ops) gets a
 * known_hosts file built from the stack with StrictHostKeyChecking=yes.
 */

/** An OpenSSH public key line: type, base64 blob, optional comment. */
export const PUBLIC_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) ([A-Za-z0-9+/]+={0,2})(?: [^\r\n]*)?$/;

/** A host's key pair, made by the program for a new server. */
export interface GeneratedHostKey {
    /** OpenSSH private key (secret). */
    privateKey: pulumi.Output<string>;
    /** `ssh-ed25519 AAAA...`. */
    publicKey: pulumi.Output<string>;
}

/** A new server's host key: ED25519, made once and kept in the state (the private half secret). */
export function newHostKey(name: string, parent: pulumi.Resource): GeneratedHostKey {
    const key = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, { parent, additionalSecretOutputs: ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"] });
    return { privateKey: pulumi.secret(key.privateKeyOpenssh), publicKey: key.publicKeyOpenssh.apply(publicKeyOnly) };
}

/** `type base64` of a public key line (no comment, no newline); throws on anything else. */
export function publicKeyOnly(line: string): string {
    const m = PUBLIC_KEY.exec(line.trim());
    if (!m) throw new Error(`not an OpenSSH public host key (such as "ssh-ed25519 AAAA..."): ${JSON.stringify(line.slice(0, 80))}`);
    return `${m[1]} ${m[2]}`;
}

/** The fingerprint `ssh-keygen -lf` and the server's console show: `SHA256:<base64, no padding>`. */
export function fingerprint(line: string): string {
    const blob = Buffer.from(publicKeyOnly(line).split(" ")[1], "base64");
    return `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** A known_hosts host pattern for an address and port (`[addr]:port` off port 22). */
export function knownHostsPattern(address: string, port?: number): string {
    return port === undefined || port === 22 ? address : `[${address}]:${port}`;
}

/** known_hosts text: one line per host, its addresses as patterns, its key. */
export function knownHostsText(hosts: { patterns: string[]; publicKey: string }[]): string {
    return hosts
        .filter((h) => h.patterns.length > 0)
        .map((h) => {
            for (const p of h.patterns) if (!/^(\[[0-9A-Za-z.:-]+\]:[0-9]+|[0-9A-Za-z.:-]+)$/.test(p)) throw new Error(`known_hosts: bad host pattern ${JSON.stringify(p)}`);
            return `${h.patterns.join(",")} ${publicKeyOnly(h.publicKey)}\n`;
        })
        .join("");
}

/** The ssh options that make the local `ssh` trust exactly the keys in `knownHostsFile`. */
export function strictHostKeyOptions(knownHostsFile: string): string[] {
    return ["-o", `UserKnownHostsFile=${knownHostsFile}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "UpdateHostKeys=no"];
}
