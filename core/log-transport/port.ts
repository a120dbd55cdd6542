import type { LogPosition } from "../contracts/position.ts";

/**
 * The log-transport port: how the projector runtime receives the event log. An adapter hands each consumer (one
 * per projection) batches of records in log order per partition, each with its offset, and stores what the
 * consumer commits. Two adapters: Kafka (the relay publishes the log; one consumer group per projection) and the
 * Postgres tail (each consumer reads the `events` table directly with the relay's own reader, one partition 0).
 * The runtime (projectors/runtime/consumer.ts) decodes, applies, retries, isolates and dead-letters the same way
 * over either; it never asks which adapter it holds.
 */

/** One record as the transport carries it: the runtime decodes and validates the value (a LogMessage as JSON). */
export interface TransportRecord {
  /** Opaque, ordered within its partition: a Kafka offset, or the tail's position token "<xid>.<position>". */
  readonly offset: string;
  readonly key: Buffer | string | null;
  readonly value: Buffer | null;
}

/** One partition's next records for one consumer. */
export interface TransportBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly TransportRecord[];
  /** False once the consumer stops or no longer owns the partition: nothing more may be committed. */
  active(): boolean;
  /** Keeps the consumer's ownership of the partition alive during a long apply or retry. */
  keepAlive(): Promise<void>;
  /**
   * Durably marks every record up to and including `offset` as handled. `applied` is the log position the
   * projection's store holds after them (undefined when none of them reached the store): the state-loss check
   * compares it with the store's own.
   */
  commit(offset: string, applied: LogPosition | undefined): Promise<void>;
}

export interface LogSubscription {
  /** The consumer's durable name (the projection's consumer group name). */
  readonly consumer: string;
  /**
   * Handles one batch. The transport sends the next batch of a partition only after this resolves; records
   * not committed when it resolves (the consumer stopping) come again after a restart.
   */
  onBatch(batch: TransportBatch): Promise<void>;
  /** The consumer (re)joined: partitions may have moved, so cached committed positions are stale. */
  onAssigned?(): void;
}

export interface RunningSubscription {
  /** Stops fetching; a batch being handled finishes (it sees `active()` turn false). */
  stop(): Promise<void>;
}

export interface DeadLetter {
  readonly record: TransportRecord;
  readonly reason: string;
}

export interface LogTransport {
  /** For logs and the start banner; never for decisions. */
  readonly kind: "kafka" | "postgres";
  /** The name positions are stored under (the events topic; the tail uses the same name for the same layouts). */
  readonly topic: string;
  /** Starts delivering batches to `subscription` until stopped. */
  subscribe(subscription: LogSubscription): Promise<RunningSubscription>;
  /** Stores dead letters of `projector` (the projection's name) durably, or throws (the runtime retries). */
  deadLetter(projector: string, topic: string, partition: number, dead: readonly DeadLetter[]): Promise<void>;
  /** The `applied` positions the consumer last committed, by partition. */
  committedPositions(consumer: string): Promise<Map<number, LogPosition>>;
  /** The partitions records come from (Kafka: the topic's; the tail: [0]). */
  partitions(): Promise<number[]>;
  /**
   * The position up to which `consumer` has handled every log entry. `applied` reads what the consumer's store
   * holds for a partition (an idle partition never moves it, so the transport decides which partitions count).
   */
  consumerPosition(
    consumer: string,
    applied: (partition: number) => Promise<LogPosition | undefined>,
  ): Promise<LogPosition>;
  close(): Promise<void>;
}
