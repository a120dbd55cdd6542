import { randomUUID } from "node:crypto";
import { TEST_KEYS } from "../../core/testing/http.ts";
import type { ReadSample } from "./read-windows.ts";

/**
 * The client side of the multi-host run: a writer posting events with client event ids to the ingest host at a
 * fixed, modest rate, and one reader per serving host asking for recommendations. Both loops are bounded by
 * `stop()` and by a per-request timeout, so neither can outlive the test.
 */

export const USERS = Array.from({ length: 40 }, (_, i) => `mh-user-${i}`);
export const ITEMS = Array.from({ length: 24 }, (_, i) => `mh-item-${i}`);
const TYPES = ["view", "view", "click", "add_to_cart", "purchase"] as const;
const REQUEST_TIMEOUT_MS = 5000;

export interface Writer {
  /** Event ids the ingest host acknowledged (200, accepted or duplicate). */
  acknowledged: Set<string>;
  /** Requests that got no acknowledgement (error, timeout or a non-200 answer). */
  unacknowledgedRequests: number;
  stop(): Promise<void>;
}

/** Posts a batch of `batchSize` events every `intervalMs` to `ingestUrl` until stopped. */
export function startWriter(ingestUrl: string, intervalMs = 100, batchSize = 4): Writer {
  const acknowledged = new Set<string>();
  const writer: Writer = { acknowledged, unacknowledgedRequests: 0, stop: async () => undefined };
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const events = Array.from({ length: batchSize }, () => {
        const i = n++;
        return {
          event_id: randomUUID(),
          type: TYPES[i % TYPES.length]!,
          user_id: USERS[(i * 7) % USERS.length]!,
          item_id: ITEMS[(i * 5 + Math.floor(i / USERS.length)) % ITEMS.length]!,
          timestamp: new Date().toISOString(),
        };
      });
      try {
        const res = await fetch(`${ingestUrl}/v1/events`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${TEST_KEYS.write}` },
          body: JSON.stringify({ events }),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const body = (await res.json()) as { results?: { event_id: string; status: string }[] };
        if (res.status !== 200) writer.unacknowledgedRequests++;
        else
          for (const r of body.results ?? [])
            if (r.status === "accepted" || r.status === "duplicate") acknowledged.add(r.event_id);
      } catch {
        writer.unacknowledgedRequests++;
      }
      const wait = intervalMs - (Date.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  writer.stop = async () => {
    running = false;
    await loop;
  };
  return writer;
}

export interface Reader {
  samples: ReadSample[];
  stop(): Promise<void>;
}

/** Asks `servingUrl` for a user's recommendations every `intervalMs` until stopped; records every answer. */
export function startReader(servingUrl: string, intervalMs = 100): Reader {
  const samples: ReadSample[] = [];
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const user = USERS[n++ % USERS.length]!;
      const startedAt = Date.now();
      let ok: boolean;
      try {
        const res = await fetch(`${servingUrl}/v1/recommendations/${user}?n=5`, {
          headers: { authorization: `Bearer ${TEST_KEYS.read}` },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const body = (await res.json()) as { items?: unknown[] };
        ok = res.status === 200 && Array.isArray(body.items);
      } catch {
        ok = false;
      }
      const endedAt = Date.now();
      samples.push({ startedAt, endedAt, ok });
      const wait = intervalMs - (endedAt - startedAt);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
