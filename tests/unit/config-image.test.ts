/**
 * Image references by the Docker reference grammar (stacks/imageReference.ts, from
 * distribution/reference), as the config applies it to app.image, app.proxyImage and
 * postgres.image, and the registry values that reach `docker login` (issue 14.5, issue 11.8).
 */
import { ConfigError, parseConfig } from "../../stacks/config";
import { isRegistryHost, parseImageReference } from "../../stacks/imageReference";
import { productionConfig } from "../support/fixtures";

type Raw = Record<string, any>;
const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

function outcome(edit: (c: Raw) => void): string {
    const c = productionConfig();
    edit(c);
    try {
        parseConfig(c);
        return "accepted";
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems.join("\n");
    }
}

describe("the grammar", () => {
    test.each([
        ["ghcr.io/shred-day/shred-day:v1", { domain: "ghcr.io", path: "shred-day/shred-day", tag: "v1" }],
        ["registry.example.com:5000/shred-day:v1", { domain: "registry.example.com:5000", path: "shred-day", tag: "v1" }],
        [`ghcr.io/o/shred-day@${DIGEST}`, { domain: "ghcr.io", path: "o/shred-day", digest: DIGEST }],
        [`postgres:16@${DIGEST}`, { domain: undefined, path: "postgres", tag: "16", digest: DIGEST }],
        ["postgis/postgis:16-3.4", { domain: undefined, path: "postgis/postgis", tag: "16-3.4" }],
        ["localhost:5000/a__b/c--d:x_1", { domain: "localhost:5000", path: "a__b/c--d", tag: "x_1" }],
        ["[2001:db8::1]:5000/app:v1", { domain: "[2001:db8::1]:5000", path: "app", tag: "v1" }],
        ["basecamp/kamal-proxy:v0.9.0", { domain: undefined, path: "basecamp/kamal-proxy", tag: "v0.9.0" }],
    ])("%s parses", (text, parts) => {
        expect(parseImageReference(text)).toEqual({ text, ...parts });
    });

    test.each([
        ["-oProxyCommand=x", "starts with '-'"],
        ["ghcr.io/Owner/shred-day:v1", "the repository name must be lowercase"],
        ["ghcr.io/o/shred-day@sha256:abc", "a digest is @sha256: followed by 64 hex digits"],
        ["ghcr.io/o/shred-day:v1 extra", "contains whitespace"],
        ["ghcr.io/o/shred..day:v1", "is not a valid image reference"],
        ["ghcr.io/o/shred-day:-v1", "is not a valid image reference"],
        ["", "is empty"],
    ])("%s is refused: %s", (text, why) => {
        const r = parseImageReference(text);
        expect("error" in r && r.error).toContain(why);
    });

    test("a long hostile value is refused at once (no exponential backtracking)", () => {
        const hostile = [`${"a".repeat(5000)}!`, `${"a-".repeat(200)}!`, `${"a.".repeat(200)}/${"b_".repeat(100)}:`, `${"a".repeat(500)}`];
        const start = Date.now();
        for (const h of hostile) parseImageReference(h);
        expect(Date.now() - start).toBeLessThan(200);
        expect(parseImageReference(`${"a".repeat(300)}:v1`)).toEqual({ error: "is not a valid image reference: the repository name is longer than 255 characters" });
    });

    test("registry hosts: a domain or [IPv6], an optional port; never an option", () => {
        for (const ok of ["ghcr.io", "registry.example.com:5000", "localhost:5000", "[::1]:5000"]) expect([ok, isRegistryHost(ok)]).toEqual([ok, true]);
        for (const bad of ["--insecure", "-u", "ghcr.io/owner", "ghcr.io:port", "a b", ""]) expect([bad, isRegistryHost(bad)]).toEqual([bad, false]);
    });
});

