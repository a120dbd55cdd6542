import type { RankingState } from "../../projectors/features/read.ts";
import type { ItemId, ItemInfo } from "../recommender/types.ts";
import type { VersionedReadModel } from "./redis-read-model.ts";
import {
  choosePins,
  combine,
  type Merchandising,
  type MerchCandidate,
  type PinDirective,
  type PlacedPin,
} from "./rules-merchandising.ts";
import { DEMOTED_DISMISSALS, negativeFeedbackDemotions } from "./rules-negative-feedback.ts";
import { applicableRules, type CompiledRule, type RuleContext } from "./rules-stored.ts";

/** Everything that decides how one request is merchandised. */
export interface MerchandisingInputs {
  readonly userId: string;
  /** The request's own pins, boosts and buries. */
  readonly request: Merchandising;
  /** The stored rules serving holds (all of them; those that apply are picked here). */
  readonly stored: readonly CompiledRule[];
  /** The request's context parameters, matched against the stored rules' scopes. */
  readonly context: RuleContext;
  readonly nowMs: number;
  /** The bury factor of negative feedback (1: no demotion). */
  readonly notInterestedFactor: number;
}

/**
 * The directives for one request: the request's first (its pins win a contested position), then the stored rules
 * that apply, then the demotions the user's "not_interested" feedback implies (which read the dismissed items'
 * neighbours: one read, only for users who dismissed something).
 */
export async function merchandisingFor(
  view: Pick<VersionedReadModel, "itemNeighbours">,
  user: RankingState,
  inputs: MerchandisingInputs,
): Promise<Merchandising> {
  const stored =
    inputs.stored.length > 0
      ? applicableRules(inputs.stored, inputs.userId, inputs.context, inputs.nowMs)
      : undefined;
  let feedback: Merchandising | undefined;
  if (user.dismissed && inputs.notInterestedFactor < 1) {
    const seeds = user.dismissed.items.slice(0, DEMOTED_DISMISSALS);
    const lists = await view.itemNeighbours(seeds);
    const neighbours = new Map(seeds.map((id) => [id, (lists.get(id) ?? []).map((x) => x.item_id)]));
    feedback = negativeFeedbackDemotions(
      {
        items: user.dismissed.items,
        categories: new Map(user.dismissed.categories.map((c) => [c.category, c.count])),
      },
      neighbours,
      inputs.notInterestedFactor,
    );
  }
  return combine(inputs.request, ...(stored ? [stored] : []), ...(feedback ? [feedback] : []));
}

/** A candidate as the merchandising step sees it. */
export interface MerchRanked extends MerchCandidate {
  readonly score: number;
  readonly source: string;
}

/**
 * The pins' items: an item pin's item when it may be shown (not blocked — excluded, consumed or dismissed — and
 * passing the catalog rules), a category pin's best item among the ranked candidates, else the category's trending
 * items under the same rules. Reads the catalog facts of pinned items and, for category pins only, trending lists.
 */
export async function resolvePins<T extends MerchRanked>(
  view: Pick<VersionedReadModel, "itemInfo" | "trendingIn">,
  pins: readonly PinDirective[],
  ranked: readonly T[],
  n: number,
  blocked: ReadonlySet<ItemId>,
  eligible: (facts: ItemInfo | undefined) => boolean,
): Promise<PlacedPin<MerchRanked>[]> {
  const pinnedItems = pins.flatMap((p) => ("item" in p.target ? [p.target.item] : []));
  const pinnedCategories = [
    ...new Set(pins.flatMap((p) => ("category" in p.target ? [p.target.category] : []))),
  ];
  const trending = await Promise.all(pinnedCategories.map((c) => view.trendingIn(c, 4 * n + 10)));
  const fallbackIds = [...new Set(trending.flat().map((x) => x.item_id))];
  const info = await view.itemInfo([...new Set([...pinnedItems, ...fallbackIds])]);
  const shown = (id: ItemId) => !blocked.has(id) && eligible(info.get(id));
  const byId = new Map<string, MerchRanked>(ranked.map((r) => [r.item_id, r]));
  const asCandidate = (id: ItemId, source: string): MerchRanked =>
    byId.get(id) ?? { item_id: id, score: 0, source, categories: info.get(id)?.categories ?? [] };
  const fallback = new Map(
    pinnedCategories.map((c, i) => [
      c,
      trending[i]!.filter((x) => shown(x.item_id)).map((x) => asCandidate(x.item_id, "trending")),
    ]),
  );
  return choosePins<MerchRanked>(
    pins,
    ranked,
    n,
    (id) => (shown(id) ? asCandidate(id, "pinned") : undefined),
    (category) => fallback.get(category) ?? [],
  );
}
