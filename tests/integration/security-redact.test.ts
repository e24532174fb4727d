/**
 * Issue 11 point 4: lib/redact.sh hides every secret of an env file in the forms an app may
 * print it (plain, URL-encoded, base64), and withholds the output when a secret is too short
 * to hide. Runs the real shell function with bash.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { SCRIPTS_DIR } from "../../components/remote";
import { envFileText } from "../../components/appEnv";

const LIB = path.join(SCRIPTS_DIR, "lib", "redact.sh");

let dir: string;
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "shred-day-redact-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function redact(envText: string, text: string): string {
    const envFile = path.join(dir, "env");
    fs.writeFileSync(envFile, envText, { mode: 0o600 });
    const r = spawnSync("bash", ["-c", `set -euo pipefail; source "$LIB"; redact "$TEXT"`], {
        env: { PATH: process.env.PATH, LIB, ENV_FILE: envFile, TEXT: text },
        encoding: "utf8",
        timeout: 30_000,
    });
    if (r.status !== 0) throw new Error(`redact failed (${r.status}): ${r.stderr}`);
    return r.stdout;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
/** Every form an app may print a secret in. */
function forms(secret: string): Record<string, string> {
    return {
        plain: secret,
        urlEncoded: encodeURIComponent(secret),
        urlEncodedLower: encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
        base64: b64(secret),
        // inside a longer base64 text (HTTP basic auth), at each of the 3 byte alignments
        basicAuth0: b64(`${secret}:x`),
        basicAuth1: b64(`u:${secret}`),
        basicAuth2: b64(`use:${secret}`),
    };
}

const SECRET_64 = "S3cr+t/with:special@chars%and=signs&more?yes#0123456789abcdefghi";

describe("lib/redact.sh", () => {
    for (const [name, secret] of [
        ["1-character", "q"],
        ["4-character", "pw42"],
    ] as const) {
        test(`a ${name} secret withholds the whole output (it cannot be hidden inside it) and names the variable`, () => {
            const env = envFileText({ RAILS_LOG_LEVEL: "info", SHORT_SECRET: secret, RAILS_MASTER_KEY: SECRET_64 }, ["RAILS_MASTER_KEY", "SHORT_SECRET"]);
            const text = Object.values(forms(secret))
                .map((f) => `the app printed ${f} here`)
                .join("\n");
            const out = redact(env, `APP-OUTPUT-MARKER\n${text}`);
            expect(out).toContain("output withheld");
            expect(out).toContain("SHORT_SECRET");
            expect(out).not.toContain("APP-OUTPUT-MARKER");
            expect(out).not.toContain("the app printed");
            expect(out).not.toContain(SECRET_64);
        });
    }

    test("a 64-character secret is hidden in its plain, URL-encoded and base64 forms; the rest of the output stays", () => {
        expect(SECRET_64).toHaveLength(64);
        const env = envFileText({ RAILS_LOG_LEVEL: "info", RAILS_MASTER_KEY: SECRET_64 }, ["RAILS_MASTER_KEY"]);
        const f = forms(SECRET_64);
        const text = Object.entries(f)
            .map(([k, v]) => `${k}: <${v}>`)
            .join("\n");
        const out = redact(env, text);
        for (const [k, v] of Object.entries(f)) {
            // what is left of a form must not hold a run of 8 characters of it
            for (let i = 0; i + 8 <= v.length; i++) expect({ form: k, left: out.includes(v.slice(i, i + 8)) ? v.slice(i, i + 8) : "" }).toEqual({ form: k, left: "" });
        }
        expect(out).toContain("plain: <[value of RAILS_MASTER_KEY]>");
        expect(out).toContain("urlEncoded: <[value of RAILS_MASTER_KEY]>");
        expect(out).toContain("base64: <[value of RAILS_MASTER_KEY]");
        expect(out.split("\n")).toHaveLength(Object.keys(f).length + 1);
    });

    test("the password inside a database URL is hidden decoded, encoded and in base64 too", () => {
        const password = "pw/with+plus@at:colon0123456789";
        const url = `postgres://shred_day:${encodeURIComponent(password)}@10.0.0.3:5432/shred_day_production`;
        const env = envFileText({ DATABASE_URL: url, DB_HOST: "10.0.0.3" }, ["DATABASE_URL"]);
        const out = redact(env, `connecting to ${url}\nauth failed for ${password}\nencoded ${encodeURIComponent(password)}\nb64 ${b64(password)}\nhost 10.0.0.3`);
        expect(out).not.toContain(password);
        expect(out).not.toContain(encodeURIComponent(password));
        expect(out).not.toContain(b64(password).slice(0, 12));
        expect(out).toContain("connecting to [value of DATABASE_URL]");
        expect(out).toContain("host 10.0.0.3");
    });

    test("clear values (not on the `# secret:` line) are shown, however short", () => {
        const env = envFileText({ WEB_CONCURRENCY: "2", RAILS_ENV: "production", RAILS_MASTER_KEY: SECRET_64 }, ["RAILS_MASTER_KEY"]);
        expect(redact(env, "production with 2 workers")).toBe("production with 2 workers\n");
    });

    test("a file without a `# secret:` line (an older one) has every value of 8 characters or more treated as secret", () => {
        const out = redact("TOKEN=abcdefghijklmnop\nOTHER=qrstuvwxyz123456\nWEB_CONCURRENCY=2\n", "abcdefghijklmnop qrstuvwxyz123456 2");
        expect(out).toBe("[value of TOKEN] [value of OTHER] 2\n");
    });
});
