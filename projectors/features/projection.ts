import type { RedisClient } from "../../core/redis/redis.ts";
import type { Clock } from "../../core/clock/clock.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { RedisProjection } from "../runtime/redis-projection.ts";
import { DEFAULT_KEY_PREFIX } from "../../core/read-models/keys.ts";
import { DEFAULT_FEATURES_CONFIG, type FeaturesConfig } from "../../core/read-models/features-config.ts";
import { featureOps } from "./ops.ts";
import { featureUndoOps } from "./undo.ts";

export const FEATURES_PROJECTION = "features";
export const FEATURES_NS = "f";

/** Per-user, per-item and per-category ML features in the projection store (see docs/architecture/projections.md for the key layout). */
export function createFeaturesProjection(
  store: ProjectionStore | RedisClient,
  options: { prefix?: string; config?: FeaturesConfig; scriptBudgetMs?: number; clock?: Clock } = {},
): RedisProjection {
  const config = options.config ?? DEFAULT_FEATURES_CONFIG;
  return new RedisProjection({
    name: FEATURES_PROJECTION,
    ns: FEATURES_NS,
    store,
    prefix: options.prefix ?? DEFAULT_KEY_PREFIX,
    scriptBudgetMs: options.scriptBudgetMs,
    clock: options.clock,
    decide: (message, nowMs) =>
      message.kind === "retraction"
        ? featureUndoOps(message, config, nowMs)
        : featureOps(message, config, nowMs),
  });
}
