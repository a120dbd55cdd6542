import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import { compareLogPositions, type LogPosition } from "../../core/contracts/position.ts";
import type { PartitionBatch, Projection, ProjectionOutcome } from "../runtime/projection.ts";
import { ANALYTICS_DATABASE, createAnalyticsSchema, migrateAnalyticsSchema } from "./migrate.ts";
import { toRow, type EventRow, type ItemRow, type RecommendationItemRow, type RetractedRow } from "./rows.ts";
import { undoRetracted } from "./undo.ts";
import { ExperimentTotals, type RunningExperimentsSource } from "./experiment-totals.ts";
import { GroupCommit } from "./group-commit.ts";

export const ANALYTICS_PROJECTION_NAME = "analytics";

export interface AnalyticsProjectionOptions {
  clickhouse: ClickHouseStore;
  /** Default "analytics": the consumer group, the metrics label and the key of its stored positions. */
  name?: string;
  /** Default true: create or upgrade the schema before the first batch. */
  migrate?: boolean;
  /**
   * Default `reckon` (what readers query). Another database gets the same schema (`createAnalyticsSchema`);
   * a rebuild writes into such a side database before exchanging its tables with the live ones.
   */
  database?: string;
  /**
   * Running experiments (Postgres in production): when given, each batch also maintains the per-user
   * totals of the running experiments its users were exposed to (`experiment_user_totals`), which let
   * results read one row per user. Without it the table stays empty and results read the events.
   */
  experiments?: RunningExperimentsSource;
  /**
   * The least time between the starts of two writes (`RECKON_ANALYTICS_WRITE_INTERVAL_MS`, default 200): under
   * load, the partition batches of that time go in one INSERT per table. 0 writes as soon as the previous write
   * is done (the rebuild and the tests, which want each batch stored when `apply` returns at once).
   */
  minWriteIntervalMs?: number;
}

/**
 * The analytics projection: interaction events into `reckon.events` (first exposures follow through a
 * materialized view), catalog changes into `reckon.items`, then the batch's last log position into
 * `reckon.projection_positions`. One INSERT per table per batch. Redelivery re-inserts rows with the same
 * keys, which the ReplacingMergeTree/AggregatingMergeTree tables collapse and readers dedupe with FINAL,
 * so nothing is ever counted twice; the position row is written last, so a crash mid-batch only means
 * the batch is applied again.
 */
export function createAnalyticsProjection(options: AnalyticsProjectionOptions): Projection {
  const ch = options.clickhouse;
  const name = options.name ?? ANALYTICS_PROJECTION_NAME;
  const database = options.database ?? ANALYTICS_DATABASE;
  const totals = options.experiments
    ? new ExperimentTotals({ clickhouse: ch, source: options.experiments, database })
    : undefined;
  // Concurrent partitions' batches written together (group-commit.ts); each batch's position row is written
  // after the rows it covers, in the same write, so a failure leaves nothing that says "applied".
  const writer = new GroupCommit<BatchRows>(async (jobs) => {
    const events = jobs.flatMap((j) => j.events);
    const items = jobs.flatMap((j) => j.items);
    const served = jobs.flatMap((j) => j.served);
    for (const chunk of byPartitionLimit(events)) await ch.insert(`${database}.events`, chunk);
    for (const chunk of byPartitionLimit(served.map(withOccurredAt)))
      await ch.insert(
        `${database}.recommendation_items`,
        chunk.map(({ row }) => row),
      );
    // An empty INSERT still waits its turn at the engine (one operation at a time) behind queries.
    if (items.length > 0) await ch.insert(`${database}.items`, items);
    await totals?.afterInsert(events);
    await undoRetracted(
      ch,
      database,
      jobs.flatMap((j) => j.retracted),
      totals,
    );
    const positions = jobs.flatMap((j) => (j.position ? [j.position] : []));
    if (positions.length > 0) await ch.insert(`${database}.projection_positions`, positions);
  }, options.minWriteIntervalMs ?? 0);
  let ready: Promise<unknown> | undefined;
  const ensureSchema = (): Promise<unknown> => {
    if (options.migrate === false) return Promise.resolve();
    ready ??= (
      database === ANALYTICS_DATABASE ? migrateAnalyticsSchema(ch) : createAnalyticsSchema(ch, database)
    ).catch((error: unknown) => {
      ready = undefined; // retry on the next batch rather than failing forever
      throw error;
    });
    return ready;
  };

  return {
    name,

    async apply(batch: PartitionBatch): Promise<ProjectionOutcome[]> {
      await ensureSchema();
      const events: EventRow[] = [];
      const items: ItemRow[] = [];
      const served: RecommendationItemRow[] = [];
      const retracted: RetractedRow[] = [];
      const outcomes: ProjectionOutcome[] = [];
      let last: LogPosition | undefined;
      for (const { message } of batch.messages) {
        const mapped = toRow(message);
        if (mapped.table === "events") events.push(mapped.row);
        else if (mapped.table === "items") items.push(mapped.row);
        else if (mapped.table === "recommendation_items") served.push(...mapped.rows);
        else if (mapped.table === "retractions") retracted.push(mapped.row);
        outcomes.push(
          mapped.table === null ? { kind: mapped.outcome, reason: mapped.reason } : { kind: "ok" },
        );
        const at = logPositionOf(message);
        if (at && (!last || compareLogPositions(at, last) > 0)) last = at;
      }
      await writer.submit({
        events,
        items,
        served,
        retracted,
        position: last && {
          projection_name: name,
          topic: batch.topic,
          partition: batch.partition,
          log_order: ((last.transactionId << 64n) | BigInt(last.position)).toString(),
          transaction_id: last.transactionId.toString(),
          position: last.position,
          applied_at: new Date(),
        },
      });
      return outcomes;
    },

    // Both stores a batch needs: ClickHouse, and the running experiments' source when totals are kept.
    healthy: async () => (await ch.ping()) && ((await options.experiments?.healthy?.()) ?? true),

    async appliedPosition(topic: string, partition: number): Promise<LogPosition | undefined> {
      await ensureSchema();
      const rows = await ch.query<{ transaction_id: string; position: string }>(
        `SELECT transaction_id, position FROM ${database}.projection_positions
          WHERE projection_name = {projection:String} AND topic = {topic:String} AND partition = {partition:UInt32}
          ORDER BY log_order DESC LIMIT 1`,
        { projection: name, topic, partition },
      );
      const row = rows[0];
      return row ? { transactionId: BigInt(row.transaction_id), position: Number(row.position) } : undefined;
    },
  };
}

