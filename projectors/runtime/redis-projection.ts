import type { RedisClient } from "../../core/redis/redis.ts";
import { systemClock, type Clock } from "../../core/clock/clock.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { LogPosition } from "../../core/contracts/position.ts";
import type { BatchPacing, BatchTarget, Op, ProjectionStore } from "../../core/projection-store/port.ts";
import { toLogPosition } from "../../core/event-store/log-reader.ts";
import type { PartitionBatch, Projection, ProjectionOutcome } from "./projection.ts";
import { appliedField } from "../../core/read-models/keys.ts";
import { DEFAULT_SCRIPT_BUDGET_MS, ScriptBudget } from "./script-budget.ts";
import { projectorScriptSeconds } from "./metrics.ts";
import { asProjectionStore } from "../store/open.ts";
import { pinnedVersion, type PinnedVersion } from "./version-pin.ts";

/** What a Redis projection does with one message: effects to apply, or a reason to ignore it. */
export type OpsDecision = { ops: Op[] } | { drop: string };

export interface RedisProjectionOptions {
  name: string;
  /** Short key namespace (see keys.ts). */
  ns: string;
  /** The projection store (an ioredis client is taken as the Redis store over it). */
  store: ProjectionStore | RedisClient;
  prefix: string;
  /** Pure: the effects of one message. `nowMs` (the clock's) only sets key lifetimes, never stored values. */
  decide(message: LogMessage, nowMs: number): OpsDecision;
  /** The business time key lifetimes are counted from (see core/clock); the system clock by default. */
  clock?: Clock;
  /**
   * Reads what deciding `messages` needs beyond the messages themselves (the log, for an undo that replays a
   * user's tail) and returns the decide function for this batch. Called once per applyMessages, before the
   * store call; absent, `decide` is used as it is.
   */
  prepare?(messages: readonly LogMessage[]): Promise<(message: LogMessage, nowMs: number) => OpsDecision>;
  /**
   * Messages applied apart from the others, after the batch's earlier messages and before its later ones (a
   * run of consecutive ones in one store call): those whose ops are order-dependent (`zreplace`, `hreplace`,
   * the `_drop` increments) on keys that other messages of the batch merge updates into (batch-encoding.ts
   * merges commutative ops over a whole call and refuses to reorder them across such an op). Only ops that are
   * all order-dependent (but `pexpire`) may share a call this way. Only retractions are (rare; replay.ts leaves
   * them out, so a rebuild's batches stay one call each).
   */
  appliesAlone?(message: LogMessage): boolean;
  /**
   * About how long one batch script may hold a single Redis (`RECKON_REDIS_SCRIPT_BUDGET_MS`; default 0,
   * one script call per batch). See script-budget.ts.
   */
  scriptBudgetMs?: number;
}

/**
 * A projection whose effects are ops applied by the projection store (idempotent by log position). A rebuild
 * writes the same effects into another version (`applyMessages` with a version).
 */
export class RedisProjection implements Projection {
  readonly name: string;
  /** Redis is a server of its own: a restart without persistence, or a flush, empties it under a running process. */
  readonly volatileStore = true;
  readonly store: ProjectionStore;
  private readonly budget: ScriptBudget;
  /** The budget's pacing of store calls, with the script-time metric (made once: applied per batch). */
  private readonly pacing: BatchPacing;

  constructor(private readonly options: RedisProjectionOptions) {
    this.name = options.name;
    this.store = asProjectionStore(options.store);
    const budget = (this.budget = new ScriptBudget(options.scriptBudgetMs ?? DEFAULT_SCRIPT_BUDGET_MS));
    this.pacing = {
      next: () => budget.next(),
      observe: (applied, micros) => {
        budget.observe(applied, micros);
        projectorScriptSeconds.observe({ projector: this.name }, micros / 1e6);
      },
    };
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

  /**
   * Whether every applyMessages is one store call on one ordered connection, so a caller may start the next
   * before the previous finished and the store still applies them in order (replay.ts). Not with a time budget
   * (several calls), nor on a store whose batch takes several round trips (a cluster).
   */
  get appliesBatchInOneCall(): boolean {
    return this.budget.budgetMs === 0 && this.store.ordersOverlappingBatches;
  }

  async apply(batch: PartitionBatch): Promise<ProjectionOutcome[]> {
    return this.applyMessages(
      batch.messages.map((m) => m.message),
      appliedField(batch.topic, batch.partition),
    );
  }

  /**
   * Applies messages (in log order for their keys), position-guarded, through the store (which may split the
   * batch into calls that fit the script budget; see SingleRedisStore.applyOps).
   */
  async applyMessages(
    messages: readonly LogMessage[],
    source: string,
    version?: number,
  ): Promise<ProjectionOutcome[]> {
    const now = (this.options.clock ?? systemClock).now();
    const decide = this.options.prepare ? await this.options.prepare(messages) : this.options.decide;
    const outcomes: ProjectionOutcome[] = [];
    // Dropped messages still go to the store: their positions advance the applied position.
    const alone = this.options.appliesAlone;
    for (const run of alone ? splitAround(messages, alone) : [messages])
      await this.store.applyOps(
        this.target(version),
        source,
        run,
        (part) =>
          part.map((message) => {
            const decision = decide(message, now);
            outcomes.push("ops" in decision ? { kind: "ok" } : { kind: "drop", reason: decision.drop });
            return { position: toLogPosition(message), ops: "ops" in decision ? decision.ops : [] };
          }),
        this.pacing,
      );
    return outcomes;
  }

  async healthy(): Promise<boolean> {
    return this.store.healthy();
  }

  pinnedVersion(): Promise<PinnedVersion | undefined> {
    return pinnedVersion(this.store, this);
  }

  appliedPosition(topic: string, partition: number): Promise<LogPosition | undefined> {
    return this.store.appliedPosition(this.target(), appliedField(topic, partition));
  }
}

/**
 * `messages` in log order as runs: the messages `alone` picks apart from the others, consecutive picked ones
 * together (their ops are all order-dependent, so they share a call: see RedisProjectionOptions.appliesAlone).
 */
export function splitAround<M>(messages: readonly M[], alone: (m: M) => boolean): (readonly M[])[] {
  const runs: M[][] = [];
  let run: M[] = [];
  let picked = false;
  for (const m of messages) {
    if (alone(m) !== picked && run.length > 0) {
      runs.push(run);
      run = [];
    }
    picked = alone(m);
    run.push(m);
  }
  if (run.length > 0 || runs.length === 0) runs.push(run);
  return runs;
}
