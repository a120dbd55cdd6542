// Which served recommendation an interaction is credited to. Pure: the reference the ClickHouse query
// (attribution-sql.ts) implements, and the rule the docs state.
//
// 1. Explicit: the event names a `recommendation_id` that was served to the same user and contained the item.
//    No time limit: the client says where the interaction came from.
// 2. Otherwise (no id, or an id that does not match): by window, the most recent recommendation served to the
//    same user that contained the item, at most `windowMs` before the event (served at or before it). Ties on
//    the serving time go to the greater recommendation id, so every run picks the same one.
// 3. Otherwise the interaction is not attributed to any recommendation.

export type AttributionMethod = "explicit" | "window";

/** One item of one served recommendation. */
export interface ServedSlot {
  readonly recommendationId: string;
  readonly userId: string;
  readonly itemId: string;
  readonly servedAtMs: number;
  readonly rank: number;
}

export interface AttributableInteraction {
  readonly eventId: string;
  readonly userId: string;
  readonly itemId: string;
  readonly occurredAtMs: number;
  /** The id the client sent back, if any (compared case-insensitively: it is a UUID). */
  readonly recommendationId?: string | undefined;
}

export interface Attribution<S extends ServedSlot = ServedSlot> {
  readonly eventId: string;
  readonly method: AttributionMethod;
  readonly slot: S;
}

/**
 * The slot `event` is credited to among `served` (any slots: those of other users or items are ignored), or
 * null when none qualifies.
 */
export function attributeInteraction<S extends ServedSlot>(
  event: AttributableInteraction,
  served: readonly S[],
  windowMs: number,
): Attribution<S> | null {
  const sameUserAndItem = served.filter((s) => s.userId === event.userId && s.itemId === event.itemId);
  const named = event.recommendationId?.toLowerCase();
  if (named) {
    const slot = sameUserAndItem.find((s) => s.recommendationId.toLowerCase() === named);
    if (slot) return { eventId: event.eventId, method: "explicit", slot };
  }
  let best: S | undefined;
  for (const s of sameUserAndItem) {
    const age = event.occurredAtMs - s.servedAtMs;
    if (age < 0 || age > windowMs) continue;
    if (
      !best ||
      s.servedAtMs > best.servedAtMs ||
      (s.servedAtMs === best.servedAtMs &&
        s.recommendationId.toLowerCase() > best.recommendationId.toLowerCase())
    )
      best = s;
  }
  return best ? { eventId: event.eventId, method: "window", slot: best } : null;
}

/** Every interaction's attribution, in input order; unattributed interactions are left out. */
export function attributeInteractions<S extends ServedSlot>(
  events: readonly AttributableInteraction[],
  served: readonly S[],
  windowMs: number,
): Attribution<S>[] {
  const byUserItem = new Map<string, S[]>();
  for (const s of served) {
    const key = `${s.userId}\u0000${s.itemId}`;
    const list = byUserItem.get(key);
    if (list) list.push(s);
    else byUserItem.set(key, [s]);
  }
  const out: Attribution<S>[] = [];
  for (const e of events) {
    const a = attributeInteraction(e, byUserItem.get(`${e.userId}\u0000${e.itemId}`) ?? [], windowMs);
    if (a) out.push(a);
  }
  return out;
}
