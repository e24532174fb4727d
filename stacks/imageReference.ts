/**
 * Docker image references, parsed with the grammar of distribution/reference (the library Docker
 * and containerd use): regexp.go (the grammar below, production by production), normalize.go
 * (splitDockerDomain: which first component is a registry) and reference.go (NameTotalLengthMax).
 *
 *   reference     := name [ ":" tag ] [ "@" digest ]
 *   name          := [domainAndPort "/"] remoteName
 *   domainAndPort := host [":" port-number]
 *   host          := domainName | "[" IPv6 "]"
 *   remoteName    := pathComponent ["/" pathComponent]*
 *   pathComponent := alphanumeric [separator alphanumeric]*
 *   separator     := /[._]|__|[-]+/
 *   tag           := /[\w][\w.-]{0,127}/
 *   digest        := algorithm ":" hex{32,}
 *
 * The npm packages that port this grammar were considered: @swimlane/docker-reference 2.0.1
 * keeps an old separator (`[-]*`, which can match nothing) and so backtracks exponentially on a
 * long invalid name (a config value could hang the program), and has no IPv6 registries. The
 * grammar is small and stable, so it lives here, as one module.
 *
 * Go's regexp (RE2) never backtracks; JavaScript's does. Every repetition below is separated by
 * a character the repeated part cannot start with, and inputs are capped at 512 characters
 * before matching, so matching stays linear (tests/unit/config-image.test.ts times a hostile input).
 */

const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const optionalPort = "(?::[0-9]+)?";
const tag = "[\\w][\\w.-]{0,127}";
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";
const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = host + optionalPort;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;

/** An anchored reference: groups name, tag, digest (regexp.go referencePat). */
const REFERENCE = new RegExp(`^(${`(?:${domainAndPort}/)?${remoteName}`})(?::(${tag}))?(?:@(${digest}))?$`);
/** A registry host with an optional port (regexp.go DomainRegexp, anchored). */
const DOMAIN = new RegExp(`^${domainAndPort}$`);

/** reference.go NameTotalLengthMax. */
export const NAME_TOTAL_LENGTH_MAX = 255;
const INPUT_MAX = 512;

export interface ImageReference {
    /** As written. */
    text: string;
    /** The registry, if the name has one (normalize.go splitDockerDomain); else Docker Hub. */
    domain?: string;
    /** The repository path without the registry, e.g. postgis/postgis. */
    path: string;
    tag?: string;
    digest?: string;
}

/** Parse a reference, or say what is wrong with it (a sentence for a config error). */
export function parseImageReference(text: string): ImageReference | { error: string } {
    if (text.length === 0) return { error: "is empty" };
    if (text.startsWith("-")) return { error: "starts with '-', so a command line would read it as an option" };
    if (text.length > INPUT_MAX) return { error: `is ${text.length} characters long; an image reference is far shorter` };
    if (/\s/.test(text)) return { error: "contains whitespace" };
    const m = REFERENCE.exec(text);
    if (!m) {
        const repoPart = text.split("@")[0].replace(/:[\w][\w.-]*$/, "");
        const pathPart = repoPart.includes("/") && /[.:]|^localhost\//.test(repoPart.split("/")[0]) ? repoPart.slice(repoPart.indexOf("/") + 1) : repoPart;
        if (/[A-Z]/.test(pathPart)) return { error: "is not a valid image reference: the repository name must be lowercase" };
        if (text.includes("@") && !/@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/.test(text)) {
            return { error: "is not a valid image reference: a digest is @sha256: followed by 64 hex digits" };
        }
        return { error: "is not a valid image reference (registry/repository:tag or @sha256:digest)" };
    }
    const [, name, tagPart, digestPart] = m;
    if (name.length > NAME_TOTAL_LENGTH_MAX) return { error: `is not a valid image reference: the repository name is longer than ${NAME_TOTAL_LENGTH_MAX} characters` };
    // normalize.go splitDockerDomain: the first component is a registry when it has a '.' or a
    // ':', is "localhost", or has an upper-case letter; otherwise the name is on Docker Hub.
    const slash = name.indexOf("/");
    const first = slash < 0 ? "" : name.slice(0, slash);
    const isDomain = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase());
    return {
        text,
        domain: isDomain ? first : undefined,
        path: isDomain ? name.slice(slash + 1) : name,
        tag: tagPart,
        digest: digestPart,
    };
}

/** A registry host as `docker login` takes it: a domain or [IPv6], with an optional port. */
export function isRegistryHost(text: string): boolean {
    return text.length <= INPUT_MAX && !text.startsWith("-") && DOMAIN.test(text);
}
