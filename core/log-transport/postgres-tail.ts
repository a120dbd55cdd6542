import type { Database, Queryable } from "../postgres/database.ts";
import { readEncodedLogBatch, readLogHead, type EncodedLogEntry } from "../event-store/log-reader.ts";
import { EVENTS_CHANNEL } from "../event-store/event-store.ts";
import {
  compareLogPositions,
  formatPositionToken,
  LOG_START,
  maxLogPosition,
  minLogPosition,
  parsePositionToken,
  type LogPosition,
} from "../contracts/position.ts";
import { logger } from "../logger.ts";
import { SharedLogReads } from "./postgres-tail-reads.ts";
import type {
  DeadLetter,
  LogSubscription,
  LogTransport,
  RunningSubscription,
  TransportBatch,
  TransportRecord,
} from "./port.ts";

/** The tail is one ordered stream: the log's own (transaction id, position) order. */
export const TAIL_PARTITION = 0;

export interface PostgresTailOptions {
  /** The database holding the log; Postgres or PGlite (every statement goes through it, never COPY). */
  db: Database;
  /** The name positions are stored under: the events topic's, so read models keep one layout in both modes. */
  topic: string;
  /** Log entries read per batch (default 2000). */
  batchSize?: number;
  /** Poll interval without a NOTIFY (also bounds the wait for a slow transaction to finish; default 100 ms). */
  pollMs?: number;
}

interface CommittedRow {
  transaction_id: string;
  position: number;
  applied_transaction_id: string | null;
  applied_position: number | null;
}

/**
 * The embedded adapter: each subscription reads the `events` table directly with the relay's own reader
 * (`(transaction id, position)` order, only below `pg_snapshot_xmin`, so a slow transaction's rows are never
 * passed over), and keeps its place in `log_consumer_positions` (migration 050). A commit NOTIFY wakes every
 * subscription (in process on PGlite; over a listening connection on a Postgres server, so another process's
 * writes wake it too); a poll covers a missed one. The subscriptions share their reads (postgres-tail-reads.ts),
 * so a commit costs one read of the log, not one per projection. A record's offset is its position token, so dead letters
 * and logs name the log entry itself.
 */
export class PostgresTailTransport implements LogTransport {
  readonly kind = "postgres";
  readonly topic: string;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly wakers = new Set<() => void>();
  private readonly reads: SharedLogReads;
  private unlisten: Promise<() => Promise<void>> | undefined;
  private readonly log = logger.child({ component: "log-tail" });

  constructor(private readonly options: PostgresTailOptions) {
    this.topic = options.topic;
    this.batchSize = options.batchSize ?? 2000;
    this.pollMs = options.pollMs ?? 100;
    this.reads = new SharedLogReads(
      (from, limit) => readEncodedLogBatch(this.options.db, from, limit),
      this.pollMs,
    );
  }

