import type { ItemId, ScoredItem } from "../recommender/types.ts";

/**
 * Per-request feature maps without a string-keyed Map per request. Serving sums the neighbour lists of a user's
 * latest items on every request (about a thousand entries); with item ids as Map keys that was most of the
 * ranking CPU. Here item ids are numbered once per process, shared lists are converted once to parallel typed
 * arrays, and a request sums into an integer-keyed open-addressing table; lookups and iteration give the same
 * numbers as the Map they replace.
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
 */
export function weightedListSums(
  lists: readonly (readonly ScoredItem[])[],
  weights: readonly number[],
): ReadonlyMap<ItemId, number> {
  let parts = lists.map(packed);
  // A numbering reset while packing: the lists packed before it carry old numbers.
  if (parts.some((p) => p.generation !== generation)) parts = lists.map(packed);
  let total = 0;
  for (const l of lists) total += l.length;
  // A power of two at least twice the entries: short probe sequences, masks instead of modulo.
  let capacity = 16;
  while (capacity < 2 * total) capacity *= 2;
  const mask = capacity - 1;
  const slots = new Int32Array(capacity).fill(-1);
  const sums = new Float64Array(capacity);
  const order = new Int32Array(total); // slots in first-seen order (the Map's iteration order)
  let size = 0;
  let best = 0;
  for (let l = 0; l < parts.length; l++) {
    const { ids, scores } = parts[l]!;
    const weight = weights[l]!;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      let s = Math.imul(id, 0x9e3779b1) & mask;
      while (slots[s] !== -1 && slots[s] !== id) s = (s + 1) & mask;
      let w: number;
      if (slots[s] === -1) {
        slots[s] = id;
        order[size++] = s;
        w = 0 + weight * scores[i]!;
      } else w = sums[s]! + weight * scores[i]!;
      sums[s] = w;
      if (w > best) best = w;
    }
  }
  return new SlotMap(numbers, names, slots, sums, order.subarray(0, size), best > 0 ? best : 1);
}

/** The read side of weightedListSums: item id → sum / divisor. */
class SlotMap implements ReadonlyMap<ItemId, number> {
  private readonly mask: number;

  constructor(
    /** The numbering the slots were filled under (a reset replaces both, leaving these intact). */
    private readonly numbering: ReadonlyMap<ItemId, number>,
    private readonly numbered: readonly ItemId[],
    private readonly slots: Int32Array,
    private readonly sums: Float64Array,
    private readonly order: Int32Array,
    private readonly divisor: number,
  ) {
    this.mask = slots.length - 1;
  }

  private slotOf(key: ItemId): number {
    const id = this.numbering.get(key);
    if (id === undefined) return -1;
    let s = Math.imul(id, 0x9e3779b1) & this.mask;
    while (this.slots[s] !== -1) {
      if (this.slots[s] === id) return s;
      s = (s + 1) & this.mask;
    }
    return -1;
  }

  private keyNames(): ItemId[] {
    return Array.from(this.order, (s) => this.numbered[this.slots[s]!]!);
  }

  get size(): number {
    return this.order.length;
  }

  get(key: ItemId): number | undefined {
    const s = this.slotOf(key);
    return s < 0 ? undefined : this.sums[s]! / this.divisor;
  }

  has(key: ItemId): boolean {
    return this.slotOf(key) >= 0;
  }

  forEach(fn: (value: number, key: ItemId, map: ReadonlyMap<ItemId, number>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }

  *entries(): MapIterator<[ItemId, number]> {
    const keys = this.keyNames();
    for (let i = 0; i < keys.length; i++) yield [keys[i]!, this.sums[this.order[i]!]! / this.divisor];
  }

  *keys(): MapIterator<ItemId> {
    yield* this.keyNames();
  }

  *values(): MapIterator<number> {
    for (const s of this.order) yield this.sums[s]! / this.divisor;
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
