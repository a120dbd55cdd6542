import type { ModelArtifact } from "../artifact.ts";
import type { InteractionMatrix } from "../interactions.ts";
import type { ItemId, Neighbour, ScoredItem, UserId } from "../types.ts";
import { trainEase } from "./ease.ts";
import { trainJaccard } from "./jaccard.ts";
import { popularItems } from "./popular.ts";

export type ModelName = "popular" | "jaccard" | "ease";
export const MODEL_NAMES: readonly ModelName[] = ["popular", "jaccard", "ease"];

export interface TrainOptions {
  /** Neighbours kept per item. Default 100. */
  readonly k?: number;
  /** EASE regularisation. Default 500. */
  readonly lambda?: number;
  /** EASE: items with fewer training users get no row. Default 1. */
  readonly minItemCount?: number;
  readonly solver?: "auto" | "primal" | "dual";
  /** EASE: input-dropout rate p of the EDLAE penalty. Default 0 (plain EASE). */
  readonly dropout?: number;
  /** EASE: divide column j of B by count_j^β (popularity debiasing). Default 0 (none). */
  readonly popularityExponent?: number;
  /** EASE: estimate truncated entries (ModelArtifact.itemBias). Default true. */
  readonly biasCorrection?: boolean;
  /** EASE: precompute each training user's top-M items by the untruncated model (0 = no). Default 0. */
  readonly userTopM?: number;
}

/** One entry point for every model, so the eval, the batch job and tests build artifacts the same way. */
export function trainModel(
  model: ModelName,
  data: InteractionMatrix,
  options: TrainOptions = {},
  now: () => number = () => performance.now(),
): ModelArtifact {
  const started = now();
  const k = options.k ?? 100;
  let neighbours: Map<ItemId, Neighbour[]>;
  let itemBias = new Map<ItemId, number>();
  let userCandidates: Map<UserId, ScoredItem[]> | undefined;
  const params: Record<string, number | string> = { k };
  switch (model) {
    case "popular":
      neighbours = new Map();
      break;
    case "jaccard":
      neighbours = trainJaccard(data, { k });
      break;
    case "ease": {
      const lambda = options.lambda ?? 500;
      const minItemCount = options.minItemCount ?? 1;
      const solver = options.solver ?? "auto";
      const dropout = options.dropout ?? 0;
      const popularityExponent = options.popularityExponent ?? 0;
      const biasCorrection = options.biasCorrection ?? true;
      const userTopM = options.userTopM ?? 0;
      Object.assign(params, {
        lambda,
        minItemCount,
        solver,
        dropout,
        popularityExponent,
        biasCorrection: String(biasCorrection),
        userTopM,
      });
      ({ neighbours, itemBias, userCandidates } = trainEase(data, {
        lambda,
        k,
        minItemCount,
        solver,
        dropout,
        popularityExponent,
        biasCorrection,
        userTopM,
      }));
      if (userTopM === 0) userCandidates = undefined;
      break;
    }
  }
  return {
    model,
    params,
    neighbours,
    itemBias,
    popular: popularItems(data),
    ...(userCandidates && { userCandidates }),
    trainMs: now() - started,
  };
}
