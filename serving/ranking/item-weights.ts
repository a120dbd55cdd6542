import type { ItemId, ScoredItem } from "../recommender/types.ts";

/**
 * Per-request feature maps without a string-keyed Map per request. Serving sums the neighbour lists of a user's
 * latest items on every request (about a thousand entries); with item ids as Map keys that was most of the
 * ranking CPU. Here item ids are numbered once per process, shared lists are converted once to parallel typed
 * arrays, and a request sums into one process-wide array indexed by item number (no table allocated per request);
 * lookups and iteration give the same numbers as the Map they replace.
 */

/** Process-wide item numbering (ids seen in neighbour lists; bounded: reset when it grows past MAX_IDS). */
const MAX_IDS = 1_000_000;
let numbers = new Map<ItemId, number>();
let names: ItemId[] = [];
/** Bumped on a reset, so lists packed under an older numbering are packed again. */
let generation = 0;

function numberOf(id: ItemId): number {
  let n = numbers.get(id);
  if (n === undefined) {
    n = names.length;
    numbers.set(id, n);
    names.push(id);
  }
  return n;
}

interface PackedList {
  readonly generation: number;
  readonly ids: Int32Array;
  readonly scores: Float64Array;
}

const packedLists = new WeakMap<readonly ScoredItem[], PackedList>();

/** A shared (cached, never mutated) list as item numbers and scores, converted once per list. */
function packed(list: readonly ScoredItem[]): PackedList {
  const cached = packedLists.get(list);
  if (cached && cached.generation === generation) return cached;
  if (names.length + list.length > MAX_IDS) {
    numbers = new Map();
    names = [];
    generation++;
  }
  const ids = new Int32Array(list.length);
  const scores = new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) {
    ids[i] = numberOf(list[i]!.item_id);
    scores[i] = list[i]!.score;
  }
  const p = { generation, ids, scores };
  packedLists.set(list, p);
  return p;
}

/**
 * Σ over the lists of weight(list) · score, per item, divided by the largest sum when it is positive (left as is
 * otherwise): the same additions in the same order as summing into a Map, so the same numbers. A read-only map
 * from item id to its value; items in no list are absent.
 *
 * Computed on first use into one table shared by the whole process (a table allocated per request was ~30 KB of
 * typed arrays a request, and garbage-collection time with it). A map whose table another computation
 * has since taken computes again on its next use: a request reads its map in one synchronous loop, so in serving
 * that is one computation per request, and a map read late still gives its own numbers.
 */
export function weightedListSums(
  lists: readonly (readonly ScoredItem[])[],
  weights: readonly number[],
): ReadonlyMap<ItemId, number> {
  return new WeightedSums(lists, weights);
}

/**
 * The shared summing table, indexed by item number (numbers are dense and bounded by MAX_IDS: at most ~12 MB): an
 * item's sum is valid when its stamp is the current computation's, so nothing is cleared between computations.
 */
const table = {
  sums: new Float64Array(1024),
  stamps: new Int32Array(1024),
  /** Item numbers in first-seen order (a Map's iteration order). */
  order: new Int32Array(1024),
  stamp: 0,
  /** The map whose sums the table holds now. */
  owner: undefined as WeightedSums | undefined,
};

class WeightedSums implements ReadonlyMap<ItemId, number> {
  /** What the table held for this map when it last computed (valid while `table.owner === this`). */
  private count = 0;
  private divisor = 1;
  /** The numbering the table was filled under (a reset replaces both, leaving these intact). */
  private numbering: ReadonlyMap<ItemId, number> = numbers;
  private numbered: readonly ItemId[] = names;

  constructor(
    private readonly lists: readonly (readonly ScoredItem[])[],
    private readonly weights: readonly number[],
  ) {}

