import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";
import { machine, startEmbeddedServer } from "./support.ts";

/**
 * `npm run bench -- embedded [--events N] [--users U]`: the embedded platform (every role in one process on
 * PGlite, the Postgres tail, memory:// and chdb) ingests N events (default 1,000,000) of U users (default 100,000)
 * through POST /v1/events, until every projection has applied them; then a graceful stop and a second start on
 * the same data directory. Reports ingest and projection time, the process's resident memory (budget 2 GiB) when
 * the last event is acknowledged, when every projection has applied it and after the restart (and the peak), and
 * the restart's time to listen, to be ready and to be caught up (read models are persisted, so nothing is
 * rebuilt). Baseline in the same run: the first, empty start.
 */
const USERS = 100_000;
const ITEMS = 10_000;
const BATCH = 500;
const CONCURRENCY = 4;
const WRITE_KEY = "bench-write-key-0123456789";
const READ_KEY = "bench-read-key-0123456789";
const RSS_BUDGET_MIB = 2048;

/** A field of /proc/PID/status in MiB: VmRSS (resident now) or VmHWM (the peak resident so far). */
const statusMib = (pid: number, field: "VmRSS" | "VmHWM"): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return Math.round(Number(/(\d+)/.exec(line ?? "")?.[1] ?? NaN) / 1024);
};
const rssMib = (pid: number) => statusMib(pid, "VmRSS");

/** `--events` and `--users`: a whole number of at least 1, or unset for the default. */
export function countOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`${flag} must be a whole number of at least 1, got "${value}"`);
  return n;
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function caughtUp(url: string): Promise<boolean> {
  const res = await fetch(`${url}/v1/status`, { headers: { authorization: `Bearer ${READ_KEY}` } });
  if (!res.ok) return false;
  const status = (await res.json()) as { projectors: { lag: number }[] };
  return status.projectors.length > 0 && status.projectors.every((p) => p.lag === 0);
}

const ready = async (url: string) => (await fetch(`${url}/readyz`)).status === 200;

/** Every this many acknowledged events, a progress line with the rate and the RSS (a long run shows its course). */
const PROGRESS_EVERY = 100_000;

