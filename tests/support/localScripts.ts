/**
 * Scripts run on this machine against a private dockerd that plays the web host (its private
 * address on the daemon's own namespace), as the command provider runs them:
 * `NAME='v' ... bash -c '<script>' name`, with `docker` on PATH being Debian's client.
 * For tests that need the engine but not the sshd of startRemoteHost (the adoption tests).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptCommand, ScriptParams } from "../../components/remote";
import { DOCKER_CLI, startDocker, TestDocker } from "./docker";
import { execLocal, ExecResult } from "./integration";

export interface LocalScriptHost {
    docker: TestDocker;
    /** The test Postgres image's reference and its major version. */
    pgImage: string;
    major: number;
    /** A private scratch dir, removed by stop(). */
    scratch: string;
    run(name: string, params: ScriptParams, opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<ExecResult>;
    stop(): Promise<void>;
}

export async function startLocalScriptHost(privateIp: string, prefix: string): Promise<LocalScriptHost> {
    const docker = await startDocker({ addresses: [`${privateIp}/32`] });
    const pgImage = await docker.image("postgres");
    const major = Number(/:(\d+)/.exec(pgImage)![1]);
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `shred-day-${prefix}-`));
    const bin = path.join(scratch, "bin");
    fs.mkdirSync(bin);
    fs.symlinkSync(DOCKER_CLI, path.join(bin, "docker"));
    return {
        docker,
        pgImage,
        major,
        scratch,
        run: (name, params, opts = {}) =>
            execLocal("bash", ["-c", scriptCommand(name, params)], {
                env: { ...process.env, ...(opts.env ?? docker.env), PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: scratch },
                timeoutMs: opts.timeoutMs ?? 60_000,
            }),
        stop: async () => {
            await docker.stop();
            fs.rmSync(scratch, { recursive: true, force: true });
        },
    };
}