describe("app.image", () => {
    test.each([
        "registry.example.com:5000/shred-day:v1",
        `ghcr.io/shred-day/shred-day@${DIGEST}`,
        `ghcr.io/shred-day/shred-day:v1@${DIGEST}`,
    ])("%s is accepted", (image) => {
        expect(outcome((c) => (c.app.image = image))).toBe("accepted");
    });

    test("latest, no tag, a leading '-' and upper case are refused with the reason and an example", () => {
        expect(outcome((c) => (c.app.image = "ghcr.io/shred-day/shred-day:latest"))).toBe(
            'shred-day:app.image = "ghcr.io/shred-day/shred-day:latest": "latest" moves whenever someone pushes: a release must name fixed bits; use a version tag or a digest, e.g. ghcr.io/owner/shred-day:abc123 or ghcr.io/owner/shred-day@sha256:<digest>',
        );
        expect(outcome((c) => (c.app.image = "ghcr.io/shred-day/shred-day"))).toBe(
            'shred-day:app.image = "ghcr.io/shred-day/shred-day": has no tag: name the exact image, e.g. ghcr.io/owner/shred-day:abc123 or ghcr.io/owner/shred-day@sha256:<digest>',
        );
        expect(outcome((c) => (c.app.image = "--privileged"))).toBe(
            'shred-day:app.image = "--privileged": starts with \'-\', so a command line would read it as an option; use e.g. ghcr.io/owner/shred-day:abc123 or ghcr.io/owner/shred-day@sha256:<digest>',
        );
        expect(outcome((c) => (c.app.image = "ghcr.io/Shred-Day/shred-day:v1"))).toContain("the repository name must be lowercase");
    });
});

describe("postgres.image", () => {
    test.each(["postgres:16", "postgis/postgis:16-3.4", `postgres:16@${DIGEST}`, "registry.example.com:5000/mirror/postgres:16.4-bookworm", "postgres:18.1"])(
        "%s is accepted, and its major version read from the tag",
        (image) => {
            const c = productionConfig();
            c.postgres.image = image;
            const major = Number(/:(\d+)[^:/]*$/.exec(image.split("@")[0])![1]);
            expect(parseConfig(c).postgres.major).toBe(major);
        },
    );

    test("latest, a tag without the major version, a digest alone are refused", () => {
        expect(outcome((c) => (c.postgres.image = "postgres:latest"))).toContain('"latest" moves whenever someone pushes');
        expect(outcome((c) => (c.postgres.image = "postgres:bookworm"))).toBe(
            'shred-day:postgres.image = "postgres:bookworm": its tag must start with the Postgres major version (the data directory\'s layout depends on it), e.g. postgres:16, postgis/postgis:16-3.4 or postgres:16@sha256:<digest>',
        );
        expect(outcome((c) => (c.postgres.image = `postgres@${DIGEST}`))).toContain("its tag must start with the Postgres major version");
    });
});

describe("values that reach command lines (issue 11 point 8): never read as an option", () => {
    test("app.proxyImage, app.registry.server and app.registry.username starting with '-' are refused", () => {
        expect(outcome((c) => (c.app.proxyImage = "--privileged"))).toBe(
            'shred-day:app.proxyImage = "--privileged": starts with \'-\', so a command line would read it as an option; use e.g. basecamp/kamal-proxy:v0.9.0',
        );
        expect(outcome((c) => (c.app.proxyImage = "basecamp/kamal-proxy:latest"))).toContain('"latest" moves whenever someone pushes');
        expect(outcome((c) => (c.app.registry.server = "--insecure"))).toBe(
            'shred-day:app.registry.server = "--insecure": must not start with \'-\' or a space (a command line would read it as an option); give the registry host, e.g. ghcr.io or registry.example.com:5000',
        );
        expect(outcome((c) => (c.app.registry.server = "ghcr.io/owner"))).toBe(
            'shred-day:app.registry.server = "ghcr.io/owner": must be a registry host with an optional port, such as ghcr.io or registry.example.com:5000',
        );
        expect(outcome((c) => (c.app.registry.username = "-p"))).toBe(
            'shred-day:app.registry.username = "-p": must not start with \'-\' or a space (a command line would read it as an option); give the registry user, e.g. shred-day-bot',
        );
        expect(outcome((c) => (c.app.registry.server = "registry.example.com:5000"))).toBe("accepted");
    });
});