  /** Fills the shared table with this map's sums unless it holds them already. */
  private computed(): typeof table {
    if (table.owner === this) return table;
    let parts = this.lists.map(packed);
    // A numbering reset while packing: the lists packed before it carry old numbers.
    if (parts.some((p) => p.generation !== generation)) parts = this.lists.map(packed);
    let total = 0;
    for (const l of this.lists) total += l.length;
    if (table.sums.length < names.length) {
      const capacity = Math.max(names.length, 2 * table.sums.length);
      table.sums = new Float64Array(capacity);
      table.stamps = new Int32Array(capacity);
      table.stamp = 0;
    }
    if (table.order.length < total) table.order = new Int32Array(Math.max(total, 2 * table.order.length));
    if (table.stamp === 0x7fffffff) {
      table.stamps.fill(0);
      table.stamp = 0;
    }
    const stamp = ++table.stamp;
    const { sums, stamps, order } = table;
    let size = 0;
    let best = 0;
    for (let l = 0; l < parts.length; l++) {
      const { ids, scores } = parts[l]!;
      const weight = this.weights[l]!;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        let w: number;
        if (stamps[id] !== stamp) {
          stamps[id] = stamp;
          order[size++] = id;
          w = 0 + weight * scores[i]!;
        } else w = sums[id]! + weight * scores[i]!;
        sums[id] = w;
        if (w > best) best = w;
      }
    }
    this.count = size;
    this.divisor = best > 0 ? best : 1;
    this.numbering = numbers;
    this.numbered = names;
    table.owner = this;
    return table;
  }

  /** The key's item number when this map has a sum for it, else -1. */
  private numberOf(key: ItemId): number {
    const { stamps, stamp } = this.computed();
    const id = this.numbering.get(key);
    return id !== undefined && stamps[id] === stamp ? id : -1;
  }

  /** Keys and values in first-seen order, copied out (iteration may outlive the table's turn with this map). */
  private snapshot(): { keys: ItemId[]; values: number[] } {
    const { sums, order } = this.computed();
    const keys: ItemId[] = [];
    const values: number[] = [];
    for (let i = 0; i < this.count; i++) {
      keys.push(this.numbered[order[i]!]!);
      values.push(sums[order[i]!]! / this.divisor);
    }
    return { keys, values };
  }

  get size(): number {
    this.computed();
    return this.count;
  }

  get(key: ItemId): number | undefined {
    const id = this.numberOf(key);
    return id < 0 ? undefined : table.sums[id]! / this.divisor;
  }

  has(key: ItemId): boolean {
    return this.numberOf(key) >= 0;
  }

  forEach(fn: (value: number, key: ItemId, map: ReadonlyMap<ItemId, number>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }

  *entries(): MapIterator<[ItemId, number]> {
    const { keys, values } = this.snapshot();
    for (let i = 0; i < keys.length; i++) yield [keys[i]!, values[i]!];
  }

  *keys(): MapIterator<ItemId> {
    yield* this.snapshot().keys;
  }

  *values(): MapIterator<number> {
    yield* this.snapshot().values;
  }

  [Symbol.iterator](): MapIterator<[ItemId, number]> {
    return this.entries();
  }
}

/**
 * A read-only map with the keys of `positions` and f(position) as values: several features of one ranked list
 * (score over the best, depth) share the list's one position map instead of building a Map each per request.
 */
export function byPosition(
  positions: ReadonlyMap<ItemId, number>,
  f: (position: number) => number,
): ReadonlyMap<ItemId, number> {
  return new PositionMap(positions, f);
}

class PositionMap implements ReadonlyMap<ItemId, number> {
  constructor(
    private readonly positions: ReadonlyMap<ItemId, number>,
    private readonly f: (position: number) => number,
  ) {}

  get size(): number {
    return this.positions.size;
  }

  get(key: ItemId): number | undefined {
    const p = this.positions.get(key);
    return p === undefined ? undefined : this.f(p);
  }

  has(key: ItemId): boolean {
    return this.positions.has(key);
  }

  forEach(fn: (value: number, key: ItemId, map: ReadonlyMap<ItemId, number>) => void): void {
    for (const [k, p] of this.positions) fn(this.f(p), k, this);
  }

  *entries(): MapIterator<[ItemId, number]> {
    for (const [k, p] of this.positions) yield [k, this.f(p)];
  }

  keys(): MapIterator<ItemId> {
    return this.positions.keys();
  }

  *values(): MapIterator<number> {
    for (const p of this.positions.values()) yield this.f(p);
  }

  [Symbol.iterator](): MapIterator<[ItemId, number]> {
    return this.entries();
  }
}
