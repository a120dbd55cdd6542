import { defaultsOf } from "../../core/config/env.ts";
import type { Kafka } from "kafkajs";
import { logger } from "../../core/logger.ts";
import type {
  DeadLetter,
  LogTransport,
  RunningSubscription,
  TransportBatch,
  TransportRecord,
} from "../../core/log-transport/port.ts";
import { KafkaLogTransport } from "../../core/log-transport/kafka-transport.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { PartitionBatch, Projection } from "./projection.ts";
import { SharedLogDecoder } from "./decode.ts";
import { applyGuarded, checkHealth, type GuardedOutcome } from "./apply-guard.ts";
import { lastAppliedPosition, StateLossDetector, type StateLoss } from "./state-loss.ts";
import {
  projectorApplyRetries,
  projectorBatchSeconds,
  projectorIsolations,
  projectorMessages,
  projectorRejected,
  projectorStoreUnhealthy,
} from "./metrics.ts";

export const DEFAULT_GROUP_PREFIX = defaultsOf([
  "RECKON_PROJECTOR_GROUP_PREFIX",
]).RECKON_PROJECTOR_GROUP_PREFIX;

/** The Kafka transport's settings, for callers that hand the runtime Kafka rather than a transport. */
export interface KafkaRuntimeOptions {
  kafka: Kafka;
  topic: string;
  dlqTopic: string;
  /** Partitions to create the topics with when they are missing. */
  partitions: number;
}

export type ProjectorRuntimeOptions = RuntimeOptions &
  (
    | ({ transport?: undefined } & KafkaRuntimeOptions)
    | {
        /** Where batches come from (core/log-transport); the caller owns it and closes it. */
        transport: LogTransport;
      }
  );

interface RuntimeOptions {
  projections: readonly Projection[];
  /** Consumer group = prefix + projection name (tests use their own prefix). */
  groupPrefix?: string;
  /** Messages handed to one `apply` at most (a transport batch is split into chunks of this size). */
  maxBatch?: number;
  /**
   * Failed attempts of a batch before the projection's store is asked whether it is healthy (and, if it is, the
   * batch is bisected), and of a single message before it is dead-lettered (default 3; the role passes
   * RECKON_PROJECTOR_ISOLATE_AFTER).
   */
  isolateAfter?: number;
  /** A health check not answered within this is an unhealthy store (default 2000 ms). */
  healthTimeoutMs?: number;
  /**
   * Called when a projection's store holds an older position than its consumer committed (the store lost its
   * state: flushed, restarted without persistence, restored from an old copy). The batch is still applied; the
   * callback decides how to rebuild (see self-rebuild.ts).
   */
  onStateLost?: (loss: StateLoss) => void;
  /**
   * Messages no projection may apply (events of erased users still on the topic, see projectors/erasure/):
   * skipped like a drop, and the offset moves past them.
   */
  skip?: (message: LogMessage) => boolean;
  /**
   * Called after a chunk is applied with the applied messages `skip` refuses now: an erasure learnt while the
   * chunk was being applied, whose deletions may have run before the chunk's writes landed. The callback erases
   * those users' read models once more, after the writes (see projectors/erasure/).
   */
  onSkippedAfterApply?: (messages: LogMessage[]) => Promise<unknown>;
}

const DEFAULT_ISOLATE_AFTER = defaultsOf(["RECKON_PROJECTOR_ISOLATE_AFTER"]).RECKON_PROJECTOR_ISOLATE_AFTER;

/** The consumer group a projection's consumer joins. */
export const consumerGroup = (projection: string, prefix = DEFAULT_GROUP_PREFIX) => `${prefix}${projection}`;

/**
 * Runs one consumer per projection over a log transport (core/log-transport: Kafka, or the Postgres tail). A
 * chunk's position is committed only after the projection's `apply` has resolved and its dead letters are stored,
 * so a crash at any point redelivers the chunk and the projection's position guard makes the redelivery change
 * nothing. A record that is not a LogMessage, or that a projection refuses, becomes a dead letter naming why and
 * where it came from. A throwing `apply` is retried with backoff; after a few failures the store's health check
 * decides between an outage (keep retrying, nothing is skipped) and a message the store rejects (bisect the batch,
 * dead-letter that message, apply the rest in order): see apply-guard.ts.
 */
