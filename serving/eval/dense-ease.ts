import { buildInteractionMatrix, type Interaction } from "../recommender/interactions.ts";
import { easeRows, type EaseParams } from "../recommender/models/ease.ts";
import { topKIndices } from "../recommender/top-k.ts";
import { meanMetrics, userMetrics, type RankingMetrics } from "./metrics.ts";

/**
 * Reference EASE scored with the full, untruncated B (x_u·B over every item): the textbook model the
 * published reference numbers use. Offline only — it holds B densely (Float32, items² × 4 bytes) — and
 * it exists to measure what the served top-K artifact costs and to compare against it on the same split.
 */
export function denseEaseMetrics(
  train: readonly Interaction[],
  test: readonly Interaction[],
  k: number,
  params: Omit<EaseParams, "k" | "biasCorrection">,
): RankingMetrics & { readonly users: number } {
  const data = buildInteractionMatrix(train);
  const { columns, rowOfB } = easeRows(data, params);
  const n = columns.length;
  const b = new Float32Array(n * n);
  const row = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    rowOfB(c, row);
    row[c] = 0;
    b.set(row, c * n);
  }
  const columnOf = new Map<number, number>(columns.map((i, c) => [i, c]));
  const userIndex = new Map(data.userIds.map((id, u) => [id, u]));
  const relevant = new Map<string, Set<string>>();
  for (const { userId, itemId } of test) {
    let set = relevant.get(userId);
    if (!set) relevant.set(userId, (set = new Set()));
    set.add(itemId);
  }
  const perUser: RankingMetrics[] = [];
  const scores = new Float64Array(n);
  for (const [userId, items] of relevant) {
    scores.fill(0);
    const u = userIndex.get(userId);
    const history = u === undefined ? [] : [...data.userItems[u]!].map((i) => columnOf.get(i) ?? -1);
    for (const c of history) {
      if (c < 0) continue;
      const offset = c * n;
      for (let j = 0; j < n; j++) scores[j]! += b[offset + j]!;
    }
    for (const c of history) if (c >= 0) scores[c] = -Infinity;
    const ranked = topKIndices(scores, k).map((c) => data.itemIds[columns[c]!]!);
    perUser.push(userMetrics(ranked, items, k));
  }
  return meanMetrics(perUser);
}
