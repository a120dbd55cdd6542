import type { RedisClient } from "../../core/redis/redis.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { RedisProjection } from "../runtime/redis-projection.ts";
import { DEFAULT_KEY_PREFIX } from "../../core/read-models/keys.ts";
import { DEFAULT_RECOMMENDATIONS_CONFIG, recommendationOps, type RecommendationsConfig } from "./ops.ts";

export const RECOMMENDATIONS_PROJECTION = "recommendations";
export const RECOMMENDATIONS_NS = "r";

/** Online item-to-item neighbours from co-occurrence in user histories. */
export function createRecommendationsProjection(
  store: ProjectionStore | RedisClient,
  options: { prefix?: string; config?: RecommendationsConfig; scriptBudgetMs?: number } = {},
): RedisProjection {
  const config = options.config ?? DEFAULT_RECOMMENDATIONS_CONFIG;
  return new RedisProjection({
    name: RECOMMENDATIONS_PROJECTION,
    ns: RECOMMENDATIONS_NS,
    store,
    prefix: options.prefix ?? DEFAULT_KEY_PREFIX,
    scriptBudgetMs: options.scriptBudgetMs,
    decide: (message) => recommendationOps(message, config),
  });
}
