import { defaultsOf, type Env } from "../../core/config/env.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { NON_ENGAGEMENT_TYPES } from "../../core/contracts/event.ts";
import { itemTag, userTag } from "../../core/read-models/keys.ts";
import type { OpsDecision } from "../runtime/redis-projection.ts";

export interface RecommendationsConfig {
  /** How many of the user's latest distinct items an interaction co-occurs with. */
  historyCap: number;
  /** Neighbours kept per item (by co-occurrence count). */
  neighbourCap: number;
  userTtlMs: number;
}

/** The tunables, with user keys expiring when the features projection's do (RECKON_USER_TTL_DAYS). */
export const recommendationsConfig = (env: Pick<Env, "RECKON_USER_TTL_DAYS">): RecommendationsConfig => ({
  historyCap: 20,
  neighbourCap: 100,
  userTtlMs: env.RECKON_USER_TTL_DAYS * 86_400_000,
});

export const DEFAULT_RECOMMENDATIONS_CONFIG: RecommendationsConfig = recommendationsConfig(
  defaultsOf(["RECKON_USER_TTL_DAYS"]),
);

/** Relative key names of the recommendations projection (prefixed with `<prefix>:r:v<N>:`). */
export const recommendationKeys = {
  /** Sorted set: the user's latest distinct items, score = event time (ms). */
  userHistory: (u: string) => `${userTag(u)}:h`,
  /** Sorted set: neighbour item → co-occurrence count (raw; normalised at read time). */
  neighbours: (i: string) => `${itemTag(i)}:nbrs`,
  /** String: number of user histories the item entered. */
  count: (i: string) => `${itemTag(i)}:cnt`,
};

/** The effects of one log message on the co-occurrence model (pure). */
export function recommendationOps(message: LogMessage, config: RecommendationsConfig): OpsDecision {
  if (message.kind !== "interaction") return { drop: `${message.kind} events do not change co-occurrence` };
  const e = message.event;
  if (e.item_id === undefined || NON_ENGAGEMENT_TYPES.has(e.type)) return { drop: "not an item interaction" };
  const history = recommendationKeys.userHistory(e.user_id);
  return {
    ops: [
      [
        "cooc",
        history,
        e.item_id,
        String(Date.parse(e.timestamp)),
        String(config.historyCap),
        String(config.neighbourCap),
      ],
      ["pexpire", history, String(config.userTtlMs)],
    ],
  };
}

/**
 * Cosine-normalised co-occurrence: co(i,j) / sqrt(cnt(i)·cnt(j)). Raw counts favour items everybody touches;
 * dividing by both items' counts ranks a neighbour by how specifically it goes with the item.
 */
export function cosine(coCount: number, countI: number, countJ: number): number {
  if (coCount <= 0 || countI <= 0 || countJ <= 0) return 0;
  return coCount / Math.sqrt(countI * countJ);
}
