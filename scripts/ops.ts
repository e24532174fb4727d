/**
 * `npm run ops -- <verb>`: logs, status, console and dbconsole for a shred-day stack.
 * See docs/operations.md. Exit codes: 0 all healthy / done, 1 unhealthy or failed, 2 usage.
 */
import { main } from "./ops/main";

main(process.argv.slice(2), {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    env: process.env,
    inherit: true,
    isTTY: Boolean(process.stdin.isTTY && process.stdout.isTTY),
}).then(
    (code) => {
        process.exitCode = code;
    },
    (err) => {
        process.stderr.write(`ops: ${err?.stack ?? err}\n`);
        process.exitCode = 1;
    },
);
