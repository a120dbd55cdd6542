import type { InteractionMatrix } from "../interactions.ts";
import { topKIndices } from "../top-k.ts";
import type { ItemId, Neighbour } from "../types.ts";

export interface JaccardParams {
  /** Neighbours kept per item. */
  readonly k: number;
}

/**
 * Item co-occurrence with Jaccard similarity |U_i ∩ U_j| / |U_i ∪ U_j|. One sparse pass per item over the
 * users who interacted with it, so the cost is Σ_u |items(u)|², never a dense item×item matrix.
 */
export function trainJaccard(data: InteractionMatrix, params: JaccardParams): Map<ItemId, Neighbour[]> {
  const nItems = data.itemIds.length;
  const common = new Int32Array(nItems);
  const sim = new Float64Array(nItems);
  const touched = new Int32Array(nItems);
  const neighbours = new Map<ItemId, Neighbour[]>();
  for (let i = 0; i < nItems; i++) {
    let nTouched = 0;
    for (const u of data.itemUsers[i]!) {
      for (const j of data.userItems[u]!) {
        if (common[j] === 0) touched[nTouched++] = j;
        common[j]!++;
      }
    }
    const ni = data.itemUsers[i]!.length;
    for (let t = 0; t < nTouched; t++) {
      const j = touched[t]!;
      const c = common[j]!;
      sim[j] = c / (ni + data.itemUsers[j]!.length - c);
    }
    const best = topKIndices(sim, params.k, i, 0);
    if (best.length > 0) {
      neighbours.set(
        data.itemIds[i]!,
        best.map((j) => ({ item_id: data.itemIds[j]!, score: sim[j]! })),
      );
    }
    for (let t = 0; t < nTouched; t++) {
      const j = touched[t]!;
      common[j] = 0;
      sim[j] = 0;
    }
  }
  return neighbours;
}
