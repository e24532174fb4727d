// shred-day on Hetzner Cloud. A deploy reads top to bottom:
// config (validated before anything is registered) -> the adoption check (read-only, before
// any change) -> the ShredDay stack -> outputs.
import * as pulumi from "@pulumi/pulumi";
import { verifyAdoption } from "./stacks/adoptionCheck";
import { loadConfig } from "./stacks/config";
import { ShredDay } from "./stacks/shredDay";

const config = loadConfig();
// Every adopted server is the host the config names and has no unmanaged firewall applied.
// The stack depends on it, so nothing is registered (imported, created, changed) before it passes.
const adoptionChecked = pulumi.output(verifyAdoption(config, (m) => pulumi.log.info(m)).then(() => true)).apply((): pulumi.Resource[] => []);
const stack = new ShredDay("shred-day", config, { dependsOn: adoptionChecked });

/** The private network's hcloud id. */
export const networkId = stack.network.networkId;
/** Every host with its public and private IP and the command to reach it. */
export const hosts = stack.hosts;
/** Per role and host, the command that follows its container logs (`kamal logs -r job`). */
export const logs = stack.release.logs;
/** Release ids: a new id means new containers for that role. */
export const webRelease = stack.release.webRelease;
export const jobsRelease = stack.release.jobsRelease;
/** Where the apps reach Postgres (the web host's private address). */
export const databaseHost = stack.postgres.host;
export const databasePort = stack.postgres.port;
export const databaseUrls = stack.postgres.urls;
