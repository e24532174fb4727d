// shred-day on Hetzner Cloud. A deploy reads top to bottom:
// config (validated before anything is registered) -> the ShredDay stack -> outputs.
import { loadConfig } from "./stacks/config";
import { ShredDay } from "./stacks/shredDay";

const config = loadConfig();
const stack = new ShredDay("shred-day", config);

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
