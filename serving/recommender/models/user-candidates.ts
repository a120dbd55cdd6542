import type { InteractionMatrix } from "../interactions.ts";
import { topKIndices } from "../top-k.ts";
import type { ScoredItem, UserId } from "../types.ts";

/**
 * Per user, the top-M items by the model's full score x_u·B (every entry of B, none truncated), with the
 * user's training items left out. Serving reads this list once per request instead of summing a hundred
 * truncated neighbour rows, and adds only the rows of items the user touched after training (see
 * recommend.ts): the score of a linear item-item model is additive over history items, so that sum is the
 * same model, not an approximation of it.
 *
 * Rows of B arrive one at a time (they are never all held); users × items scores are accumulated densely for
 * as many users as `maxCells` allows, and the rows are streamed again for the next group of users.
 */
export interface UserCandidateOptions {
  /** Items kept per user. */
  readonly topM: number;
  /** Largest users × items block accumulated at once (Float32 cells). Default 50M (200 MB). */
  readonly maxCells?: number;
}

export type RowSource = (c: number, out: Float64Array) => void;

export function userCandidateGroups(users: number, columns: number, maxCells = 50_000_000): number[][] {
  const perGroup = Math.max(1, Math.floor(maxCells / Math.max(1, columns)));
  const groups: number[][] = [];
  for (let start = 0; start < users; start += perGroup) {
    const group: number[] = [];
    for (let u = start; u < Math.min(users, start + perGroup); u++) group.push(u);
    groups.push(group);
  }
  return groups;
}

/**
 * Accumulates the scores of one group of users from the rows of B; `add(c, row)` must be called for every
 * column c (item) of B, in any order. `columns[c]` is the InteractionMatrix index of column c.
 */
export class UserScoreBlock {
  private readonly scores: Float32Array;
  private readonly slot: Int32Array;

  constructor(
    private readonly data: InteractionMatrix,
    private readonly columns: readonly number[],
    private readonly users: readonly number[],
  ) {
    this.scores = new Float32Array(users.length * columns.length);
    this.slot = new Int32Array(data.userIds.length).fill(-1);
    users.forEach((u, s) => (this.slot[u] = s));
  }

  /** Adds row c of B to every user of this block who has item c in training. */
  add(c: number, row: Float64Array): void {
    const n = this.columns.length;
    for (const u of this.data.itemUsers[this.columns[c]!]!) {
      const s = this.slot[u]!;
      if (s < 0) continue;
      const offset = s * n;
      for (let j = 0; j < n; j++) this.scores[offset + j]! += row[j]!;
    }
  }

  /** Each user's top-M unseen items, best first (ties by item order in the matrix). */
  topM(m: number, out: Map<UserId, ScoredItem[]>): void {
    const n = this.columns.length;
    const columnOf = new Int32Array(this.data.itemIds.length).fill(-1);
    this.columns.forEach((i, c) => (columnOf[i] = c));
    this.users.forEach((u, s) => {
      const row = this.scores.subarray(s * n, (s + 1) * n);
      for (const i of this.data.userItems[u]!) if (columnOf[i]! >= 0) row[columnOf[i]!] = -Infinity;
      out.set(
        this.data.userIds[u]!,
        topKIndices(row, m, -1, -Infinity).map((c) => ({
          item_id: this.data.itemIds[this.columns[c]!]!,
          score: row[c]!,
        })),
      );
    });
  }
}

/**
 * The same lists from the truncated rows (each user's Σ of stored neighbour weights over their items, plus each
 * candidate's bias once per item with a list: what serving computes for a user without a list). Used when the
 * exact lists would cost too much (users × items beyond the budget): the cost is interactions × K instead of
 * interactions × items.
 */
export function sparseUserCandidates(
  data: InteractionMatrix,
  neighbours: ReadonlyMap<string, readonly { item_id: string; score: number }[]>,
  itemBias: ReadonlyMap<string, number>,
  m: number,
): Map<UserId, ScoredItem[]> {
  const out = new Map<UserId, ScoredItem[]>();
  data.userItems.forEach((items, u) => {
    const seen = new Set<string>();
    for (const i of items) seen.add(data.itemIds[i]!);
    const scores = new Map<string, number>();
    let used = 0;
    for (const id of seen) {
      const list = neighbours.get(id);
      if (!list) continue;
      used++;
      for (const n of list)
        if (!seen.has(n.item_id)) scores.set(n.item_id, (scores.get(n.item_id) ?? 0) + n.score);
    }
    const ranked = [...scores].map(([item_id, s]) => ({
      item_id,
      score: s + used * (itemBias.get(item_id) ?? 0),
    }));
    ranked.sort((a, b) => b.score - a.score || (a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0));
    out.set(data.userIds[u]!, ranked.slice(0, m));
  });
  return out;
}
