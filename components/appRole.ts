import * as crypto from "crypto";

/**
 * The app's Postgres role (issue 11 point 7): it owns the app's databases and is what the
 * app's URLs use, with no superuser rights; the superuser (postgres.user) stays for the
 * program's own steps (databases, readiness, the jobs proof, ops).
 *
 * Its password is derived from shred-day:postgresPassword, one way (HMAC-SHA256): nothing new
 * to set or keep, and what the app holds (its URLs) does not give the superuser's password.
 * Changing postgresPassword changes both.
 */
export function appRolePassword(superuserPassword: string): string {
    return crypto.createHmac("sha256", superuserPassword).update("shred-day app role password").digest("hex");
}
