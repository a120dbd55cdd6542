import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import type { Queryable } from "../../core/postgres/database.ts";
import type { FeaturesConfig } from "../../core/read-models/features-config.ts";
import { windowIncrement, windowIndex } from "../runtime/decay.ts";
import type { SqlReadModel } from "./sql-projection.ts";
import { latestItems } from "./search-model.ts";

export const ITEM_DETAIL_PROJECTION = "item-detail";

export interface DetailIncrements {
  counts: { item_id: string; type: string; count: number }[];
  popularity: { item_id: string; horizon: string; window_index: number; value: number }[];
}

/**
 * What a run of interaction events adds: counts per item and type, and per item the decay-window increments of
 * both popularity horizons (the features projection's weights and half-lives, so both agree). A retraction
 * subtracts exactly what its original added (it carries the original). Sums are integers, so the order events
 * arrive in changes nothing. Sorted by key, so concurrent batches lock rows in the same order.
 */
export function detailIncrements(messages: readonly LogMessage[], config: FeaturesConfig): DetailIncrements {
  const counts = new Map<string, { item_id: string; type: string; count: number }>();
  const popularity = new Map<
    string,
    { item_id: string; horizon: string; window_index: number; value: number }
  >();
  for (const m of messages) {
    const signed = signedInteraction(m);
    if (signed === undefined) continue;
    const [e, sign] = signed;
    if (e.item_id === undefined) continue;
    const { item_id, type } = e;
    const t = Date.parse(e.timestamp);
    const c = counts.get(`${item_id}\u0000${type}`);
    if (c) c.count += sign;
    else counts.set(`${item_id}\u0000${type}`, { item_id, type, count: sign });
    const weight = config.typeWeights[type] ?? 1;
    for (const h of [config.popularityShort, config.popularityLong]) {
      const k = windowIndex(h, t);
      const key = `${item_id}\u0000${h.name}\u0000${k}`;
      const add = sign * windowIncrement(h, t, weight);
      const p = popularity.get(key);
      if (p) p.value += add;
      else popularity.set(key, { item_id, horizon: h.name, window_index: k, value: add });
    }
  }
  const byKey = <T>(m: Map<string, T>) =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return { counts: byKey(counts), popularity: byKey(popularity) };
}

/** An interaction adds (+1), a retraction takes its original back (−1); nothing else counts. */
function signedInteraction(m: LogMessage): [InteractionEvent, 1 | -1] | undefined {
  if (m.kind === "interaction") return [m.event, 1];
  if (m.kind === "retraction") return [m.event.original, -1];
  return undefined;
}

/**
 * The item-detail read model: each item as last changed (`item_details`), its interaction counts by type and its
 * decayed popularity counters. Fed by catalog changes and interaction events.
 */
export function itemDetailReadModel(config: FeaturesConfig): SqlReadModel {
  return {
    name: ITEM_DETAIL_PROJECTION,

    async apply(tx: Queryable, version: number, messages: readonly LogMessage[]): Promise<void> {
      const items = latestItems(messages);
      if (items.length > 0)
        await tx.query(
          `INSERT INTO item_details (version, item_id, item_version, item)
           SELECT $1, r.item->>'item_id', (r.item->>'version')::integer, r.item
             FROM jsonb_array_elements($2::jsonb) AS r(item)
           ON CONFLICT (version, item_id) DO UPDATE SET item_version = excluded.item_version, item = excluded.item
           WHERE item_details.item_version <= excluded.item_version`,
          [version, JSON.stringify(items)],
        );
      const { counts, popularity } = detailIncrements(messages, config);
      if (counts.length > 0)
        await tx.query(
          `INSERT INTO item_detail_counts (version, item_id, type, count)
           SELECT $1, r.item_id, r.type, r.count
             FROM jsonb_to_recordset($2::jsonb) AS r(item_id text, type text, count bigint)
           ON CONFLICT (version, item_id, type) DO UPDATE SET count = item_detail_counts.count + excluded.count`,
          [version, JSON.stringify(counts)],
        );
      if (popularity.length > 0)
        await tx.query(
          `INSERT INTO item_detail_popularity (version, item_id, horizon, window_index, value)
           SELECT $1, r.item_id, r.horizon, r.window_index, r.value
             FROM jsonb_to_recordset($2::jsonb) AS r(item_id text, horizon text, window_index bigint, value bigint)
           ON CONFLICT (version, item_id, horizon, window_index)
           DO UPDATE SET value = item_detail_popularity.value + excluded.value`,
          [version, JSON.stringify(popularity)],
        );
      // A retraction may take a count or a window back to nothing: no row, as if its original never came
      // (every event adds at least 1 to both: positive type weights, increments of at least SCALE).
      const lowered = [
        ...new Set(
          messages.flatMap((m) =>
            m.kind === "retraction" && m.event.original.item_id !== undefined
              ? [m.event.original.item_id]
              : [],
          ),
        ),
      ];
      if (lowered.length > 0) {
        await tx.query(
          `DELETE FROM item_detail_counts WHERE version = $1 AND item_id = ANY($2::text[]) AND count <= 0`,
          [version, lowered],
        );
        await tx.query(
          `DELETE FROM item_detail_popularity WHERE version = $1 AND item_id = ANY($2::text[]) AND value <= 0`,
          [version, lowered],
        );
      }
    },

    async deleteVersion(tx: Queryable, version: number): Promise<number> {
      const items = await tx.query<{ n: number }>(
        `WITH d AS (DELETE FROM item_details WHERE version = $1 RETURNING 1) SELECT count(*)::int AS n FROM d`,
        [version],
      );
      await tx.query(`DELETE FROM item_detail_counts WHERE version = $1`, [version]);
      await tx.query(`DELETE FROM item_detail_popularity WHERE version = $1`, [version]);
      return items.rows[0]?.n ?? 0;
    },
  };
}