  async subscribe(subscription: LogSubscription): Promise<RunningSubscription> {
    await this.listening();
    const { consumer } = subscription;
    let cursor = await this.loadCursor(consumer);
    let stopped = false;
    let wake: (() => void) | undefined;
    // A NOTIFY that comes while a batch is being handled cuts the next wait short.
    let notified = false;
    const waker = () => {
      notified = true;
      wake?.();
    };
    this.wakers.add(waker);
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        if (notified && !stopped) {
          notified = false;
          resolve();
          return;
        }
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          notified = false;
          resolve();
        }
        wake = done;
      });

    // Shared with the other subscriptions: after a commit the caught-up ones all ask for the same range.
    const read = (from: LogPosition) => this.reads.get(from, this.batchSize);
    // The next batch, read while this one is projected (a Postgres server works meanwhile); used only when the
    // consumer committed exactly up to where it starts.
    let prefetched: { from: LogPosition; entries: Promise<EncodedLogEntry[]> } | undefined;
    const run = async () => {
      let backoffMs = 100;
      while (!stopped) {
        try {
          const ahead = prefetched;
          prefetched = undefined;
          const entries =
            ahead && compareLogPositions(ahead.from, cursor) === 0 ? await ahead.entries : await read(cursor);
          if (entries.length === this.batchSize) {
            const from = entries[entries.length - 1]!.position;
            const next = read(from);
            next.catch(() => undefined); // a failed prefetch is read again on the next turn
            prefetched = { from, entries: next };
          }
          if (entries.length === 0) {
            await sleep(this.pollMs);
            continue;
          }
          const records: TransportRecord[] = entries.map((e) => ({
            offset: formatPositionToken(e.position),
            key: e.key,
            value: Buffer.from(e.value),
          }));
          const batch: TransportBatch = {
            topic: this.topic,
            partition: TAIL_PARTITION,
            records,
            active: () => !stopped,
            keepAlive: async () => undefined,
            commit: async (offset, applied) => {
              const next = parsePositionToken(offset);
              if (!next) throw new Error(`not a tail offset: "${offset}"`);
              if (await this.storeCursor(consumer, cursor, next, applied)) cursor = next;
              else {
                // Another process moved this consumer: take its place (a redelivery changes nothing).
                this.log.warn({ consumer }, "position moved by another consumer; reloading");
                cursor = await this.loadCursor(consumer);
              }
            },
          };
          await subscription.onBatch(batch);
          backoffMs = 100;
          if (entries.length < this.batchSize) await sleep(this.pollMs);
        } catch (err) {
          this.log.warn(
            { consumer, err: (err as Error).message, retryInMs: backoffMs },
            "log tail could not read or commit; retrying",
          );
          await sleep(backoffMs);
          backoffMs = Math.min(backoffMs * 2, 5000);
          cursor = await this.loadCursor(consumer).catch(() => cursor);
        }
      }
    };
    subscription.onAssigned?.();
    const loop = run();
    return {
      stop: async () => {
        stopped = true;
        const waiting = wake;
        waiting?.();
        await loop;
        this.wakers.delete(waker);
      },
    };
  }

  async deadLetter(
    projector: string,
    topic: string,
    partition: number,
    dead: readonly DeadLetter[],
  ): Promise<void> {
    // unnest, one statement for the lot (never COPY: it ends PGlite's backend).
    await this.options.db.query(
      `INSERT INTO dead_letters (projector, source_topic, source_partition, source_offset, key, value, reason)
       SELECT $1, $2, $3, o, k, v, r FROM unnest($4::text[], $5::text[], $6::text[], $7::text[]) AS d(o, k, v, r)`,
      [
        projector,
        topic,
        partition,
        dead.map((d) => d.record.offset),
        dead.map((d) => (d.record.key === null ? null : d.record.key.toString())),
        dead.map((d) => (d.record.value === null ? null : d.record.value.toString("utf8"))),
        dead.map((d) => d.reason),
      ],
    );
  }

  async committedPositions(consumer: string): Promise<Map<number, LogPosition>> {
    const row = await this.committedRow(this.options.db, consumer);
    const positions = new Map<number, LogPosition>();
    if (row?.applied_transaction_id != null && row.applied_position != null)
      positions.set(TAIL_PARTITION, {
        transactionId: BigInt(row.applied_transaction_id),
        position: row.applied_position,
      });
    return positions;
  }

  async partitions(): Promise<number[]> {
    return [TAIL_PARTITION];
  }

  /**
   * Everything up to the committed cursor is handled, and so is everything up to what the store holds (it
   * applies in log order and dead-letters before moving on); neither can pass the visible head, read first.
   */
  async consumerPosition(
    consumer: string,
    applied: (partition: number) => Promise<LogPosition | undefined>,
  ): Promise<LogPosition> {
    const head = await readLogHead(this.options.db);
    const cursor = await this.loadCursor(consumer);
    const stored = (await applied(TAIL_PARTITION)) ?? LOG_START;
    return minLogPosition(head, maxLogPosition(cursor, stored));
  }

  async close(): Promise<void> {
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    await unlisten?.then((stop) => stop()).catch(() => undefined);
  }

  private listening(): Promise<unknown> {
    this.unlisten ??= this.options.db
      .listen(EVENTS_CHANNEL, () => {
        this.reads.committed();
        for (const wake of this.wakers) wake();
      })
      .catch((err: unknown) => {
        this.unlisten = undefined;
        throw err;
      });
    return this.unlisten;
  }

  private async committedRow(db: Queryable, consumer: string): Promise<CommittedRow | undefined> {
    const { rows } = await db.query<CommittedRow>(
      `SELECT transaction_id::text AS transaction_id, position,
              applied_transaction_id::text AS applied_transaction_id, applied_position
         FROM log_consumer_positions WHERE consumer = $1 AND topic = $2 AND partition = $3`,
      [consumer, this.topic, TAIL_PARTITION],
    );
    return rows[0];
  }

  private async loadCursor(consumer: string): Promise<LogPosition> {
    const row = await this.committedRow(this.options.db, consumer);
    return row ? { transactionId: BigInt(row.transaction_id), position: row.position } : LOG_START;
  }

  /** Compare-and-set from `expected` to `next`; false when another consumer moved it meanwhile. */
  private async storeCursor(
    consumer: string,
    expected: LogPosition,
    next: LogPosition,
    applied: LogPosition | undefined,
  ): Promise<boolean> {
    if (compareLogPositions(next, expected) <= 0) return true;
    const { rows } = await this.options.db.query(
      `INSERT INTO log_consumer_positions AS t
              (consumer, topic, partition, transaction_id, position, applied_transaction_id, applied_position)
       VALUES ($1, $2, $3, $6::text::xid8, $7, $8::text::xid8, $9)
       ON CONFLICT (consumer, topic, partition) DO UPDATE SET
              transaction_id = EXCLUDED.transaction_id, position = EXCLUDED.position,
              applied_transaction_id = COALESCE(EXCLUDED.applied_transaction_id, t.applied_transaction_id),
              applied_position = COALESCE(EXCLUDED.applied_position, t.applied_position),
              updated_at = now()
        WHERE t.transaction_id = $4::text::xid8 AND t.position = $5
       RETURNING consumer`,
      [
        consumer,
        this.topic,
        TAIL_PARTITION,
        expected.transactionId.toString(),
        expected.position,
        next.transactionId.toString(),
        next.position,
        applied?.transactionId.toString() ?? null,
        applied?.position ?? null,
      ],
    );
    return rows.length === 1;
  }
}
