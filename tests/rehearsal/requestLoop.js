#!/usr/bin/env node
/**
 * The rehearsal's client: sends HTTP requests through the proxy on the web host's public
 * address, from the operator namespace, one after another (CONCURRENCY at a time), and prints
 * one JSON line per request: {"t": ms since start, "ms": duration, "status": code or 0,
 * "body": first 200 bytes, "error": text}. Bounded in count and time: it stops after
 * MAX_REQUESTS requests or MAX_SECONDS, or on SIGTERM/SIGINT; each request times out after
 * REQUEST_TIMEOUT_MS. It dials only URL's address (a lab address; the caller checks).
 *
 *   node requestLoop.js URL HOST_HEADER MAX_REQUESTS MAX_SECONDS INTERVAL_MS CONCURRENCY REQUEST_TIMEOUT_MS
 */
"use strict";
const http = require("http");

const [url, hostHeader, maxRequests, maxSeconds, intervalMs, concurrency, timeoutMs] = process.argv.slice(2);
const limits = {
    requests: Number(maxRequests),
    ms: Number(maxSeconds) * 1000,
    interval: Number(intervalMs),
    concurrency: Number(concurrency),
    timeout: Number(timeoutMs),
};
for (const [k, v] of Object.entries(limits)) {
    if (!Number.isFinite(v) || v < 0) {
        process.stderr.write(`requestLoop: bad ${k}: ${v}\n`);
        process.exit(2);
    }
}
if (limits.requests > 100000 || limits.ms > 3600000) {
    process.stderr.write("requestLoop: bounds too large (at most 100000 requests, 3600 s)\n");
    process.exit(2);
}

const start = Date.now();
let sent = 0;
let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => (stopping = true));

function once() {
    return new Promise((resolve) => {
        const t = Date.now() - start;
        const req = http.get(url, { headers: { Host: hostHeader, Connection: "close" }, timeout: limits.timeout }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d) => {
                if (body.length < 200) body += d;
            });
            res.on("end", () => resolve({ t, ms: Date.now() - start - t, status: res.statusCode, body: body.slice(0, 200) }));
            res.on("error", (e) => resolve({ t, ms: Date.now() - start - t, status: 0, body, error: String(e) }));
        });
        req.on("timeout", () => req.destroy(new Error(`timeout after ${limits.timeout} ms`)));
        req.on("error", (e) => resolve({ t, ms: Date.now() - start - t, status: 0, body: "", error: String(e.message || e) }));
    });
}

async function worker() {
    while (!stopping && sent < limits.requests && Date.now() - start < limits.ms) {
        sent++;
        const r = await once();
        process.stdout.write(`${JSON.stringify(r)}\n`);
        if (limits.interval > 0) await new Promise((res) => setTimeout(res, limits.interval));
    }
}

Promise.all(Array.from({ length: Math.max(1, limits.concurrency) }, worker)).then(() => process.exit(0));
