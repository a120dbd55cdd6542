/** Business rules applied after scoring (pure). */

export interface Ranked {
  item_id: string;
  score: number;
  source: string;
  /** The category the diversity cap counts the item under (its first); undefined: uncapped. */
  category?: string;
}

/** Score descending, ties by item id, so equal scores rank reproducibly. */
export function byScore(a: Ranked, b: Ranked): number {
  return b.score - a.score || (a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0);
}

/**
 * The first n items such that no category holds more than `maxPerCategory` of them. When the cap leaves the list
 * short (the candidates are all of one kind), the capped-out items fill the rest in score order: a diverse
 * list is preferred, a short one is not.
 */
export function applyDiversityCap<T extends Ranked>(
  sorted: readonly T[],
  n: number,
  maxPerCategory: number,
): T[] {
  const taken: T[] = [];
  const skipped: T[] = [];
  const perCategory = new Map<string, number>();
  for (const r of sorted) {
    if (taken.length >= n) break;
    if (r.category !== undefined) {
      const c = perCategory.get(r.category) ?? 0;
      if (c >= maxPerCategory) {
        skipped.push(r);
        continue;
      }
      perCategory.set(r.category, c + 1);
    }
    taken.push(r);
  }
  for (const r of skipped) {
    if (taken.length >= n) break;
    taken.push(r);
  }
  return taken;
}

/** The cap for a list of n: a share of the list, at least one. */
export function categoryCap(n: number, share: number): number {
  return Math.max(1, Math.ceil(n * share));
}
