import { toLogMessage, type LogRow } from "../../core/event-store/log-reader.ts";
import { randomBytes } from "node:crypto";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { Queryable } from "../../core/postgres/database.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { dropRetracted } from "../../core/event-store/retracted-events.ts";
import { ANALYTICS_DATABASE, createAnalyticsSchema } from "./migrate.ts";
import { createAnalyticsProjection } from "./projection.ts";

/** The most log entries one temporal read of an experiment projects (a bound on its cost). */
export const MAX_EXPERIMENT_AS_OF_ENTRIES = 2_000_000;

export class ExperimentAsOfTooLargeError extends Error {}

/**
 * Runs `read` over the analytics tables as they were at `asOf` for one experiment: the log entries recorded by
 * then of the users exposed to it by then (their interactions and retractions, retracted events left out as a
 * rebuild does) are projected by the analytics projection into a scratch database, and `read` gets a store
 * whose statements name that database wherever they say `reckon.`, so the live read's SQL runs unchanged. The
 * scratch database is dropped afterwards. Results come from the events (no per-user totals are kept there).
 */
export async function withAnalyticsAsOf<T>(
  db: Queryable,
  ch: ClickHouseStore,
  experimentKey: string,
  asOf: Date,
  read: (asOfStore: ClickHouseStore) => Promise<T>,
): Promise<T> {
  const scratch = `${ANALYTICS_DATABASE}_asof_${randomBytes(6).toString("hex")}`;
  await createAnalyticsSchema(ch, scratch);
  try {
    const messages = dropRetracted(await readExperimentLog(db, experimentKey, asOf));
    const projection = createAnalyticsProjection({ clickhouse: ch, database: scratch, migrate: false });
    for (let i = 0; i < messages.length; i += 5000) {
      const part = messages.slice(i, i + 5000);
      await projection.apply({
        topic: "as_of",
        partition: 0,
        messages: part.map((message) => ({ offset: String(message.position), message })),
      });
    }
    return await read(inDatabase(ch, scratch));
  } finally {
    await ch.command(`DROP DATABASE IF EXISTS ${scratch} SYNC`);
  }
}

/** `ch` with `reckon.` in statement text read as `<database>.` (the database name is ours, not input). */
export function inDatabase(ch: ClickHouseStore, database: string): ClickHouseStore {
  const rename = (sql: string) => sql.replace(/\breckon\./g, `${database}.`);
  return {
    command: (sql, params) => ch.command(rename(sql), params),
    query: (sql, params) => ch.query(rename(sql), params),
    insert: (table, rows) => ch.insert(rename(table), rows),
    ping: () => ch.ping(),
    close: async () => undefined, // the caller's store stays open
  };
}

async function readExperimentLog(db: Queryable, experimentKey: string, asOf: Date): Promise<LogMessage[]> {
  const { rows } = await db.query<LogRow>(
    `WITH visible AS (
       SELECT * FROM events WHERE received_at <= $2 AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()))
     SELECT e.position, e.transaction_id::text AS transaction_id, e.kind, e.received_at, e.payload
       FROM visible e
      WHERE e.kind IN ('interaction', 'retraction')
        AND e.user_id IN (SELECT DISTINCT user_id FROM visible
                           WHERE kind = 'interaction' AND type = 'exposure' AND payload->'experiment'->>'key' = $1)
      ORDER BY e.transaction_id, e.position
      LIMIT $3`,
    [experimentKey, asOf, MAX_EXPERIMENT_AS_OF_ENTRIES + 1],
  );
  if (rows.length > MAX_EXPERIMENT_AS_OF_ENTRIES)
    throw new ExperimentAsOfTooLargeError(
      `the experiment's users' log up to as_of holds more than ${MAX_EXPERIMENT_AS_OF_ENTRIES} entries`,
    );
  return rows.map(toLogMessage);
}