/** What one partition batch writes: its rows, and its last log position (none if no message had one). */
interface BatchRows {
  events: EventRow[];
  items: ItemRow[];
  served: RecommendationItemRow[];
  /** Retracted events, undone after the inserts (undo.ts). */
  retracted: RetractedRow[];
  position: PositionRow | undefined;
}

/** The partition-limit split keys on `occurred_at`; a served row's month is that of `served_at`. */
const withOccurredAt = (row: RecommendationItemRow) => ({ occurred_at: row.served_at, row });

type PositionRow = {
  projection_name: string;
  topic: string;
  partition: number;
  log_order: string;
  transaction_id: string;
  position: number;
  applied_at: Date;
};

/** Undefined for a message whose envelope is malformed (it is dead-lettered and does not move the position). */
function logPositionOf(message: { transaction_id?: unknown; position?: unknown }): LogPosition | undefined {
  if (typeof message.transaction_id !== "string" || !/^\d{1,20}$/.test(message.transaction_id))
    return undefined;
  if (typeof message.position !== "number" || !Number.isSafeInteger(message.position)) return undefined;
  return { transactionId: BigInt(message.transaction_id), position: message.position };
}

/**
 * `events` is partitioned by month, and ClickHouse refuses an INSERT touching more than 100 partitions
 * (max_partitions_per_insert_block). Live batches touch one or two months; a historical backfill can span
 * decades, so its rows are split into inserts of at most MAX_MONTHS_PER_INSERT months each (in month order).
 */
export const MAX_MONTHS_PER_INSERT = 100;

export function byPartitionLimit<T extends { occurred_at: string }>(rows: readonly T[]): T[][] {
  const byMonth = new Map<string, T[]>();
  for (const row of rows) {
    const month = row.occurred_at.slice(0, 7);
    const group = byMonth.get(month);
    if (group) group.push(row);
    else byMonth.set(month, [row]);
  }
  if (byMonth.size <= MAX_MONTHS_PER_INSERT) return rows.length === 0 ? [] : [rows as T[]];
  const months = [...byMonth.keys()].sort();
  const chunks: T[][] = [];
  for (let i = 0; i < months.length; i += MAX_MONTHS_PER_INSERT) {
    chunks.push(months.slice(i, i + MAX_MONTHS_PER_INSERT).flatMap((m) => byMonth.get(m)!));
  }
  return chunks;
}