export class ProjectorRuntime {
  private readonly transport: LogTransport;
  /** Whether this runtime built its transport (from Kafka options) and so closes it. */
  private readonly ownsTransport: boolean;
  private readonly subscriptions: RunningSubscription[] = [];
  /** Shared by this runtime's consumers: each record is parsed and validated once, not once per projection. */
  private readonly decoder: SharedLogDecoder;
  private stopping = false;
  /** The batches being handled now (stop() waits for them). */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly log = logger.child({ component: "projectors" });
  /** Projections whose consumer has joined its group at least once (readiness). */
  private readonly joined = new Set<string>();
  private readonly stateLoss: StateLossDetector;

  constructor(private readonly options: ProjectorRuntimeOptions) {
    if (options.transport) {
      this.transport = options.transport;
      this.ownsTransport = false;
    } else {
      const { kafka, topic, dlqTopic, partitions } = options;
      this.transport = new KafkaLogTransport({ kafka, topic, dlqTopic, partitions });
      this.ownsTransport = true;
    }
    this.decoder = new SharedLogDecoder(options.projections.length > 1 ? 20_000 : 0);
    this.stateLoss = new StateLossDetector({
      transport: this.transport,
      groupOf: (name) => this.groupOf(name),
      onLoss: (loss) => options.onStateLost?.(loss),
    });
  }

  /** The projections whose consumer has not joined its group yet (after a crash that can take the session timeout). */
  notJoined(): string[] {
    return this.options.projections.map((p) => p.name).filter((name) => !this.joined.has(name));
  }

  groupOf(projection: string): string {
    return consumerGroup(projection, this.options.groupPrefix);
  }

  async start(): Promise<void> {
    for (const projection of this.options.projections) {
      const subscription = await this.transport.subscribe({
        consumer: this.groupOf(projection.name),
        onAssigned: () => {
          this.joined.add(projection.name);
          // A partition may come back from another member: its committed position is read again.
          this.stateLoss.forget(projection.name);
          // A store emptied while the process was down is found now, not at the next event.
          this.stateLoss
            .checkCommitted(projection)
            .catch((err: unknown) =>
              this.log.warn(
                { projection: projection.name, err: (err as Error).message },
                "state check after the join failed",
              ),
            );
        },
        onBatch: (batch) => {
          const handling = this.handleBatch(projection, batch);
          this.inFlight.add(handling);
          void handling.finally(() => this.inFlight.delete(handling)).catch(() => undefined);
          return handling;
        },
      });
      this.subscriptions.push(subscription);
    }
  }

  async stop(): Promise<void> {
    await this.stopConsumers();
    for (const p of this.options.projections) await p.close?.();
  }

  /** Stops the consumers and waits for running batches, keeping the projections open (a failed start retries). */
  async stopConsumers(): Promise<void> {
    this.stopping = true;
    const subscriptions = this.subscriptions.splice(0);
    for (const subscription of subscriptions) await subscription.stop().catch(() => undefined);
    // A batch being applied finishes (it checks `stopping` between chunks) before the stores can be closed:
    // a Redis client closed under a running cluster batch failed its pending commands after the caller moved on.
    await Promise.allSettled([...this.inFlight]);
    if (this.ownsTransport) await this.transport.close();
  }

  private async handleBatch(projection: Projection, batch: TransportBatch): Promise<void> {
    // Large chunks let the batch script merge more (one PEXPIRE per key, summed increments per chunk).
    const maxBatch = this.options.maxBatch ?? 2000;
    for (let start = 0; start < batch.records.length; start += maxBatch) {
      if (!batch.active() || this.stopping) return;
      const records = batch.records.slice(start, start + maxBatch);
      const valid: {
        offset: string;
        message: PartitionBatch["messages"][number]["message"];
        record: TransportRecord;
      }[] = [];
      const dead: DeadLetter[] = [];
      let skipped = 0;
      for (const record of records) {
        const decoded = this.decoder.decode(batch.topic, batch.partition, record.offset, record.value);
        if (decoded.ok) {
          if (this.options.skip?.(decoded.message)) skipped++;
          else valid.push({ offset: record.offset, message: decoded.message, record });
        } else dead.push({ record, reason: decoded.reason });
      }
      projectorMessages.inc({ projector: projection.name, outcome: "invalid" }, dead.length);
      if (skipped > 0) projectorMessages.inc({ projector: projection.name, outcome: "erased" }, skipped);

      let appliedOutcomes: readonly GuardedOutcome[] = [];
      if (valid.length > 0) {
        const outcomes = await this.applyWithRetry(projection, batch, valid);
        if (outcomes === undefined) return; // stopping: leave the offsets uncommitted, the batch comes again
        appliedOutcomes = outcomes;
        outcomes.forEach((outcome, i) => {
          projectorMessages.inc({ projector: projection.name, outcome: outcome.kind });
          // "rejected" messages are dead letters already (stored before the rest was applied).
          if (outcome.kind === "dead_letter") dead.push({ record: valid[i]!.record, reason: outcome.reason });
        });
        const skipsNow = this.options.skip
          ? valid.map((v) => v.message).filter((m) => this.options.skip!(m))
          : [];
        if (skipsNow.length > 0) await this.options.onSkippedAfterApply?.(skipsNow);
      }
      if (dead.length > 0 && !(await this.sendDeadLetters(projection.name, batch, dead))) return;
      const last = records[records.length - 1]!.offset;
      const appliedUpTo = lastAppliedPosition(valid, appliedOutcomes);
      // The commit carries the log position the store holds after this chunk, so a store that later holds an
      // older one is known to have lost state (state-loss.ts).
      await batch.commit(last, appliedUpTo);
      if (appliedUpTo) this.stateLoss.committed(projection.name, batch.topic, batch.partition, appliedUpTo);
    }
  }

