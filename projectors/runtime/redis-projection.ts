import type { RedisClient } from "../../core/redis/redis.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { LogPosition } from "../../core/contracts/position.ts";
import { toLogPosition } from "../../ingest/relay/log-reader.ts";
import type { PartitionBatch, Projection, ProjectionOutcome } from "./projection.ts";
import { appliedField } from "./keys.ts";
import { applyOpsBatch, readAppliedPosition, type BatchTarget, type Op } from "./redis-batch.ts";

/** What a Redis projection does with one message: effects to apply, or a reason to ignore it. */
export type OpsDecision = { ops: Op[] } | { drop: string };

export interface RedisProjectionOptions {
  name: string;
  /** Short key namespace (see keys.ts). */
  ns: string;
  redis: RedisClient;
  prefix: string;
  /** Pure: the effects of one message. `nowMs` only sets key lifetimes, never stored values. */
  decide(message: LogMessage, nowMs: number): OpsDecision;
}

/**
 * A projection whose effects are Redis ops applied through the batch script (idempotent by log position).
 * `applyTo` lets a rebuild write the same effects into another version.
 */
export class RedisProjection implements Projection {
  readonly name: string;

  constructor(private readonly options: RedisProjectionOptions) {
    this.name = options.name;
  }

  target(version?: number): BatchTarget {
    const { prefix, ns, name } = this.options;
    return version === undefined
      ? { prefix, ns, projection: name }
      : { prefix, ns, projection: name, version };
  }

  get ns(): string {
    return this.options.ns;
  }

  get prefix(): string {
    return this.options.prefix;
  }

  get redis(): RedisClient {
    return this.options.redis;
  }

  async apply(batch: PartitionBatch): Promise<ProjectionOutcome[]> {
    return this.applyMessages(
      batch.messages.map((m) => m.message),
      appliedField(batch.topic, batch.partition),
    );
  }

  /** Applies messages (in log order for their keys) as one atomic, position-guarded batch. */
  async applyMessages(
    messages: readonly LogMessage[],
    source: string,
    version?: number,
  ): Promise<ProjectionOutcome[]> {
    const now = Date.now();
    const outcomes: ProjectionOutcome[] = [];
    const opsMessages = messages.map((message) => {
      const decision = this.options.decide(message, now);
      const ops = "ops" in decision ? decision.ops : [];
      outcomes.push("ops" in decision ? { kind: "ok" } : { kind: "drop", reason: decision.drop });
      return { position: toLogPosition(message), ops };
    });
    // Dropped messages still go through the script: their positions advance the applied position.
    if (opsMessages.length > 0)
      await applyOpsBatch(this.options.redis, this.target(version), source, opsMessages);
    return outcomes;
  }

  async healthy(): Promise<boolean> {
    return (await this.options.redis.ping()) === "PONG";
  }

  appliedPosition(topic: string, partition: number): Promise<LogPosition | undefined> {
    return readAppliedPosition(this.options.redis, this.target(), appliedField(topic, partition));
  }
}
