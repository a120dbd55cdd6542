import { replayProgressBar } from "../runtime/replay-progress.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import {
  compareLogPositions,
  formatPositionToken,
  LOG_START,
  type LogPosition,
} from "../../core/contracts/position.ts";
import { logger } from "../../core/logger.ts";
import type { Queryable } from "../../core/postgres/database.ts";
import {
  countLogAfter,
  readLogBatch,
  readLogHead,
  toLogPosition,
} from "../../core/event-store/log-reader.ts";
import { REPLAY_SOURCE } from "../../core/read-models/keys.ts";
import { ANALYTICS_DATABASE, createAnalyticsSchema, migrateAnalyticsSchema } from "./migrate.ts";
import { ANALYTICS_PROJECTION_NAME, createAnalyticsProjection } from "./projection.ts";
import { ExperimentTotals, postgresRunningExperiments } from "./experiment-totals.ts";

export interface AnalyticsReplayOptions {
  db: Queryable;
  clickhouse: ClickHouseStore;
  /** The live events topic and its partition count: the new tables record positions for its partitions. */
  topic: string;
  partitions: number;
  /** Rebuild from after this position (default: the start of the log). */
  from?: LogPosition;
  /**
   * Build the tables as they were at this position into their own database (`reckon_at_<tx>_<position>`, or
   * `sideDatabase`) and keep them there, beside the live ones, to be queried (`reckon replay --to`).
   */
  to?: LogPosition;
  batchSize?: number;
  /** The live projection's name (its rows in projection_positions); default "analytics". */
  name?: string;
  /** Where the new tables are built; default `reckon_rebuild`. Dropped first if a dead rebuild left it. */
  sideDatabase?: string;
  progress?: boolean;
  /** After each applied batch; a returned promise is awaited before the next one. */
  onBatch?: (applied: number) => unknown;
}

export interface AnalyticsReplayResult {
  projection: string;
  database: string;
  sideDatabase: string;
  /** Events replayed into the side tables before the switch. */
  events: number;
  /** Events replayed again into the switched tables: what the live consumer applied around the switch. */
  caughtUp: number;
  seconds: number;
  eventsPerSecond: number;
  /** The rebuild's last position before the switch, and the log head the catch-up replayed to. */
  position: string;
  head: string;
  exchanged: string[];
}

/**
 * Rebuilds the ClickHouse read model from the Postgres log beside the live one, then switches readers to it:
 *
 * 1. The side database gets the whole schema (same migrations, database name substituted) and the log from
 *    `from` up to its current end (position R), with a progress bar and the rate.
 * 2. Each table of the side database is swapped with its live namesake (`EXCHANGE TABLES`, atomic per table
 *    on the Atomic engine). Readers keep their table names. The materialized view feeding first_exposures
 *    names its tables, so after the swap `reckon.first_exposures_mv` reads the new `reckon.events` into the
 *    new `reckon.first_exposures` (checked by the test).
 * 3. Catch-up: the live consumer kept inserting into the old tables until the swap, and an insert in flight
 *    during the swaps may have landed in an old table (or gone through the view into the other generation).
 *    Everything the live consumer can have applied is in the log at or below its head read after the swap
 *    (H), so the range (R, H] is replayed into the new tables; every table collapses duplicates by key,
 *    so rows the live consumer also wrote there change nothing. Positions H are recorded for every partition.
 * 4. The side database, now holding the old tables, is dropped.
 *
 * The live consumer keeps running throughout. Between two swaps a reader may briefly see a new `events`
 * beside an old `first_exposures` (a few milliseconds; the catch-up does not change that window).
 */
