import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { RetractedRow } from "./rows.ts";
import type { ExperimentTotals } from "./experiment-totals.ts";

/**
 * Undoes retracted events in the analytics tables, after the batch's inserts (so an original and its retraction
 * in one batch end deleted): the events' rows go from `events` and `user_events` (lightweight deletes), the
 * first exposures of the (experiment, user) pairs a retracted exposure belonged to are recomputed from the
 * remaining events (an argMin state cannot lose a value), and the per-user totals of the users concerned are
 * recomputed by the same code as after an insert (a pair left with no exposure loses its row). Applying it
 * again deletes nothing more and recomputes the same values.
 */
export async function undoRetracted(
  ch: ClickHouseStore,
  database: string,
  retracted: readonly RetractedRow[],
  totals: ExperimentTotals | undefined,
): Promise<void> {
  if (retracted.length === 0) return;
  const ids = [...new Set(retracted.map((r) => r.event_id))];
  const users = [...new Set(retracted.map((r) => r.user_id))];
  const params = { ids, users };
  await ch.command(
    `DELETE FROM ${database}.events WHERE user_id IN {users:Array(String)} AND toString(event_id) IN {ids:Array(String)}`,
    params,
  );
  await ch.command(
    `DELETE FROM ${database}.user_events WHERE user_id IN {users:Array(String)} AND toString(event_id) IN {ids:Array(String)}`,
    params,
  );
  const pairs = [
    ...new Set(
      retracted
        .filter((r) => r.type === "exposure" && r.experiment_key !== "")
        .map((r) => `${r.experiment_key}\u0000${r.user_id}`),
    ),
  ];
  if (pairs.length > 0) {
    const pair = "concat(toString(experiment_key), '\\0', user_id) IN {pairs:Array(String)}";
    await ch.command(`DELETE FROM ${database}.first_exposures WHERE ${pair}`, { pairs });
    // The materialized view's own SELECT (migrations/002), over the pairs' remaining exposures.
    await ch.command(
      `INSERT INTO ${database}.first_exposures
       SELECT experiment_key, user_id, min(at), argMinState(v, (at, id)), argMinState(d, (at, id)),
              argMinState(p, (at, id)), argMinState(c, (at, id)), argMinState(l, (at, id)), argMinState(av, (at, id))
         FROM (SELECT toString(experiment_key) AS experiment_key, user_id, occurred_at AS at, event_id AS id,
                      toString(variant) AS v, toString(device) AS d, toString(platform) AS p,
                      toString(country) AS c, toString(locale) AS l, toString(app_version) AS av
                 FROM ${database}.events
                WHERE type = 'exposure' AND experiment_key != '' AND ${pair})
        GROUP BY experiment_key, user_id`,
      { pairs },
    );
    await ch.command(`DELETE FROM ${database}.experiment_user_totals WHERE ${pair}`, { pairs });
  }
  // Recomputes the rows of the users still exposed whose retracted events a running experiment reads.
  await totals?.afterInsert(retracted);
}
