import { loadVariables, type Env, type RawEnv } from "../../core/config/env.ts";

/** Serving tunables; each comes from an environment variable (SERVING_VARIABLES). */
export interface ServingConfig {
  /** Interaction types that count as "consumed": such items never come back to the user. */
  consumedTypes: ReadonlySet<string>;
  /** A category may fill at most this share of a list (see rules.ts). */
  categoryShare: number;
  /** Recent distinct items that seed neighbour retrieval. */
  historySeeds: number;
  /** Candidates scored per request: max(pool, 4·n). */
  pool: number;
  /**
   * Candidates each other source adds (the last item's neighbours, the top-affinity category's trending,
   * trending, popular): every candidate costs a catalog lookup and a feature row, so this bounds the work.
   */
  perSource: number;
  /**
   * In-process reuse of catalog facts, trending lists and online neighbours (ms): fresh for this long, then
   * served while one background read replaces them, so they are at most about twice this old; 0 disables.
   */
  cacheMs: number;
  /**
   * Longest reuse of an item's catalog facts (ms) when the catalog index cannot show its change (see
   * RedisReadModelOptions.catalogCacheMs); ordinary changes are picked up within about cacheMs.
   */
  catalogCacheMs: number;
  /** Longest wait for min_position (ms). */
  minPositionWaitMs: number;
  /** Users whose precomputed artifact list is kept in process (see RedisReadModelOptions.userListCacheEntries). */
  userListCacheEntries: number;
  /**
   * Serve GET /v1/recommendations on the node:http fast path ahead of express (RECKON_HTTP_FAST_PATH=0 turns
   * it off: every request goes through express, for comparison or if the fast path misbehaves).
   */
  httpFastPath: boolean;
  /** The bury factor negative feedback applies to a dismissed item's neighbours and categories (1: off). */
  notInterestedFactor: number;
  /** How often serving checks the stored merchandising rules for changes it was not notified of (ms). */
  rulesPollMs: number;
}

/** The environment variables the serving tunables come from (core/config/variables.ts). */
export const SERVING_VARIABLES = [
  "RECKON_CONSUMED_TYPES",
  "RECKON_CATEGORY_SHARE",
  "RECKON_HISTORY_SEEDS",
  "RECKON_CANDIDATE_POOL",
  "RECKON_CANDIDATES_PER_SOURCE",
  "RECKON_SERVING_CACHE_MS",
  "RECKON_SERVING_CATALOG_CACHE_MS",
  "RECKON_MIN_POSITION_WAIT_MS",
  "RECKON_SERVING_USER_LISTS",
  "RECKON_HTTP_FAST_PATH",
  "RECKON_NOT_INTERESTED_FACTOR",
  "RECKON_RULES_POLL_MS",
] as const;

export function servingConfig(env: Pick<Env, (typeof SERVING_VARIABLES)[number]>): ServingConfig {
  return {
    consumedTypes: new Set(env.RECKON_CONSUMED_TYPES),
    categoryShare: env.RECKON_CATEGORY_SHARE,
    // Retrieval sums neighbour lists over this many recent items (EASE scores a user by the whole history).
    historySeeds: Math.round(env.RECKON_HISTORY_SEEDS),
    pool: Math.round(env.RECKON_CANDIDATE_POOL),
    perSource: Math.round(env.RECKON_CANDIDATES_PER_SOURCE),
    cacheMs: env.RECKON_SERVING_CACHE_MS,
    catalogCacheMs: env.RECKON_SERVING_CATALOG_CACHE_MS,
    minPositionWaitMs: env.RECKON_MIN_POSITION_WAIT_MS,
    userListCacheEntries: Math.round(env.RECKON_SERVING_USER_LISTS),
    httpFastPath: env.RECKON_HTTP_FAST_PATH,
    notInterestedFactor: env.RECKON_NOT_INTERESTED_FACTOR,
    rulesPollMs: env.RECKON_RULES_POLL_MS,
  };
}

/** The serving tunables from raw variables (unset ones at their defaults), e.g. `servingConfigFromEnv({})`. */
export const servingConfigFromEnv = (source: RawEnv): ServingConfig =>
  servingConfig(loadVariables(SERVING_VARIABLES, source));

export const DEFAULT_SERVING_CONFIG: ServingConfig = servingConfigFromEnv({});