export async function replayAnalytics(options: AnalyticsReplayOptions): Promise<AnalyticsReplayResult> {
  const { db, clickhouse: ch, topic, partitions } = options;
  const name = options.name ?? ANALYTICS_PROJECTION_NAME;
  const live = ANALYTICS_DATABASE;
  const side =
    options.sideDatabase ??
    (options.to
      ? `${ANALYTICS_DATABASE}_at_${options.to.transactionId}_${options.to.position}`
      : `${ANALYTICS_DATABASE}_rebuild`);
  const batchSize = options.batchSize ?? 5000;

  await migrateAnalyticsSchema(ch); // the live tables must have every migration the side tables get
  await ch.command(`DROP DATABASE IF EXISTS ${side} SYNC`);
  await createAnalyticsSchema(ch, side);
  const into = (database: string) =>
    createAnalyticsProjection({ clickhouse: ch, name, database, migrate: false });
  const rebuild = into(side);
  const apply = async (target: typeof rebuild, messages: readonly LogMessage[]) => {
    const outcomes = await target.apply({
      topic: REPLAY_SOURCE,
      partition: 0,
      messages: messages.map((message) => ({ offset: String(message.position), message })),
    });
    return outcomes.length;
  };

  let position = options.from ?? LOG_START;
  let total = await countLogAfter(db, position);
  const bar = replayProgressBar(`${name} into ${side}`, options.progress);
  bar?.start(total, 0, { rate: 0 });
  const started = Date.now();
  let events = 0;
  // The rebuild goes up to the log head as it is now, not as it grows: chasing a head that the live traffic
  // moves faster than this loop applies would never end (the catch-up after the switch replays the rest).
  const head0 = await readLogHead(db);
  const target = options.to && compareLogPositions(options.to, head0) < 0 ? options.to : head0;
  const upToTarget = (batch: Awaited<ReturnType<typeof readLogBatch>>) =>
    batch.filter((m) => compareLogPositions(toLogPosition(m), target) <= 0);
  let next = readLogBatch(db, position, batchSize);
  for (;;) {
    const read = await next;
    const batch = upToTarget(read);
    if (batch.length === 0) break;
    position = toLogPosition(batch[batch.length - 1]!);
    const done = batch.length < read.length || read.length < batchSize;
    // Postgres reads the next batch while ClickHouse inserts this one.
    if (!done) {
      next = readLogBatch(db, position, batchSize);
      next.catch(() => undefined); // awaited on the next turn
    }
    events += await apply(rebuild, batch);
    await options.onBatch?.(events);
    if (events > total) total = events;
    bar?.setTotal(total);
    bar?.update(events, { rate: Math.round(events / Math.max((Date.now() - started) / 1000, 0.001)) });
    if (done) break;
  }
  bar?.stop();
  const rebuilt = position;
  await recordPositions(ch, side, name, topic, partitions, rebuilt);
  if (options.to) return keepBeside(options, { ch, db, name, side, events, started, rebuilt });

  const exchanged = await exchangeTables(ch, live, side);
  const head = await readLogHead(db);
  let caughtUp = 0;
  let from = rebuilt;
  const current = into(live);
  while (compareLogPositions(from, head) < 0) {
    const batch = (await readLogBatch(db, from, batchSize)).filter(
      (m) => compareLogPositions(toLogPosition(m), head) <= 0,
    );
    if (batch.length === 0) break;
    caughtUp += await apply(current, batch);
    from = toLogPosition(batch[batch.length - 1]!);
  }
  await recordPositions(ch, live, name, topic, partitions, maxPosition(rebuilt, head));
  await ch.command(`DROP DATABASE IF EXISTS ${side} SYNC`);
  // The replay maintained no per-user experiment totals (one rebuild beats recomputing users batch by
  // batch); until this finishes, results of running experiments are computed from the events.
  await new ExperimentTotals({
    clickhouse: ch,
    source: postgresRunningExperiments(db),
    database: live,
  }).rebuildAll();

  const seconds = (Date.now() - started) / 1000;
  const result: AnalyticsReplayResult = {
    projection: name,
    database: live,
    sideDatabase: side,
    events,
    caughtUp,
    seconds,
    eventsPerSecond: Math.round(events / Math.max(seconds, 0.001)),
    position: formatPositionToken(rebuilt),
    head: formatPositionToken(head),
    exchanged,
  };
  logger.info(result, "analytics replay finished; readers switched to the rebuilt tables");
  return result;
}

/** `to`: the side database stays as built, with its per-user totals; the live tables are left alone. */
async function keepBeside(
  options: AnalyticsReplayOptions,
  built: {
    ch: ClickHouseStore;
    db: Queryable;
    name: string;
    side: string;
    events: number;
    started: number;
    rebuilt: LogPosition;
  },
): Promise<AnalyticsReplayResult> {
  const { ch, db, name, side, events, started, rebuilt } = built;
  await new ExperimentTotals({
    clickhouse: ch,
    source: postgresRunningExperiments(db),
    database: side,
  }).rebuildAll();
  const seconds = (Date.now() - started) / 1000;
  const result: AnalyticsReplayResult = {
    projection: name,
    database: side,
    sideDatabase: side,
    events,
    caughtUp: 0,
    seconds,
    eventsPerSecond: Math.round(events / Math.max(seconds, 0.001)),
    position: formatPositionToken(rebuilt),
    head: formatPositionToken(options.to!),
    exchanged: [],
  };
  logger.info(result, "analytics replay finished beside the live tables");
  return result;
}

const maxPosition = (a: LogPosition, b: LogPosition) => (compareLogPositions(a, b) >= 0 ? a : b);

/**
 * Everything up to `at` is in `database`: status and lag read the positions of the live topic's partitions, so
 * each gets `at` (the live consumer's own rows only ever add higher ones).
 */
async function recordPositions(
  ch: ClickHouseStore,
  database: string,
  name: string,
  topic: string,
  partitions: number,
  at: LogPosition,
): Promise<void> {
  if (compareLogPositions(at, LOG_START) === 0) return;
  const appliedAt = new Date();
  await ch.insert(
    `${database}.projection_positions`,
    Array.from({ length: partitions }, (_, partition) => ({
      projection_name: name,
      topic,
      partition,
      log_order: ((at.transactionId << 64n) | BigInt(at.position)).toString(),
      transaction_id: at.transactionId.toString(),
      position: at.position,
      applied_at: appliedAt,
    })),
  );
}

/**
 * Swaps every table (not view) of `side` with its namesake in `live`. `first_exposures` goes before `events`:
 * an insert between the two swaps then feeds the new first_exposures from the old events (its rows come
 * back with the catch-up) rather than the old first_exposures from the new events.
 */
export async function exchangeTables(ch: ClickHouseStore, live: string, side: string): Promise<string[]> {
  const rows = await ch.query<{ name: string }>(
    `SELECT name FROM system.tables
      WHERE database = {side:String} AND engine NOT LIKE '%View'
        AND name IN (SELECT name FROM system.tables WHERE database = {live:String})`,
    { side, live },
  );
  const rank = (t: string) => (t === "first_exposures" ? 0 : t === "projection_positions" ? 2 : 1);
  const tables = rows.map((r) => r.name).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const table of tables) await ch.command(`EXCHANGE TABLES ${live}.${table} AND ${side}.${table}`);
  return tables;
}
