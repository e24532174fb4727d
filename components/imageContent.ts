/**
 * One release is one image content on every host (issue 11 point 10). A tag can be pushed
 * again, so the tag text says nothing about the bits: each host's image-pull step reports
 * what it has (`image-pull: content REF`, components/scripts/image-pull.sh), the release
 * takes that REF, checks that every host has the same, and runs every container by it.
 * Pure functions; the release wires them.
 */

/** A registry digest reference `repo@sha256:<64 hex>`, or an image id `sha256:<64 hex>`. */
const CONTENT = /^(?:[a-z0-9][a-z0-9._\-/:]*@)?sha256:[0-9a-f]{64}$/;

/** The content a pull step reported, from its stdout; throws when there is none (or more than one). */
export function contentOf(host: string, stdout: string): string {
    const found = stdout
        .split("\n")
        .filter((line) => line.startsWith("image-pull: content "))
        .map((line) => line.slice("image-pull: content ".length).trim());
    if (found.length !== 1 || !CONTENT.test(found[0])) {
        throw new Error(
            `the image-pull step on ${host} did not report one image content (a line "image-pull: content REPO@sha256:<64 hex>"); ` +
                `got ${JSON.stringify(found)}. Run pulumi up again; if it persists, check docker on ${host}.`,
        );
    }
    return found[0];
}

/**
 * The content every host agrees on. Hosts that disagree pulled different bits under the
 * same tag (it was pushed again between their pulls): nothing of the release may run.
 */
export function agreedContent(image: string, reports: { host: string; stdout: string }[]): string {
    if (reports.length === 0) throw new Error("agreedContent: no host pulled the image");
    const byHost = reports.map((r) => ({ host: r.host, content: contentOf(r.host, r.stdout) }));
    const distinct = [...new Set(byHost.map((r) => r.content))];
    if (distinct.length > 1) {
        throw new Error(
            `the hosts disagree on what shred-day:app.image = ${JSON.stringify(image)} is: ` +
                byHost.map((r) => `${r.host} has ${r.content}`).join(", ") +
                `. The tag was pushed again between their pulls, so one release would run different bits. ` +
                `Push a new tag (never re-push one) and set app.image to it, or pin the content with app.image = "REPO:TAG@sha256:..."; then pulumi up.`,
        );
    }
    return distinct[0];
}

/**
 * The reference containers run by: app.image (its tag kept, for people reading `docker ps`)
 * pinned to the agreed digest, `repo:tag@sha256:...`; docker resolves such a reference by its
 * digest alone. An image that never came from a registry runs by its id.
 */
export function runReference(image: string, content: string): string {
    const at = content.indexOf("@");
    if (at < 0) return content;
    return `${image.replace(/@.*$/, "")}${content.slice(at)}`;
}
