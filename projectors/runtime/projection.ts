import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { LogPosition } from "../../core/contracts/position.ts";
import type { PinnedVersion } from "./version-pin.ts";

/**
 * The contract between the projector runtime (consumption over a log transport, batching, offsets, dead letters,
 * status) and each projection (features, recommendations, analytics). A projection is told what to do with a
 * batch; the runtime decides when batches come and when offsets are committed (only after `apply` resolves).
 */

/** The fate of one message, as a value (PostHog-style), never an exception lost in a log. */
export type ProjectionOutcome =
  | { kind: "ok" }
  /** Cannot be projected: becomes a dead letter with the reason (topic or table, by transport); the consumer moves on. */
  | { kind: "dead_letter"; reason: string }
  /** Deliberately ignored (e.g. an event type this projection does not use). */
  | { kind: "drop"; reason: string };

export interface PartitionBatch {
  topic: string;
  partition: number;
  /** Messages in partition order (= log order for their keys), already decoded and validated by the runtime. */
  messages: readonly { offset: string; message: LogMessage }[];
}

export interface Projection {
  /** Stable name: consumer group `reckon.projector.<name>`, metrics label, `reckon replay --projection <name>`. */
  readonly name: string;
  /**
   * Applies a batch. Every effect must be idempotent (event id or log position stored with it), so redelivery,
   * replays and restarts change nothing. Returns one outcome per message, in order. Throwing means "retry the
   * batch later"; a message known to be bad should be a `dead_letter` outcome. If it keeps throwing while
   * `healthy()` says the store is up, the runtime applies parts of the batch (in order) to find the message
   * the store rejects and dead-letters it, so `apply` must accept any contiguous part of a batch.
   */
  apply(batch: PartitionBatch): Promise<ProjectionOutcome[]>;
  /**
   * Whether the store answers (e.g. Redis PING, ClickHouse SELECT 1). Asked after repeated `apply` failures:
   * false (or no answer) means an outage, retried forever; true lets the runtime isolate a rejected message.
   * Without it every failure counts as an outage.
   */
  healthy?(): Promise<boolean>;
  /**
   * The highest log position this projection has durably applied on `partition` (stored with its effects),
   * or undefined if none. Used for status, lag and read-your-writes waits.
   */
  appliedPosition(topic: string, partition: number): Promise<LogPosition | undefined>;
  /**
   * The past checkpoint readers are pinned to (`reckon switch --version`), or undefined when they read the
   * live version. Status reports it, and a read-your-writes wait past its position is not reached.
   */
  pinnedVersion?(): Promise<PinnedVersion | undefined>;
  /**
   * Whether the store can lose state while this process runs (a separate server, e.g. Redis restarted or
   * flushed): its applied position is then compared with the committed one before every batch, else once per
   * partition after each group join (runtime/state-loss.ts).
   */
  readonly volatileStore?: boolean;
  close?(): Promise<void>;
}