  private async applyWithRetry(
    projection: Projection,
    batch: TransportBatch,
    valid: readonly {
      offset: string;
      message: PartitionBatch["messages"][number]["message"];
      record: TransportRecord;
    }[],
  ): Promise<GuardedOutcome[] | undefined> {
    const projector = projection.name;
    const { topic, partition } = batch;
    const healthTimeoutMs = this.options.healthTimeoutMs ?? 2000;
    const healthy = projection.healthy?.bind(projection);
    return applyGuarded(valid, {
      isolateAfter: this.options.isolateAfter ?? DEFAULT_ISOLATE_AFTER,
      apply: async (part) => {
        await this.stateLoss.check(projection, topic, partition);
        const end = projectorBatchSeconds.startTimer({ projector });
        const outcomes = await projection.apply({
          topic,
          partition,
          messages: part.map(({ offset, message }) => ({ offset, message })),
        });
        end();
        if (outcomes.length !== part.length) {
          throw new Error(
            `${projector}.apply returned ${outcomes.length} outcomes for ${part.length} messages`,
          );
        }
        return outcomes;
      },
      healthy: healthy && (() => checkHealth(healthy, healthTimeoutMs)),
      pause: (ms) => this.pause(ms, batch),
      deadLetter: async (m, reason) => {
        const sent = await this.sendDeadLetters(projector, batch, [{ record: m.record, reason }]);
        if (sent) {
          projectorRejected.inc({ projector });
          this.log.error(
            { projector, partition, offset: m.offset, reason },
            "message rejected by a healthy store; dead-lettered, the partition moves on",
          );
        }
        return sent;
      },
      onFailure: (err, messages, retryInMs) => {
        projectorApplyRetries.inc({ projector });
        this.log.warn(
          { projector, partition, messages, err: err.message, retryInMs },
          "apply failed; retrying",
        );
      },
      onUnhealthy: (err) => {
        projectorStoreUnhealthy.inc({ projector });
        this.log.warn(
          { projector, partition, err: err.message },
          "store unhealthy; retrying, nothing is skipped",
        );
      },
      onIsolate: (messages) => {
        projectorIsolations.inc({ projector });
        this.log.warn({ projector, partition, messages }, "store healthy but the batch fails; isolating");
      },
    });
  }

  private async sendDeadLetters(
    projector: string,
    batch: TransportBatch,
    dead: readonly DeadLetter[],
  ): Promise<boolean> {
    const { topic, partition } = batch;
    let backoffMs = 100;
    for (;;) {
      try {
        await this.transport.deadLetter(projector, topic, partition, dead);
        projectorMessages.inc({ projector, outcome: "dead_lettered" }, dead.length);
        this.log.warn({ projector, partition, count: dead.length, reason: dead[0]!.reason }, "dead-lettered");
        return true;
      } catch (err) {
        this.log.warn(
          { err: (err as Error).message, retryInMs: backoffMs },
          "dead letters not stored; retrying",
        );
        if (!(await this.pause(backoffMs, batch))) return false;
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    }
  }

  /** Waits, keeping the partition; false when the consumer is stopping or lost the partition. */
  private async pause(ms: number, batch: TransportBatch): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.stopping || !batch.active()) return false;
    await batch.keepAlive();
    return true;
  }
}
