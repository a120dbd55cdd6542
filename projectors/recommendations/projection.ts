import type { RedisClient } from "../../core/redis/redis.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import type { Queryable } from "../../core/postgres/database.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { RedisProjection, type OpsDecision } from "../runtime/redis-projection.ts";
import { DEFAULT_KEY_PREFIX } from "../../core/read-models/keys.ts";
import { DEFAULT_RECOMMENDATIONS_CONFIG, recommendationOps, type RecommendationsConfig } from "./ops.ts";
import { coocUndoOpsOfRetractions } from "./undo.ts";
import { undoOpsOfRetractions } from "../runtime/user-log.ts";

export const RECOMMENDATIONS_PROJECTION = "recommendations";
export const RECOMMENDATIONS_NS = "r";

/**
 * Online item-to-item neighbours from co-occurrence in user histories. A retraction is undone live: the
 * retracting user's log is read (`log`) and their contribution replayed with and without the retracted
 * interaction (undo.ts).
 */
export function createRecommendationsProjection(
  store: ProjectionStore | RedisClient,
  options: {
    /**
     * The log, for undoing retractions live. Every projector role passes it; without it (tools, benches over a
     * store alone) a retraction is left to a rebuild, which skips retracted events.
     */
    log?: Queryable;
    prefix?: string;
    config?: RecommendationsConfig;
    scriptBudgetMs?: number;
  } = {},
): RedisProjection {
  const config = options.config ?? DEFAULT_RECOMMENDATIONS_CONFIG;
  const decide = (message: LogMessage): OpsDecision => recommendationOps(message, config);
  return new RedisProjection({
    name: RECOMMENDATIONS_PROJECTION,
    ns: RECOMMENDATIONS_NS,
    store,
    prefix: options.prefix ?? DEFAULT_KEY_PREFIX,
    scriptBudgetMs: options.scriptBudgetMs,
    decide,
    async prepare(messages) {
      const log = options.log;
      if (log === undefined || !messages.some((m) => m.kind === "retraction")) return decide;
      const undoOps = await undoOpsOfRetractions(log, messages, (userLog, retractions) =>
        coocUndoOpsOfRetractions(userLog, retractions, config),
      );
      return (message) => {
        if (message.kind !== "retraction") return decide(message);
        const ops = undoOps.get(message.event.event_id) ?? [];
        return ops.length > 0 ? { ops } : { drop: "the retraction changes no co-occurrence" };
      };
    },
  });
}
