/**
 * image-pull.sh against a real registry (tests/support/registry.ts: Debian's docker-registry,
 * htpasswd auth, inside the private dockerd's namespace), run over SSH as the command provider
 * runs it: `docker login --password-stdin` with the password from stdin, the pull, the content
 * the release runs (the registry's manifest digest), a wrong password, a tag never pushed, and
 * a re-run that never contacts the registry. No login token is left on the host.
 */
import * as fs from "fs";
import * as path from "path";
import { ScriptParams } from "../../components/remote";
import { TestDocker } from "../support/docker";
import { HARNESS_START_TIMEOUT_MS, RemoteHost, startRemoteHost, testScratchDir, testSshAccount } from "../support/integration";
import { startHangingRegistry, startRegistry, TestRegistry } from "../support/registry";

jest.setTimeout(120_000);

const USER = "shred-day";
const PASSWORD = "registry-SECRET-0123456789abcdef";
const REPO_PATH = "shred-day/shred-day";

let host: RemoteHost;
let docker: TestDocker;
let registry: TestRegistry;
let scratch: string;
let tmp: string;
let digest: string;
let repo: string;

beforeAll(async () => {
    scratch = testScratchDir("registry", { forSessions: true });
    tmp = path.join(scratch, "tmp");
    fs.mkdirSync(tmp);
    const { uid, gid } = testSshAccount();
    fs.chownSync(tmp, uid, gid);
    // TMPDIR: where the script makes its throwaway DOCKER_CONFIG, so the test can see it is gone
    host = await startRemoteHost({ postgres: false, env: (base) => ({ ...base, TMPDIR: tmp }) });
    docker = host.docker;
    registry = await startRegistry(docker, { user: USER, password: PASSWORD });
    repo = `${registry.address}/${REPO_PATH}`;
    digest = await registry.push(await docker.image("app"), `${REPO_PATH}:v7`);
}, HARNESS_START_TIMEOUT_MS);

afterAll(async () => {
    await registry?.stop();
    await host?.stop(); // scratch: testScratchDir removes it
});

const params = (overrides: ScriptParams = {}): ScriptParams => ({
    IMAGE: `${repo}:v7`,
    REGISTRY_SERVER: registry.address,
    REGISTRY_USER: USER,
    KEEP_IMAGES: 3,
    ...overrides,
});
const pull = (p: ScriptParams, stdin: string) => host.runScript("image-pull", p, { stdin, timeoutMs: 110_000 });
const present = async (ref: string) => (await docker.run(["image", "inspect", ref])).code === 0;
/** The client configs on the host: the session's ~/.docker and anything left in TMPDIR. */
const clientConfigs = async () => (await host.ssh.run('ls -A "$HOME/.docker" 2>/dev/null; ls -A "$TMPDIR"')).stdout.trim();

describe("image-pull.sh with a real registry", () => {
    test("wrong password: the registry's refusal is shown, nothing is pulled, the password never appears", async () => {
        const before = registry.requests().length;
        const r = await pull(params(), "not-the-password\n");
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`docker login to ${registry.address} as ${USER} failed; check shred-day:registryPassword`);
        expect(r.stderr).toMatch(/docker said: .*(unauthorized|401 Unauthorized)/is);
        expect(r.stdout + r.stderr + r.command).not.toContain("not-the-password");
        expect(registry.requests().length).toBeGreaterThan(before); // it did ask the registry
        expect(await present(`${repo}:v7`)).toBe(false);
        expect(await clientConfigs()).toBe("");
    });

    test("absent image: logs in with the password on stdin, pulls, reports the registry's manifest digest as the content; no token left on the host", async () => {
        expect(await present(`${repo}:v7`)).toBe(false);
        const r = await pull(params(), `${PASSWORD}\n`);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`image-pull: logged in to ${registry.address} as ${USER}`);
        expect(r.stdout).toContain(`image-pull: pulled ${repo}:v7`);
        // what every host must agree on: the digest the registry gave at push
        expect(r.stdout).toContain(`image-pull: content ${repo}@${digest}`);
        expect(r.stdout + r.stderr + r.command).not.toContain(PASSWORD);
        expect(await present(`${repo}:v7`)).toBe(true);
        expect(await clientConfigs()).toBe("");
        // the registry saw an authenticated pull of the manifest
        expect(registry.requests().some((l) => l.includes(`/v2/${REPO_PATH}/manifests/v7`))).toBe(true);
    });

    test("a re-run (or a rollback to a kept tag): the image is present, the registry is not contacted, stdin is not needed", async () => {
        const before = registry.requests().length;
        const r = await pull(params(), "");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`image-pull: ${repo}:v7 is already present; no pull`);
        expect(r.stdout).toContain(`image-pull: content ${repo}@${digest}`);
        expect(registry.requests().length).toBe(before);
    });

    test("a tag that was never pushed: login succeeds, the pull fails with the registry's answer, nothing is left", async () => {
        const r = await pull(params({ IMAGE: `${repo}:v8` }), `${PASSWORD}\n`);
        expect(r.code).toBe(1);
        expect(r.stdout).toContain(`image-pull: logged in to ${registry.address} as ${USER}`);
        expect(r.stderr).toContain(`docker pull ${repo}:v8 failed. Check that the tag was pushed and that the registry credentials can read it.`);
        expect(r.stderr).toMatch(/docker said: .*(manifest unknown|not found)/is);
        expect(r.stdout + r.stderr).not.toContain(PASSWORD);
        expect(await present(`${repo}:v8`)).toBe(false);
        expect(await clientConfigs()).toBe("");
    });

    test("pinned by digest: pulls exactly that content; a digest the registry does not have is refused", async () => {
        await docker.ok(["rmi", `${repo}:v7`]);
        const ok = await pull(params({ IMAGE: `${repo}:v7@${digest}` }), `${PASSWORD}\n`);
        expect(ok.stderr).toBe("");
        expect(ok.code).toBe(0);
        expect(ok.stdout).toContain(`image-pull: content ${repo}@${digest}`);
        const other = `sha256:${"0".repeat(64)}`;
        const bad = await pull(params({ IMAGE: `${repo}:v9@${other}` }), `${PASSWORD}\n`);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain(`docker pull ${repo}:v9@${other} failed.`);
    });

    test("a registry that accepts connections and never answers: login, then a public pull, fail after their bounds, saying what they waited for", async () => {
        const hung = await startHangingRegistry(docker, 5001);
        try {
            const image = `${hung.address}/shred-day/shred-day:v7`;
            let t0 = Date.now();
            const login = await pull(params({ IMAGE: image, REGISTRY_SERVER: hung.address, LOGIN_TIMEOUT: 2 }), `${PASSWORD}\n`);
            expect(Date.now() - t0).toBeLessThan(20_000);
            expect(login.code).toBe(1);
            expect(login.stderr).toContain(`gave up waiting for docker login to ${hung.address} after 2 s`);
            expect(login.stdout).not.toContain("pulling");
            expect(login.stdout + login.stderr).not.toContain(PASSWORD);
            expect(await clientConfigs()).toBe("");

            t0 = Date.now();
            const publicPull = await pull(params({ IMAGE: image, REGISTRY_SERVER: "", REGISTRY_USER: "", PULL_TIMEOUT: 2 }), "");
            expect(Date.now() - t0).toBeLessThan(20_000);
            expect(publicPull.code).toBe(1);
            expect(publicPull.stderr).toContain(`gave up waiting for docker pull ${image} after 2 s`);
            expect(await present(image)).toBe(false);
        } finally {
            hung.stop();
        }
    });
});
