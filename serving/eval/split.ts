import type { Interaction } from "../recommender/interactions.ts";

/** mulberry32: a tiny 32-bit PRNG, good enough for shuffling and identical on every platform. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SplitOptions {
  readonly seed: number;
  /** Share of each user's distinct items held out. Default 0.25. */
  readonly testFraction?: number;
}

export interface Split {
  readonly train: Interaction[];
  readonly test: Interaction[];
}

/**
 * Per-user random split: each user's distinct items (sorted by id, so file order does not matter) are
 * shuffled with one seeded stream, users taken in id order; the first round(testFraction·n) go to test.
 * Repeated (user, item) rows follow their item, so an item is never on both sides.
 */
export function splitPerUser(interactions: readonly Interaction[], options: SplitOptions): Split {
  const fraction = options.testFraction ?? 0.25;
  const random = mulberry32(options.seed);
  const byUser = rowsByUserAndItem(interactions);
  const train: Interaction[] = [];
  const test: Interaction[] = [];
  for (const userId of [...byUser.keys()].sort(compareIds)) {
    const items = byUser.get(userId)!;
    const ids = [...items.keys()].sort(compareIds);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const nTest = Math.round(ids.length * fraction);
    ids.forEach((id, position) => (position < nTest ? test : train).push(...items.get(id)!));
  }
  return { train, test };
}

/** Numeric ids in numeric order, anything else by code units: stable across runs and platforms. */
export function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Per-user temporal split: each user's distinct items ordered by their first interaction (ties by id); the latest
 * round(testFraction·n) go to test. What a real-time recommender is for: predicting what a user does next from
 * what they did before.
 */
export function splitPerUserTemporal(
  interactions: readonly Interaction[],
  options: { readonly testFraction?: number } = {},
): Split {
  const fraction = options.testFraction ?? 0.25;
  const byUser = rowsByUserAndItem(interactions);
  const train: Interaction[] = [];
  const test: Interaction[] = [];
  for (const userId of [...byUser.keys()].sort(compareIds)) {
    const items = byUser.get(userId)!;
    const first = (id: string) => Math.min(...items.get(id)!.map((r) => r.timestamp));
    const ids = [...items.keys()].sort((a, b) => first(a) - first(b) || compareIds(a, b));
    const nTest = Math.round(ids.length * fraction);
    const cut = ids.length - nTest;
    ids.forEach((id, position) => (position < cut ? train : test).push(...items.get(id)!));
  }
  return { train, test };
}

/** Each user's rows grouped by item (a user's repeated interactions with one item stay on one side of a split). */
function rowsByUserAndItem(interactions: readonly Interaction[]): Map<string, Map<string, Interaction[]>> {
  const byUser = new Map<string, Map<string, Interaction[]>>();
  for (const row of interactions) {
    let items = byUser.get(row.userId);
    if (!items) byUser.set(row.userId, (items = new Map()));
    const rows = items.get(row.itemId);
    if (rows) rows.push(row);
    else items.set(row.itemId, [row]);
  }
  return byUser;
}
