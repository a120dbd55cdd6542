/** Serving tunables, each settable from the environment. */
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
}

export function servingConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ServingConfig {
  const num = (name: string, fallback: number, min: number) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min)
      throw new Error(`${name}: must be a number ≥ ${min} (received "${raw}")`);
    return v;
  };
  const types = env.RECKON_CONSUMED_TYPES ?? "view,click,add_to_cart,purchase,rating";
  return {
    consumedTypes: new Set(
      types
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
    ),
    categoryShare: num("RECKON_CATEGORY_SHARE", 0.5, 0),
    // Retrieval sums neighbour lists over this many recent items (EASE scores a user by the whole history).
    historySeeds: Math.round(num("RECKON_HISTORY_SEEDS", 100, 1)),
    pool: Math.round(num("RECKON_CANDIDATE_POOL", 60, 1)),
    perSource: Math.round(num("RECKON_CANDIDATES_PER_SOURCE", 20, 0)),
    cacheMs: num("RECKON_SERVING_CACHE_MS", 1000, 0),
    catalogCacheMs: num("RECKON_SERVING_CATALOG_CACHE_MS", 10_000, 0),
    minPositionWaitMs: num("RECKON_MIN_POSITION_WAIT_MS", 2000, 0),
    userListCacheEntries: Math.round(num("RECKON_SERVING_USER_LISTS", 10_000, 0)),
    httpFastPath: (env.RECKON_HTTP_FAST_PATH ?? "1") !== "0",
  };
}
