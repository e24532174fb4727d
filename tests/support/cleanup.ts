/**
 * One registry of what a test process must undo (temp dirs, daemons, child processes): run
 * on normal exit, and on SIGINT, SIGTERM and SIGHUP too (then the process exits 128+signal).
 * Jest runs each test file in a worker process; a worker killed outright (SIGKILL) runs
 * nothing, which is why the private dockerd's session script also watches its owner's pid
 * (tests/support/dockerd-session.sh) and why sshd and PostgreSQL are killed through it.
 *
 *     const unregister = onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
 *     ...normal stop...; unregister();
 *
 * Cleanups must be synchronous (spawnSync, fs.*Sync, process.kill): nothing async runs
 * after 'exit'.
 */
const cleanups = new Set<() => void>();
let installed = false;

function runAll(): void {
    for (const f of [...cleanups].reverse()) {
        cleanups.delete(f);
        try {
            f();
        } catch {
            /* best effort: the others still run */
        }
    }
}

const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

function install(): void {
    if (installed) return;
    installed = true;
    process.once("exit", runAll);
    for (const [signal, code] of Object.entries(SIGNAL_EXIT)) {
        process.once(signal as NodeJS.Signals, () => {
            runAll();
            process.exit(code);
        });
    }
}

/** Register a synchronous cleanup; returns the function that unregisters it (call it after a normal stop). */
export function onCleanup(fn: () => void): () => void {
    install();
    cleanups.add(fn);
    return () => {
        cleanups.delete(fn);
    };
}

/** Run every registered cleanup now (for tests of the cleanup itself). */
export function runCleanupsNow(): void {
    runAll();
}
