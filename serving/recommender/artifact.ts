import type { ItemId, Neighbour, ScoredItem, UserId } from "./types.ts";

/**
 * The batch model artifact the recommendations projector loads into the read model:
 * per item, its top-K neighbours with weights, plus the popularity list used as fallback.
 */
export interface ModelArtifact {
  readonly model: string;
  readonly params: Readonly<Record<string, number | string>>;
  readonly neighbours: ReadonlyMap<ItemId, readonly Neighbour[]>;
  /**
   * Per candidate item j, the weight r_j it gets from a seed item whose list does not hold j (truncation
   * dropped it). Neighbour weights are stored as w_ij − r_j, so Σ over seeds = Σ kept w_ij + r_j·(#seeds − #kept),
   * i.e. every dropped entry is approximated by r_j instead of 0. Empty for models without truncation bias.
   */
  readonly itemBias: ReadonlyMap<ItemId, number>;
  readonly popular: readonly ScoredItem[];
  /**
   * Per training user, the top-M items by the model's untruncated score (their training items left out), best
   * first; serving adds the rows of items touched since (recommend.ts). Absent for models without it.
   */
  readonly userCandidates?: ReadonlyMap<UserId, readonly ScoredItem[]>;
  /**
   * Per item, what other users took right after it (serving/ranking/transitions.ts), best first: the next-item
   * signal. Absent from artifacts built before it existed and from models that do not count it.
   */
  readonly followers?: ReadonlyMap<ItemId, readonly Neighbour[]>;
  /** Training wall time, for reports. */
  readonly trainMs: number;
}
