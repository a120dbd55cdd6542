import { isCluster, type RedisClient } from "../../core/redis/redis.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { LogPosition } from "../../core/contracts/position.ts";
import { toLogPosition } from "../../core/event-store/log-reader.ts";
import type { PartitionBatch, Projection, ProjectionOutcome } from "./projection.ts";
import { appliedField } from "../../core/read-models/keys.ts";
import {
  applyOpsBatch,
  applyPreparedBatch,
  prepareOpsBatch,
  readAppliedPosition,
  type BatchTarget,
  type Op,
  type OpsMessage,
  type PreparedBatch,
} from "./redis-batch.ts";
import { DEFAULT_SCRIPT_BUDGET_MS, ScriptBudget } from "./script-budget.ts";
import { projectorScriptSeconds } from "./metrics.ts";

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
  /**
   * About how long one batch script may hold a single Redis (`RECKON_REDIS_SCRIPT_BUDGET_MS`; default 0,
   * one script call per batch). See script-budget.ts.
   */
  scriptBudgetMs?: number;
}

/**
 * A projection whose effects are Redis ops applied through the batch script (idempotent by log position).
 * `applyTo` lets a rebuild write the same effects into another version.
 */
export class RedisProjection implements Projection {
  readonly name: string;
  /** Redis is a server of its own: a restart without persistence, or a flush, empties it under a running process. */
  readonly volatileStore = true;
  private readonly budget: ScriptBudget;

  constructor(private readonly options: RedisProjectionOptions) {
    this.name = options.name;
    this.budget = new ScriptBudget(options.scriptBudgetMs ?? DEFAULT_SCRIPT_BUDGET_MS);
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

  /**
   * Whether every applyMessages is one script call on one connection, so a caller may start the next before
   * the previous finished and Redis still applies them in order (replay.ts). Not with a time budget (several
   * calls), nor on a cluster (a batch reads, journals and applies over several nodes' connections).
   */
  get appliesBatchInOneCall(): boolean {
    return this.budget.budgetMs === 0 && !isCluster(this.options.redis);
  }

  async apply(batch: PartitionBatch): Promise<ProjectionOutcome[]> {
    return this.applyMessages(
      batch.messages.map((m) => m.message),
      appliedField(batch.topic, batch.partition),
    );
  }

  /**
   * Applies messages (in log order for their keys), position-guarded. On a single Redis the batch goes in
   * script calls that each fit the time budget (script-budget.ts), one after another in log order: each call
   * is atomic and stores its own last position, so a kill between two calls leaves a prefix applied and the
   * redelivered batch applies only what follows it (applyPreparedBatch sends what lies after the stored
   * position). The next call is decided and encoded while Redis runs the current one.
   */
  async applyMessages(
    messages: readonly LogMessage[],
    source: string,
    version?: number,
  ): Promise<ProjectionOutcome[]> {
    const now = Date.now();
    const outcomes: ProjectionOutcome[] = [];
    const target = this.target(version);
    const { redis } = this.options;
    // Dropped messages still go through the script: their positions advance the applied position.
    const decide = (part: readonly LogMessage[]): OpsMessage[] =>
      part.map((message) => {
        const decision = this.options.decide(message, now);
        outcomes.push("ops" in decision ? { kind: "ok" } : { kind: "drop", reason: decision.drop });
        return { position: toLogPosition(message), ops: "ops" in decision ? decision.ops : [] };
      });
    // Only a single Redis splits batches: a cluster's per-slot scripts each hold one node briefly, and its
    // batches pay a resolve and a journal round trip per call, so splitting them would cost much and spare
    // nobody a wait.
    if (isCluster(redis)) {
      if (messages.length > 0) await applyOpsBatch(redis, target, source, decide(messages));
      return outcomes;
    }
    let start = 0;
    const nextChunk = (): PreparedBatch | undefined => {
      if (start >= messages.length) return undefined;
      // next() is Infinity without a budget; slice clamps the end either way.
      const part = messages.slice(start, start + this.budget.next());
      start += part.length;
      return prepareOpsBatch(decide(part));
    };
    for (let prepared = nextChunk(); prepared !== undefined;) {
      const running = applyPreparedBatch(redis, target, source, prepared);
      running.catch(() => undefined); // awaited below; a throw while preparing must not leave it unhandled
      prepared = nextChunk(); // decided and encoded while the script runs
      const result = await running;
      if (result.scriptMicros > 0) {
        this.budget.observe(result.applied, result.scriptMicros);
        projectorScriptSeconds.observe({ projector: this.name }, result.scriptMicros / 1e6);
      }
    }
    return outcomes;
  }

  async healthy(): Promise<boolean> {
    return (await this.options.redis.ping()) === "PONG";
  }

  appliedPosition(topic: string, partition: number): Promise<LogPosition | undefined> {
    return readAppliedPosition(this.options.redis, this.target(), appliedField(topic, partition));
  }
}