async function ingest(url: string, pid: number, events: number, users: number): Promise<number> {
  const started = performance.now();
  const base = Date.now() - 48 * 3_600_000;
  let next = 0;
  let acknowledged = 0;
  const worker = async () => {
    for (;;) {
      const start = next;
      if (start >= events) return;
      next += BATCH;
      const batch = Array.from({ length: Math.min(BATCH, events - start) }, (_, k) => {
        const i = start + k;
        return {
          event_id: randomUUID(),
          type: i % 20 === 0 ? "purchase" : i % 4 === 0 ? "click" : "view",
          user_id: `u${(i * 7919) % users}`,
          item_id: `i${Math.floor(((i * 104_729) % (ITEMS * ITEMS)) / ITEMS) % ITEMS}`,
          timestamp: new Date(base + Math.floor((i / events) * 47 * 3_600_000)).toISOString(),
        };
      });
      const res = await fetch(`${url}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${WRITE_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ events: batch }),
      });
      if (res.status !== 200) throw new Error(`POST /v1/events: HTTP ${res.status} ${await res.text()}`);
      const before = acknowledged;
      acknowledged += batch.length;
      if (Math.floor(acknowledged / PROGRESS_EVERY) > Math.floor(before / PROGRESS_EVERY)) {
        const seconds = (performance.now() - started) / 1000;
        progress(
          `${acknowledged} events acknowledged in ${seconds.toFixed(0)} s (${Math.round(acknowledged / seconds)}/s), RSS ${rssMib(pid)} MiB`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return acknowledged;
}

export async function runEmbeddedBench(options: { events?: number; users?: number } = {}) {
  const events = options.events ?? 1_000_000;
  const users = options.users ?? USERS;
  const env = {
    RECKON_WRITE_KEYS: WRITE_KEY,
    RECKON_READ_KEYS: READ_KEY,
    // The bench's own load: no per-key limit in the way.
    RECKON_EVENTS_PER_SECOND: "0",
    RECKON_WRITE_REQUESTS_PER_SECOND: "0",
    CLICKHOUSE_HTTP_PASSWORD: "bench-clickhouse-password",
  };
  let started = performance.now();
  const first = await startEmbeddedServer(env);
  const firstListenMs = performance.now() - started;
  await waitUntil("first start ready", 300_000, () => ready(first.url));
  const firstReadyMs = performance.now() - started;
  const emptyRss = rssMib(first.child.pid!);
  let second: Awaited<ReturnType<typeof startEmbeddedServer>> | undefined;
  try {
    started = performance.now();
    const acknowledged = await ingest(first.url, first.child.pid!, events, users);
    const ingestSeconds = (performance.now() - started) / 1000;
    const ingestedRss = rssMib(first.child.pid!);
    progress(
      `ingested ${acknowledged} events in ${ingestSeconds.toFixed(1)} s, RSS ${ingestedRss} MiB; waiting for the projections`,
    );
    await waitUntil("projections caught up", 3_600_000, () => caughtUp(first.url));
    const projectedSeconds = (performance.now() - started) / 1000;
    const loadedRss = rssMib(first.child.pid!);
    const peakRss = statusMib(first.child.pid!, "VmHWM");
    progress(`projected after ${projectedSeconds.toFixed(1)} s, RSS ${loadedRss} MiB; restarting`);
    await first.stop();

    started = performance.now();
    second = await startEmbeddedServer({ ...env, RECKON_DATA_DIR: first.dataDir });
    const listenMs = performance.now() - started;
    await waitUntil("restart ready", 600_000, () => ready(second!.url));
    const readyMs = performance.now() - started;
    await waitUntil("restart caught up", 600_000, () => caughtUp(second!.url));
    const caughtUpMs = performance.now() - started;
    const restartedRss = rssMib(second.child.pid!);
    const restartPeakRss = statusMib(second.child.pid!, "VmHWM");
    return {
      bench: "embedded",
      // The load average says how far the shared machine's other work slowed this run.
      machine: { ...machine(), load_average_1m_at_end: round(os.loadavg()[0]!) },
      data: {
        events: acknowledged,
        users,
        items: ITEMS,
        batch: BATCH,
        concurrent_requests: CONCURRENCY,
      },
      ingest: {
        seconds: round(ingestSeconds),
        events_per_s: Math.round(acknowledged / ingestSeconds),
        all_projected_after_s: round(projectedSeconds),
      },
      first_start: {
        listen_ms: Math.round(firstListenMs),
        ready_ms: Math.round(firstReadyMs),
        rss_mib: emptyRss,
      },
      after_load: {
        rss_mib_last_acknowledged: ingestedRss,
        rss_mib_all_projected: loadedRss,
        peak_rss_mib: peakRss,
      },
      restart: {
        read_models: "persisted (PGlite, memory:// journal and snapshot, chdb); nothing rebuilt",
        listen_ms: Math.round(listenMs),
        ready_ms: Math.round(readyMs),
        caught_up_ms: Math.round(caughtUpMs),
        rss_mib: restartedRss,
        peak_rss_mib: restartPeakRss,
        ratio_to_first_start_ready: round(readyMs / firstReadyMs, 2),
      },
      rss_budget_mib: RSS_BUDGET_MIB,
      within_budget: Math.max(peakRss, restartPeakRss) <= RSS_BUDGET_MIB,
    };
  } finally {
    await first.stop().catch(() => undefined);
    await second?.stop();
    await first.cleanup();
  }
}

/** Progress on stderr: a long run shows where it is (stdout carries only the result). */
const progress = (line: string) => process.stderr.write(`embedded bench: ${line}\n`);

const round = (v: number, digits = 2) => Number(v.toFixed(digits));
