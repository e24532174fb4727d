import * as crypto from "crypto";

/**
 * The environment of each app role, as the text of a `docker run --env-file` file.
 * Pure: the release writes it to the hosts by stdin, root-only.
 */
export interface AppEnvInput {
    /** Clear env from `app.env`, for both roles. */
    clear: Record<string, string>;
    /** `appSecrets`. */
    secrets: Record<string, string>;
    /** DATABASE_URL, QUEUE_DATABASE_URL, ... (secret: they hold the password). */
    databaseUrls: Record<string, string>;
    dbHost: string;
}

/** Never in any role's env: with any non-empty value it starts Solid Queue inside Puma. */
export const FORBIDDEN_WEB_ENV = "SOLID_QUEUE_IN_PUMA";

export type Role = "web" | "jobs";

/** The variables of a role, sorted, so the same config always gives the same file. */
export function roleEnv(role: Role, input: AppEnvInput, concurrency: number): Record<string, string> {
    const env: Record<string, string> = {
        ...input.clear,
        ...input.secrets,
        ...input.databaseUrls,
        DB_HOST: input.dbHost,
    };
    if (role === "jobs") {
        env.JOB_CONCURRENCY = String(concurrency);
    }
    // The config refuses it already; this keeps the guarantee where the file is made.
    delete env[FORBIDDEN_WEB_ENV];
    return Object.fromEntries(Object.keys(env).sort().map((k) => [k, env[k]]));
}

/** The names in a role's env whose values are secret: `appSecrets` and the database URLs. */
export function secretEnvNames(input: AppEnvInput): string[] {
    return [...new Set([...Object.keys(input.secrets), ...Object.keys(input.databaseUrls)])].sort();
}

/**
 * `NAME=value` lines for `docker run --env-file` (which takes values literally, one line each).
 * With `secretNames`, a first comment line `# secret: NAME ...` says which values are secret
 * (docker skips comment lines); lib/redact.sh hides those values in any output it shows.
 */
export function envFileText(env: Record<string, string>, secretNames: string[] = []): string {
    const header = secretNames.length === 0 ? "" : `# secret: ${secretNames.join(" ")}\n`;
    return header + Object.entries(env)
        .map(([name, value]) => {
            if (/[\r\n]/.test(value)) {
                throw new Error(`${name}: an env-file value must be one line (docker --env-file cannot carry newlines)`);
            }
            return `${name}=${value}\n`;
        })
        .join("");
}

/**
 * A short release id from what a container is made of (image, env, and container settings
 * docker cannot change on a running container, such as its stop timeout). A change of any
 * gives a new id, so a new container, started beside the old one and proven before the old one
 * stops; the same inputs give the same id, so nothing re-runs. One-way, and too short to say
 * anything about the secrets in the env.
 */
export function releaseId(image: string, envText: string, settings: Record<string, string | number> = {}): string {
    const extra = Object.keys(settings)
        .sort()
        .map((k) => `\n#${k}=${settings[k]}`)
        .join("");
    return crypto.createHash("sha256").update(`${image}\n${envText}${extra}`).digest("hex").slice(0, 10);
}
