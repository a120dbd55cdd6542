import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { InteractionEvent } from "../core/contracts/event.ts";
import { LOG_START, type LogPosition } from "../core/contracts/position.ts";
import { appendInteractionEvents } from "../core/event-store/event-store.ts";
import { readEncodedLogBatch } from "../core/event-store/log-reader.ts";
import { openDatabase } from "../core/postgres/database.ts";
import { migrate } from "../core/postgres/migrate.ts";
import { machine, percentile, printResultAndExit } from "./support.ts";

/**
 * `node --import tsx bench/embedded-event-loop.ts [--seconds 10] [--batch 50] [--every-ms 20]`: how long the
 * embedded database holds the event loop of the process that uses it. The embedded database (PGlite in a data
 * directory) takes a write load like the embedded platform's (batches of interactions appended in transactions)
 * and a tail reading the log after each write, as the projections do, while a 1 ms timer measures how late the
 * event loop runs it (what an HTTP request waiting in that process waits on top of its own work). Nothing else
 * runs in the process. It reports the timer's lateness and the event loop delay histogram's percentiles, and the
 * events written and read per second.
 */
async function runEventLoopBench(options: { seconds: number; batch: number; everyMs: number }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "reckon-bench-event-loop-"));
  const db = openDatabase(`pglite://${dir}`);
  try {
    await migrate(db);
    let written = 0;
    let read = 0;
    let running = true;
    const writer = (async () => {
      for (let n = 0; running; n++) {
        const started = performance.now();
        const events: InteractionEvent[] = Array.from({ length: options.batch }, (_, k) => ({
          event_id: randomUUID(),
          type: "view",
          user_id: `u${(n * options.batch + k) % 2000}`,
          item_id: `i${(n * 7 + k) % 5000}`,
          timestamp: new Date().toISOString(),
        }));
        await appendInteractionEvents(db, events);
        written += events.length;
        const rest = options.everyMs - (performance.now() - started);
        if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      }
    })();
    const tail = (async () => {
      let after: LogPosition = LOG_START;
      while (running) {
        const entries = await readEncodedLogBatch(db, after, 2000);
        read += entries.length;
        if (entries.length > 0) after = entries.at(-1)!.position;
        else await new Promise((r) => setTimeout(r, 5));
      }
    })();
    // Warm up (JIT, first statements) before measuring.
    await new Promise((r) => setTimeout(r, 1000));
    const [writtenBefore, readBefore] = [written, read];
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const lateness: number[] = [];
    const deadline = performance.now() + options.seconds * 1000;
    while (performance.now() < deadline) {
      const asked = performance.now();
      await new Promise((r) => setTimeout(r, 1));
      lateness.push(performance.now() - asked - 1);
    }
    histogram.disable();
    running = false;
    const [writtenDuring, readDuring] = [written - writtenBefore, read - readBefore];
    await Promise.all([writer, tail]);
    lateness.sort((a, b) => a - b);
    const ms = (ns: number) => Math.round(ns / 1e3) / 1e3;
    return {
      bench: "embedded-event-loop",
      machine: machine(),
      load_average: os.loadavg().map((l) => Math.round(l * 100) / 100),
      seconds: options.seconds,
      write_batch: options.batch,
      write_every_ms: options.everyMs,
      events_written_per_s: Math.round(writtenDuring / options.seconds),
      events_read_per_s: Math.round(readDuring / options.seconds),
      timer_lateness_ms: {
        samples: lateness.length,
        p50: percentile(lateness, 50),
        p99: percentile(lateness, 99),
        p999: percentile(lateness, 99.9),
        max: lateness.at(-1),
      },
      event_loop_delay_ms: {
        p50: ms(histogram.percentile(50)),
        p99: ms(histogram.percentile(99)),
        max: ms(histogram.max),
      },
    };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  printResultAndExit(
    runEventLoopBench({
      seconds: arg("--seconds", 10),
      batch: arg("--batch", 50),
      everyMs: arg("--every-ms", 20),
    }),
  );
}
