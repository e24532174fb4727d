/**
 * The rehearsal's stack config: the production stack file (through the test fixtures), two jobs
 * hosts, the test secrets, the lab operator's key as shred-day:sshPrivateKey, and the images the
 * lab hosts have (tests/support's stand-ins, tagged as the config names them).
 */
import * as fs from "fs";
import { withJobsHosts } from "../support/fixtures";

export const APP_REPOSITORY = "ghcr.io/shred-day/shred-day";
/** Postgres from Debian's postgresql-15 (tests/support/images/postgres). */
export const POSTGRES_IMAGE = "postgres:15";
export const PROXY_IMAGE = "basecamp/kamal-proxy:v0.9.0";

export type Raw = Record<string, any>;

/** The rehearsal config for app image tag `tag`; `operatorKeyFile` is the lab's client key. */
export function rehearsalConfig(opts: { tag: string; operatorKeyFile?: string; concurrency?: number }): Raw {
    const c = withJobsHosts(2);
    c.app.image = `${APP_REPOSITORY}:${opts.tag}`;
    c.app.proxyImage = PROXY_IMAGE;
    c.postgres.image = POSTGRES_IMAGE;
    // The stand-in's heartbeat (Solid Queue's process_heartbeat_interval, 60 s by default) every 5 s, and the
    // program told so (jobs.heartbeatSeconds), as an operator of an app with that setting would: the proof waits
    // for one heartbeat, so each release in the rehearsal takes ~10 s there instead of ~65 s. The stand-in boots
    // in well under a second, so the proof gives up after 30 s (jobs.proofTimeout) rather than 360 s: the fault
    // scenarios (workers that crash-loop or never register) fail in 30 s.
    c.app.env = { ...c.app.env, STANDIN_HEARTBEAT_SECONDS: "5" };
    c.jobs.heartbeatSeconds = 5;
    c.jobs.proofTimeout = 30;
    // Every app tag the scenarios use is on every host from the start, as in a registry; the lab has no registry,
    // so a tag image-pull prunes (app.keepImages, by creation time: the lab's tags were built within a second, so
    // which one each host prunes is arbitrary) could never come back. Keep them all.
    c.app.keepImages = 10;
    // max_connections is set, never derived (stacks/config.ts): the scenarios go up to jobs.concurrency 3 on two
    // jobs hosts (218 connections at the peak), so the stack sets room for it from the first up, as an operator
    // would, and a concurrency change leaves Postgres alone.
    c.postgres.maxConnections = 300;
    if (opts.concurrency !== undefined) c.jobs.concurrency = opts.concurrency;
    if (opts.operatorKeyFile) c.sshPrivateKey = fs.readFileSync(opts.operatorKeyFile, "utf8");
    else delete c.sshPrivateKey;
    return c;
}
