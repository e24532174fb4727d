/**
 * .ci/accounts.sh, which lets .ci/run leave the machine's accounts as it found them: run on a
 * copy of this machine's /etc account files (the shadow tools' --prefix), never on the real
 * ones. Accounts are added the way package postinsts and .ci/run add them (useradd/groupadd).
 */
import * as fs from "fs";
import * as path from "path";
import { execLocal } from "../support/integration";

const SCRIPT = path.join(__dirname, "..", "..", ".ci", "accounts.sh");
const FILES = ["passwd", "group", "shadow", "gshadow"];

let root: string;
let record: string;
const machine = () => FILES.map((f) => fs.readFileSync(path.join("/etc", f), "utf8"));
let machineBefore: string[];

beforeEach(() => {
    machineBefore = machine();
    root = fs.mkdtempSync("/tmp/shred-day-accounts-");
    fs.mkdirSync(path.join(root, "etc"));
    for (const f of [...FILES, "login.defs"]) fs.copyFileSync(path.join("/etc", f), path.join(root, "etc", f));
    record = path.join(root, "record");
});

afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
    expect(machine()).toEqual(machineBefore); // the machine's own files were never touched
});

const accounts = (cmd: string) => execLocal("bash", [SCRIPT, cmd, record, root], { timeoutMs: 30_000 });
const tool = async (name: string, args: string[]) => {
    const r = await execLocal(name, ["--prefix", root, ...args], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`${name} ${args.join(" ")}: ${r.stderr}`);
};
const names = (file: string) => fs.readFileSync(path.join(root, "etc", file), "utf8").split("\n").filter(Boolean).map((l) => l.split(":")[0]);

test("restore removes every user and group added since the snapshot (a throwaway user, a postinst's system user and group) and the files are byte for byte as recorded", async () => {
    expect((await accounts("snapshot")).code).toBe(0);
    expect(fs.statSync(record).mode & 0o777).toBe(0o700); // it holds a copy of shadow
    const recorded = FILES.map((f) => fs.readFileSync(path.join(root, "etc", f), "utf8"));
    // names no machine has (.ci/run's own shred-day-ci exists while it runs these tests)
    const ci = `sdprobe-ci-${process.pid}`;
    await tool("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/bin/bash", ci]);
    await tool("useradd", ["--system", "--no-create-home", "--gid", "nogroup", "--home-dir", "/run/sshd", "--shell", "/usr/sbin/nologin", `sdprobe-sshd-${process.pid}`]);
    await tool("groupadd", ["--system", `sdprobe-docker-${process.pid}`]);
    expect(names("passwd")).toEqual(expect.arrayContaining([ci, `sdprobe-sshd-${process.pid}`]));

    const r = await accounts("restore");
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain(`accounts: removed what this run added: user ${ci} user sdprobe-sshd-${process.pid} group sdprobe-docker-${process.pid}`);
    expect(r.stdout).toContain("accounts: /etc/passwd, group, shadow and gshadow are as this run found them");
    expect(FILES.map((f) => fs.readFileSync(path.join(root, "etc", f), "utf8"))).toEqual(recorded);
});

test("a run that added nothing: restore says so and succeeds", async () => {
    await accounts("snapshot");
    const r = await accounts("restore");
    expect([r.code, r.stdout.trim().split("\n")[0]]).toEqual([0, "accounts: this run added no account"]);
});

test("an account the machine had, changed during the run (added to a group): restore fails naming it, and prints no line of shadow or gshadow", async () => {
    await accounts("snapshot");
    const someone = names("passwd").find((n) => n !== "root")!;
    await tool("usermod", ["--append", "--groups", "staff", someone]);
    const r = await accounts("restore");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("accounts: not as found after the run: /etc/group (staff ) /etc/gshadow (staff )");
    for (const line of fs.readFileSync(path.join(root, "etc", "gshadow"), "utf8").split("\n").filter((l) => l.includes(":"))) {
        expect(r.stdout + r.stderr).not.toContain(line);
    }
});
