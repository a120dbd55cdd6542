/**
 * Merchandising: pin, boost and bury, applied to a ranked list after the ranker (pure). The directives come from
 * the request's parameters, the stored rules that apply to it (rules-stored.ts) and the user's negative feedback
 * (rules-negative-feedback.ts); docs/guides/merchandising-rules.md is the user's description of these rules.
 */

/** What a directive acts on: one item, or every item in a category. */
export type MerchTarget = { readonly item: string } | { readonly category: string };

/** Put the target at a 1-based position of the list (a category pin: its best eligible item). */
export interface PinDirective {
  readonly target: MerchTarget;
  readonly position: number;
}

/** Multiply the target's weight: a factor above 1 boosts, below 1 buries. */
export interface WeightDirective {
  readonly target: MerchTarget;
  readonly factor: number;
}

export interface Merchandising {
  readonly pins: readonly PinDirective[];
  readonly weights: readonly WeightDirective[];
}

export const NO_MERCHANDISING: Merchandising = { pins: [], weights: [] };

/** Bounds of the combined factor of one item: a stack of rules cannot make it infinite or zero. */
export const MIN_COMBINED_FACTOR = 0.01;
export const MAX_COMBINED_FACTOR = 100;

export interface MerchCandidate {
  readonly item_id: string;
  readonly categories: readonly string[];
}

export function hasMerchandising(m: Merchandising): boolean {
  return m.pins.length > 0 || m.weights.length > 0;
}

export function combine(...parts: readonly Merchandising[]): Merchandising {
  const nonEmpty = parts.filter(hasMerchandising);
  if (nonEmpty.length <= 1) return nonEmpty[0] ?? NO_MERCHANDISING;
  return { pins: nonEmpty.flatMap((m) => m.pins), weights: nonEmpty.flatMap((m) => m.weights) };
}

export function matches(target: MerchTarget, candidate: MerchCandidate): boolean {
  return "item" in target
    ? target.item === candidate.item_id
    : candidate.categories.includes(target.category);
}

/** The product of every matching directive's factor, clamped to [MIN_COMBINED_FACTOR, MAX_COMBINED_FACTOR]. */
export function combinedFactor(candidate: MerchCandidate, weights: readonly WeightDirective[]): number {
  let factor = 1;
  for (const w of weights) if (matches(w.target, candidate)) factor *= w.factor;
  return Math.min(MAX_COMBINED_FACTOR, Math.max(MIN_COMBINED_FACTOR, factor));
}

/**
 * Boost and bury: an item at 1-based position p of the ranked list competes as if it were at p / factor (its key
 * is factor / p; on a tie the item ranked higher stays first). So a boost of 2 moves the 10th item to just after
 * the 5th, a bury of 0.5 moves the 2nd to just before the 4th. The rule works on positions, not raw scores, because ranker scores
 * have no common scale (a logistic model's probabilities, a learning-to-rank model's unbounded margins).
 */
export function applyWeights<T extends MerchCandidate>(
  ranked: readonly T[],
  weights: readonly WeightDirective[],
): T[] {
  if (weights.length === 0) return [...ranked];
  return ranked
    .map((c, i) => ({ c, i, key: combinedFactor(c, weights) / (i + 1) }))
    .sort((a, b) => b.key - a.key || a.i - b.i)
    .map((x) => x.c);
}

/** A pin whose item is chosen: the item goes to `position` (1-based). */
export interface PlacedPin<T> {
  readonly position: number;
  readonly item: T;
}

/**
 * Chooses the item of every pin, in order of position (ties: the order given, so the request's pins come before
 * stored rules'): an item pin takes its item when `eligible` says it may be shown; a category pin takes the first
 * item of the category in `ranked`, else in its `fallback` list (trending in the category), that is not already
 * pinned. A pin with nothing eligible is dropped. Positions beyond `n` are dropped too.
 */
export function choosePins<T extends MerchCandidate>(
  pins: readonly PinDirective[],
  ranked: readonly T[],
  n: number,
  eligibleItem: (itemId: string) => T | undefined,
  fallback: (category: string) => readonly T[],
): PlacedPin<T>[] {
  const taken = new Set<string>();
  const placed: PlacedPin<T>[] = [];
  const ordered = pins
    .map((pin, i) => ({ pin, i }))
    .filter(({ pin }) => pin.position >= 1 && pin.position <= n)
    .sort((a, b) => a.pin.position - b.pin.position || a.i - b.i);
  for (const { pin } of ordered) {
    const target = pin.target;
    let item: T | undefined;
    if ("item" in target) item = taken.has(target.item) ? undefined : eligibleItem(target.item);
    else {
      const inCategory = (c: T) => !taken.has(c.item_id) && c.categories.includes(target.category);
      item = ranked.find(inCategory) ?? fallback(target.category).find(inCategory);
    }
    if (!item) continue;
    taken.add(item.item_id);
    placed.push({ position: pin.position, item });
  }
  return placed;
}

/**
 * The list with each pinned item at its position (a position already taken by an earlier pin: the next free one),
 * the unpinned items in their order around them, at most `n` long. When the list is too short to reach a pin's
 * position the pin follows the last item, so the answer never has holes. `list` must not hold the pinned items.
 */
export function placePins<T>(list: readonly T[], pins: readonly PlacedPin<T>[], n: number): T[] {
  if (pins.length === 0) return list.slice(0, n);
  const slots = new Map<number, T>();
  for (const { position, item } of pins) {
    let slot = position - 1;
    while (slots.has(slot)) slot++;
    if (slot < n) slots.set(slot, item); // pushed past the end by earlier pins: not shown
  }
  const out: T[] = [];
  const pending = [...slots.entries()].sort((a, b) => a[0] - b[0]);
  let next = 0;
  let p = 0;
  while (out.length < n) {
    if (p < pending.length && pending[p]![0] === out.length) out.push(pending[p++]![1]);
    else if (next < list.length) out.push(list[next++]!);
    else if (p < pending.length) out.push(pending[p++]![1]);
    else break;
  }
  return out;
}
