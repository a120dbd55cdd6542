import type { Merchandising, WeightDirective } from "./rules-merchandising.ts";

/** What a user said they do not want ("not_interested" events), as the features projection keeps it. */
export interface NegativeFeedback {
  /** Dismissed items, most recent first. */
  readonly items: readonly string[];
  /** Category → how many dismissed items were in it. */
  readonly categories: ReadonlyMap<string, number>;
}

export const NO_NEGATIVE_FEEDBACK: NegativeFeedback = { items: [], categories: new Map() };

/** Dismissals whose neighbours are demoted (the most recent), and how many neighbours of each. */
export const DEMOTED_DISMISSALS = 10;
export const DEMOTED_NEIGHBOURS = 10;
/** A category is demoted once per dismissal in it, at most this many times. */
export const MAX_CATEGORY_DEMOTIONS = 3;

/**
 * The demotions a user's dismissals imply (the dismissed items themselves are blocked, not demoted): each
 * category with k dismissals is buried by factor^min(k, MAX_CATEGORY_DEMOTIONS); the first DEMOTED_NEIGHBOURS
 * neighbours of each of the DEMOTED_DISMISSALS latest dismissals are buried by `factor` once.
 */
export function negativeFeedbackDemotions(
  feedback: NegativeFeedback,
  neighbours: ReadonlyMap<string, readonly string[]>,
  factor: number,
): Merchandising {
  if (factor >= 1) return { pins: [], weights: [] };
  const weights: WeightDirective[] = [];
  for (const [category, count] of feedback.categories)
    if (count > 0)
      weights.push({ target: { category }, factor: factor ** Math.min(count, MAX_CATEGORY_DEMOTIONS) });
  const dismissed = new Set(feedback.items);
  const demoted = new Set<string>();
  for (const item of feedback.items.slice(0, DEMOTED_DISMISSALS))
    for (const neighbour of (neighbours.get(item) ?? []).slice(0, DEMOTED_NEIGHBOURS))
      if (!dismissed.has(neighbour)) demoted.add(neighbour);
  for (const item of demoted) weights.push({ target: { item }, factor });
  return { pins: [], weights };
}
