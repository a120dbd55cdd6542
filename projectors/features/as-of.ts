import { toLogMessage, type LogRow } from "../../core/event-store/log-reader.ts";
import type { Queryable } from "../../core/postgres/database.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { FeaturesConfig } from "../../core/read-models/features-config.ts";
import { MemoryProjectionStore } from "../store/memory-store.ts";
import { dropRetracted } from "../../core/event-store/retracted-events.ts";
import { createFeaturesProjection } from "./projection.ts";
import { FeaturesReader, type UserFeatures } from "./read.ts";

/** The most log entries a temporal read replays for one user (a bound on its cost). */
export const MAX_AS_OF_ENTRIES = 200_000;

export class AsOfTooLargeError extends Error {}

const PREFIX = "asof";

/**
 * A user's features as they were at `asOf`: the log entries the projection had by then (recorded at or before
 * it: the user's interactions and retractions, and the catalog entries of the items they touched) replayed in
 * log order through the features projection into an in-process store, and read by the live read's code
 * (FeaturesReader.getUserFeatures, decayed to `asOf`). Retractions recorded by then leave their originals out,
 * as a rebuild does (core/event-store/retracted-events.ts), so it equals `reckon replay --to` at that point.
 */
export async function userFeaturesAsOf(
  db: Queryable,
  userId: string,
  asOf: Date,
  config: FeaturesConfig,
): Promise<UserFeatures> {
  const messages = await readUserLog(db, userId, asOf);
  const store = await MemoryProjectionStore.open();
  try {
    await createFeaturesProjection(store, { prefix: PREFIX, config }).applyMessages(
      dropRetracted(messages),
      "log",
    );
    return await new FeaturesReader(store, PREFIX, config).getUserFeatures(userId, asOf.getTime());
  } finally {
    await store.close();
  }
}

async function readUserLog(db: Queryable, userId: string, asOf: Date): Promise<LogMessage[]> {
  const { rows } = await db.query<LogRow>(
    `WITH visible AS (
       SELECT * FROM events WHERE received_at <= $2 AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()))
     SELECT e.position, e.transaction_id::text AS transaction_id, e.kind, e.received_at, e.payload
       FROM visible e
      WHERE (e.user_id = $1 AND e.kind IN ('interaction', 'retraction'))
         OR (e.kind = 'catalog' AND e.item_id IN (
               SELECT DISTINCT item_id FROM visible
                WHERE user_id = $1 AND kind = 'interaction' AND item_id IS NOT NULL))
      ORDER BY e.transaction_id, e.position
      LIMIT $3`,
    [userId, asOf, MAX_AS_OF_ENTRIES + 1],
  );
  if (rows.length > MAX_AS_OF_ENTRIES)
    throw new AsOfTooLargeError(`the user's log up to as_of holds more than ${MAX_AS_OF_ENTRIES} entries`);
  return rows.map(toLogMessage);
}
