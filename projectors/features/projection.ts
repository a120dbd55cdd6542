import type { RedisClient } from "../../core/redis/redis.ts";
import type { Clock } from "../../core/clock/clock.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import type { Queryable } from "../../core/postgres/database.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { RedisProjection, type OpsDecision } from "../runtime/redis-projection.ts";
import { undoOpsOfRetractions } from "../runtime/user-log.ts";
import { DEFAULT_KEY_PREFIX } from "../../core/read-models/keys.ts";
import { DEFAULT_FEATURES_CONFIG, type FeaturesConfig } from "../../core/read-models/features-config.ts";
import { featureOps } from "./ops.ts";
import { featureUndoOps } from "./undo.ts";
import { userActivityUndoOpsOfRetractions } from "./user-activity.ts";

export const FEATURES_PROJECTION = "features";
export const FEATURES_NS = "f";

/** Per-user, per-item and per-category ML features in the projection store (see docs/architecture/projections.md for the key layout). */
export function createFeaturesProjection(
  store: ProjectionStore | RedisClient,
  options: {
    /**
     * The log, for undoing a retraction's effect on the user's recent list and last activity live (undo.ts).
     * Every projector role passes it; without it (tools, benches over a store alone) those are left to a rebuild.
     */
    log?: Queryable;
    prefix?: string;
    config?: FeaturesConfig;
    scriptBudgetMs?: number;
    clock?: Clock;
  } = {},
): RedisProjection {
  const config = options.config ?? DEFAULT_FEATURES_CONFIG;
  const log = options.log;
  const decide = (message: LogMessage, nowMs: number): OpsDecision =>
    message.kind === "retraction"
      ? featureUndoOps(message, config, nowMs)
      : featureOps(message, config, nowMs);
  return new RedisProjection({
    name: FEATURES_PROJECTION,
    ns: FEATURES_NS,
    store,
    prefix: options.prefix ?? DEFAULT_KEY_PREFIX,
    scriptBudgetMs: options.scriptBudgetMs,
    clock: options.clock,
    decide,
    // An undo's ops are order-dependent (they drop what reaches 0, replace the user's profile and recent list) on
    // keys the batch's other events merge updates into: retractions are applied apart, in log order.
    appliesAlone: (message: LogMessage) => message.kind === "retraction",
    ...(log === undefined
      ? {}
      : {
          async prepare(messages: readonly LogMessage[]) {
            if (!messages.some((m) => m.kind === "retraction")) return decide;
            const activityOps = await undoOpsOfRetractions(log, messages, (userLog, retractions) =>
              userActivityUndoOpsOfRetractions(userLog, retractions, config),
            );
            return (message: LogMessage, nowMs: number) =>
              message.kind === "retraction"
                ? featureUndoOps(message, config, nowMs, activityOps.get(message.event.event_id))
                : decide(message, nowMs);
          },
        }),
  });
}
