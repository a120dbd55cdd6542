import type { InteractionEvent } from "../../core/contracts/event.ts";

/** What retracting a set of interactions does to each read model (the dry run's answer, and the real one's). */
export interface RetractionEffects {
  features: {
    /** Per-user interaction counts taken back, by type. */
    counts: Record<string, number>;
    users: number;
    /** Items whose counts and decayed popularity (trending) lose the events. */
    items: number;
    /** Events whose decayed category affinities and category trending are subtracted. */
    category_events: number;
    /** Undone by the next rebuild of the projection (`reckon replay`), which skips retracted events. */
    on_rebuild: string[];
  };
  recommendations: {
    /** Item interactions whose co-occurrence is taken back by the next rebuild. */
    item_events: number;
    on_rebuild: string[];
  };
  analytics: {
    /** Rows deleted from `events` (and `user_events`). */
    events: number;
    users: number;
    /** Exposures per experiment: first exposures and per-user totals of those users are recomputed. */
    exposures: Record<string, number>;
  };
}

/** Pure: the effects of retracting `originals` (interactions not retracted yet). */
export function retractionEffects(originals: readonly InteractionEvent[]): RetractionEffects {
  const counts: Record<string, number> = {};
  const exposures: Record<string, number> = {};
  const users = new Set<string>();
  const items = new Set<string>();
  let withItem = 0;
  let itemEvents = 0;
  for (const e of originals) {
    counts[e.type] = (counts[e.type] ?? 0) + 1;
    users.add(e.user_id);
    if (e.item_id !== undefined) {
      items.add(e.item_id);
      withItem++;
      if (e.type !== "exposure") itemEvents++;
    }
    if (e.type === "exposure" && e.experiment?.key)
      exposures[e.experiment.key] = (exposures[e.experiment.key] ?? 0) + 1;
  }
  return {
    features: {
      counts,
      users: users.size,
      items: items.size,
      category_events: withItem,
      on_rebuild: withItem > 0 ? ["recent", "last_activity"] : ["last_activity"],
    },
    recommendations: {
      item_events: itemEvents,
      on_rebuild: itemEvents > 0 ? ["co-occurrence", "history"] : [],
    },
    analytics: { events: originals.length, users: users.size, exposures },
  };
}
