import * as pulumi from "@pulumi/pulumi";
import { connectionTo, remoteStep, SshAccess } from "./remote";

/**
 * The first remote step on a host: wait for cloud-init (the first SSH to a new server races
 * its boot), check Docker, and make sure a container published on the private IP can start
 * before the private interface is up (net.ipv4.ip_nonlocal_bind=1; the adopted web host
 * never ran our cloud-config). Everything else on the host comes after it.
 */
export function hostReady(
    name: string,
    args: { publicIp: pulumi.Input<string>; ssh: SshAccess; hostKey: pulumi.Input<string>; dependsOn: pulumi.Resource[] },
    parent: pulumi.Resource,
) {
    return remoteStep(`host-ready-${name}`, { connection: connectionTo(args.publicIp, args.ssh, args.hostKey), script: "host-ready", params: {} }, { parent, dependsOn: args.dependsOn });
}
