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
 * `reckon.projection_positions`. One INSERT per table per batch. The position row is written last, so a crash
 * mid-batch only means the batch is applied again; the batch that can come again after a crash or a failed
 * write is checked against what `events` and `recommendation_items` hold, and rows already there are not
 * written twice (RedeliveryCheck). Other copies (catalog rows, exposures) carry the same keys, which the
 * ReplacingMergeTree/AggregatingMergeTree tables collapse and readers dedupe with FINAL.
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
    // Totals are recomputed from what is stored, so they see every event of the batch, including rows a
    // redelivered batch did not write again (RedeliveryCheck): a crash may have come between those rows and this.
    await totals?.afterInsert(jobs.flatMap((j) => j.batchEvents));
    await undoRetracted(
      ch,
      database,
      jobs.flatMap((j) => j.retracted),
      totals,
    );
    const positions = jobs.flatMap((j) => (j.position ? [j.position] : []));
    if (positions.length > 0) await ch.insert(`${database}.projection_positions`, positions);
  }, options.minWriteIntervalMs ?? 0);
  const redelivery = new RedeliveryCheck(ch, database);
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
      const partitionKey = `${batch.topic}:${batch.partition}`;
      const stored = await redelivery.storedPositions(partitionKey, events, served);
      const job = {
        events: stored ? events.filter((row) => !stored.events.has(row.position)) : events,
        batchEvents: events,
        items,
        served: stored ? served.filter((row) => !stored.served.has(row.position)) : served,
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
      };
      try {
        await writer.submit(job);
      } catch (err) {
        redelivery.failed(partitionKey); // part of the write may have landed: the retry checks again
        throw err;
      }
      redelivery.written(partitionKey, stored);
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

/**
 * Keeps a redelivered batch from writing its `events` and `recommendation_items` rows a second time. A batch
 * comes again when its write reached ClickHouse but its commit did not reach the transport: the process was
 * killed in between, or the write failed part-way (its rows went in, a later table's did not) and is retried.
 * Both tables are ReplacingMergeTrees and would fold such copies only at some later merge, so a plain `count()`
 * would see them meanwhile. Only the first batch of a partition after the projection opens, and the batch after
 * a failed write, can hold such rows; those batches look up which of their log positions each table holds and
 * leave those rows out. Checking continues while a checked batch still finds rows (a transport may hand the
 * uncommitted range over in smaller batches than it was written in). A log position names one log entry, so it
 * identifies the rows an entry produced.
 */
class RedeliveryCheck {
  /** Partitions whose next batch is looked up: all of them until their first batch. */
  private readonly settled = new Set<string>();

  constructor(
    private readonly ch: ClickHouseStore,
    private readonly database: string,
  ) {}

  /** The positions already stored for this batch's rows, or undefined when the batch needs no look-up. */
  async storedPositions(
    partition: string,
    events: readonly EventRow[],
    served: readonly RecommendationItemRow[],
  ): Promise<Stored | undefined> {
    if (this.settled.has(partition)) return undefined;
    return {
      looked: events.length + served.length,
      events: await this.positionsIn("events", events),
      served: await this.positionsIn("recommendation_items", served),
    };
  }

  /** A batch whose rows were looked up and none was stored: the partition is past what was written before. */
  written(partition: string, stored: Stored | undefined): void {
    if (stored && stored.looked > 0 && stored.events.size === 0 && stored.served.size === 0)
      this.settled.add(partition);
  }

  failed(partition: string): void {
    this.settled.delete(partition);
  }

  private async positionsIn(table: string, rows: readonly { position: number }[]): Promise<Set<number>> {
    const positions = [...new Set(rows.map((r) => r.position))];
    if (positions.length === 0) return new Set();
    // Positions are safe integers from the log (checked when the row was built), so they are inlined.
    const found = await this.ch.query<{ position: string | number }>(
      `SELECT DISTINCT position FROM ${this.database}.${table} WHERE position IN (${positions.join(",")})`,
    );
    return new Set(found.map((r) => Number(r.position)));
  }
}

interface Stored {
  /** Rows looked up (a batch of catalog changes alone has none, and settles nothing). */
  looked: number;
  events: Set<number>;
  served: Set<number>;
}

/** What one partition batch writes: its rows, and its last log position (none if no message had one). */
interface BatchRows {
  /** The rows to insert: the batch's events less those a redelivery finds already stored. */
  events: EventRow[];
  /** Every event of the batch, stored before or not: what the per-user totals are recomputed for. */
  batchEvents: EventRow[];
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
