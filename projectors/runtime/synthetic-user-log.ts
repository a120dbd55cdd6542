import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";

/**
 * One user's log, generated from a seed, for the specs and the benchmark of the undo of many retractions of one
 * user (features/user-activity.ts, recommendations/undo.ts): interactions of several types over `items` items
 * (items returning, times now and then out of order, dismissals, exposures, one without an item) with retractions
 * of earlier interactions interleaved, some of them last in the log, some taking back an event already taken back
 * or one the log does not hold (which change nothing).
 */
export interface SyntheticUserLog {
  log: LogMessage[];
  /** The retractions' event ids, in log order. */
  retractions: string[];
}

const TYPES = ["view", "view", "click", "purchase", "add_to_cart", "exposure", "not_interested"] as const;
const T0 = Date.parse("2026-05-01T00:00:00.000Z");

export function syntheticUserLog(options: {
  interactions: number;
  retractions: number;
  items: number;
  seed: number;
  user?: string;
}): SyntheticUserLog {
  const random = mulberry32(options.seed);
  const pick = (n: number) => Math.floor(random() * n);
  const user = options.user ?? "u1";
  const log: LogMessage[] = [];
  const retractions: string[] = [];
  const open: InteractionEvent[] = [];
  const closed: InteractionEvent[] = [];
  let position = 0;
  const envelope = (ms: number) => ({
    position: ++position,
    transaction_id: String(1000 + position),
    received_at: new Date(ms).toISOString(),
  });
  const retract = () => {
    const roll = random();
    const original =
      roll < 0.05 && closed.length > 0
        ? closed[pick(closed.length)]!
        : roll < 0.08
          ? { ...open[0]!, event_id: `absent-${position}` }
          : open.splice(pick(open.length), 1)[0]!;
    if (roll >= 0.08) closed.push(original);
    const ms = T0 + position * 1000;
    const event_id = `r-${position}-${original.event_id}`;
    retractions.push(event_id);
    log.push({
      kind: "retraction",
      ...envelope(ms),
      event: {
        event_id,
        type: "retraction",
        retracts: original.event_id.toUpperCase(), // ids compare without case, as the log's uuids do
        retraction_id: "synthetic",
        user_id: user,
        ...(original.item_id !== undefined ? { item_id: original.item_id } : {}),
        timestamp: new Date(ms).toISOString(),
        categories: [],
        original,
      },
    });
  };
  // Retractions go at random points after the first interaction, a quarter of them at the end of the log.
  const atEnd = Math.floor(options.retractions / 4);
  const retractAfter = Array.from(
    { length: options.retractions - atEnd },
    () => 1 + pick(options.interactions),
  );
  for (let i = 0; i < options.interactions; i++) {
    const type = TYPES[pick(TYPES.length)]!;
    const minute = i - (random() < 0.1 ? pick(30) : 0);
    const event: InteractionEvent = {
      event_id: `e-${options.seed}-${i}`,
      type,
      user_id: user,
      ...(i % 97 === 5 ? {} : { item_id: `i${pick(options.items)}` }),
      timestamp: new Date(T0 + minute * 60_000).toISOString(),
    };
    log.push({ kind: "interaction", ...envelope(T0 + i * 60_000), event });
    open.push(event);
    for (const at of retractAfter) if (at === i + 1 && open.length > 0) retract();
  }
  for (let i = 0; i < atEnd && open.length > 0; i++) retract();
  return { log, retractions };
}

/** A small seeded generator (mulberry32): the same log for the same seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
