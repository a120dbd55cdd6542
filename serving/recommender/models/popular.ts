import type { InteractionMatrix } from "../interactions.ts";
import type { ScoredItem } from "../types.ts";

/** Items by number of distinct users, most first; ties by id so the list is reproducible. */
export function popularItems(data: InteractionMatrix): ScoredItem[] {
  const list = data.itemIds.map((item_id, i) => ({ item_id, score: data.itemUsers[i]!.length }));
  return list.sort(
    (a, b) => b.score - a.score || (a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0),
  );
}
