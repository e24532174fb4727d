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
