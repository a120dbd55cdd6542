import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { createTestDatabase, stackEnv } from "../core/testing/stack.ts";
import { createPlatform, FAULT_KEYS, readStatus, waitUntil } from "../core/testing/faults.ts";
import { machine, printResultAndExit } from "./support.ts";

/**
 * Crash recovery: milliseconds from spawning `reckon start` to the first acknowledged event (POST /v1/events
 * answering 200), after a SIGKILL of a running platform whose consumer groups had joined, against a clean start
 * of the same platform on fresh topics and groups (the baseline). Also reported: when /readyz answers 200, i.e. the
 * consumer groups have joined again (after a crash Kafka waits out the dead members' session timeout).
 */
export async function runRecoveryBench(runs = Number(process.env.RECOVERY_RUNS ?? 3)) {
  const env = stackEnv();
  const db = await createTestDatabase();
  const results: { clean_start: Timing; after_sigkill: Timing }[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const platform = await createPlatform({
        DATABASE_URL: db.url,
        REDIS_URL: env.REDIS_URL,
        KAFKA_BROKERS: env.KAFKA_BROKERS.join(","),
      });
      try {
        const clean = await timeStart(platform);
        // Running and consuming, as a crashed production process would be.
        await waitUntil("the projections to apply the probe", async () =>
          (await readStatus(platform.url)).projectors.every((p) => p.position !== "0.0"),
        );
        await platform.kill("SIGKILL");
        const crashed = await timeStart(platform);
        results.push({ clean_start: clean, after_sigkill: crashed });
      } finally {
        await platform.kill("SIGTERM");
        rmSync(platform.chdbDir, { recursive: true, force: true });
      }
    }
  } finally {
    await db.drop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const pick = (k: "clean_start" | "after_sigkill", f: keyof Timing) => median(results.map((r) => r[k][f]));
  return {
    bench: "recovery",
    machine: machine(),
    runs,
    roles: "ingest,relay,projectors",
    median_ms: {
      first_ack_clean_start: pick("clean_start", "first_ack_ms"),
      first_ack_after_sigkill: pick("after_sigkill", "first_ack_ms"),
      ready_clean_start: pick("clean_start", "ready_ms"),
      ready_after_sigkill: pick("after_sigkill", "ready_ms"),
    },
    ratio_first_ack_after_sigkill_to_clean:
      pick("after_sigkill", "first_ack_ms") / pick("clean_start", "first_ack_ms"),
    runs_detail: results,
  };
}

interface Timing {
  first_ack_ms: number;
  ready_ms: number;
}

/** Spawns the platform and times the first acknowledged event and the first 200 from /readyz. */
async function timeStart(platform: Awaited<ReturnType<typeof createPlatform>>): Promise<Timing> {
  const started = performance.now();
  const starting = platform.start();
  let firstAck: number | undefined;
  await waitUntil(
    "the first acknowledged event",
    async () => {
      const res = await fetch(`${platform.url}/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${FAULT_KEYS.write}` },
        body: JSON.stringify({
          event_id: randomUUID(),
          type: "view",
          user_id: "recovery-probe",
          item_id: "i1",
          timestamp: new Date().toISOString(),
        }),
      });
      await res.body?.cancel();
      if (res.ok) firstAck = performance.now() - started;
      return res.ok;
    },
    120_000,
  );
  await starting;
  await waitUntil("/readyz to answer 200", async () => (await fetch(`${platform.url}/readyz`)).ok, 120_000);
  return { first_ack_ms: Math.round(firstAck!), ready_ms: Math.round(performance.now() - started) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) printResultAndExit(runRecoveryBench());
