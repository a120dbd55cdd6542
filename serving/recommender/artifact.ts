import type { ItemId, Neighbour, ScoredItem } from "./types.ts";

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
  /** Training wall time, for reports. */
  readonly trainMs: number;
}
