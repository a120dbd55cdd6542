import type { LogMessage } from "../../core/contracts/log-message.ts";
import { NON_ENGAGEMENT_TYPES } from "../../core/contracts/event.ts";
import type { Op } from "../../core/projection-store/port.ts";
import { recommendationKeys, type RecommendationsConfig } from "./ops.ts";

type RetractionMessage = Extract<LogMessage, { kind: "retraction" }>;

/** One interaction as co-occurrence sees it (see recommendationOps). */
export interface CoocEvent {
  item: string;
  timeMs: number;
}

/** What one user's interactions put into the co-occurrence model, replayed from an empty history. */
export interface CoocContribution {
  /** `item\0neighbour` → how many times the user's history counted the pair (both directions are entries). */
  pairs: Map<string, number>;
  /** item → how many times it entered the user's history. */
  counts: Map<string, number>;
  /** The user's history at the end: item → score (event time, ms), lowest rank first. */
  history: [item: string, timeMs: number][];
}

const PAIR = "\u0000";

/** Redis sorted-set order: score, then member bytes (what ZREMRANGEBYRANK trims first). */
const byRank = (a: [string, number], b: [string, number]): number =>
  a[1] - b[1] || Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]));

/**
 * Replays the `cooc` op (the batch script's `C` branch) over one user's interactions in log order: an item new in
 * the history counts once with every item there (both directions) and once in its own count, then enters it and
 * the history is trimmed to `historyCap`; an item already there only raises its time.
 */
export function coocContribution(events: readonly CoocEvent[], historyCap: number): CoocContribution {
  const pairs = new Map<string, number>();
  const counts = new Map<string, number>();
  const history = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const { item, timeMs } of events) {
    const present = history.get(item);
    if (present !== undefined) {
      if (timeMs > present) history.set(item, timeMs);
      continue;
    }
    for (const other of history.keys()) {
      bump(pairs, other + PAIR + item);
      bump(pairs, item + PAIR + other);
    }
    bump(counts, item);
    history.set(item, timeMs);
    if (history.size > historyCap) {
      const ranked = [...history].sort(byRank);
      for (const [dropped] of ranked.slice(0, history.size - historyCap)) history.delete(dropped);
    }
  }
  return { pairs, counts, history: [...history].sort(byRank) };
}

/** The interactions co-occurrence counts (recommendationOps' rule), as CoocEvents. */
export function coocEventOf(message: LogMessage): CoocEvent | undefined {
  if (message.kind !== "interaction") return undefined;
  const e = message.event;
  if (e.item_id === undefined || NON_ENGAGEMENT_TYPES.has(e.type)) return undefined;
  return { item: e.item_id, timeMs: Date.parse(e.timestamp) };
}

/**
 * The effects of a retraction on the co-occurrence model: the difference between the user's contribution with
 * and without the retracted interaction, and the user's history as it would be without it.
 *
 * Why recompute rather than subtract the original's own op: co-occurrence is path-dependent. Whether an
 * interaction counted, and with which items, depends on the user's history at that moment, which every earlier
 * interaction shaped (an item already there counts nothing; the history is capped, so an item may have been
 * trimmed out and counted again on its return); and the retracted interaction shaped every later one. The read
 * model does not keep that history (it keeps the last `historyCap` items), so the user's log is the state an
 * exact undo needs: `userLog` is the user's interactions and retractions in log order up to and including
 * `retraction` (cheap: one user's tail, read by user and bounded by the retraction's position; see
 * projection.ts). Both replays start from an empty history, as the user's history did (erasure deletes it).
 *
 * Exact while the neighbour sets stay under `neighbourCap`: a neighbour trimmed off a full set is gone from the
 * read model, and an undo cannot tell which one the retracted interaction pushed out (a rebuild, which skips the
 * retracted events, can). Idempotent: a retraction whose original an earlier retraction in `userLog` already took
 * back, or which the log does not hold, changes nothing.
 */
export function coocUndoOps(
  userLog: readonly LogMessage[],
  retraction: RetractionMessage,
  config: Pick<RecommendationsConfig, "historyCap" | "neighbourCap" | "userTtlMs">,
): Op[] {
  const target = retraction.event.retracts.toLowerCase();
  const takenBack = new Set<string>();
  const kept: { id: string; event: CoocEvent }[] = [];
  let found = false;
  for (const m of userLog) {
    if (m.kind === "retraction") {
      if (m.event.event_id === retraction.event.event_id) break;
      takenBack.add(m.event.retracts.toLowerCase());
      continue;
    }
    const event = coocEventOf(m);
    if (event === undefined || m.kind !== "interaction") continue;
    const id = m.event.event_id.toLowerCase();
    if (id === target) found = true;
    kept.push({ id, event });
  }
  if (!found || takenBack.has(target)) return [];
  const live = kept.filter((k) => !takenBack.has(k.id));
  const before = coocContribution(
    live.map((k) => k.event),
    config.historyCap,
  );
  const after = coocContribution(
    live.filter((k) => k.id !== target).map((k) => k.event),
    config.historyCap,
  );
  return contributionDeltaOps(retraction.event.user_id, before, after, config);
}

/** Ops that turn `before`'s contribution of `user` into `after`'s: pair and count deltas, the new history. */
export function contributionDeltaOps(
  user: string,
  before: CoocContribution,
  after: CoocContribution,
  config: Pick<RecommendationsConfig, "neighbourCap" | "userTtlMs">,
): Op[] {
  const ops: Op[] = [];
  const cap = String(config.neighbourCap);
  for (const [pair, by] of deltas(before.pairs, after.pairs)) {
    const [item, neighbour] = pair.split(PAIR) as [string, string];
    ops.push(["zincrby_drop", recommendationKeys.neighbours(item), String(by), neighbour, cap]);
  }
  for (const [item, by] of deltas(before.counts, after.counts))
    ops.push(["incrby_drop", recommendationKeys.count(item), String(by)]);
  if (!sameHistory(before.history, after.history)) {
    const key = recommendationKeys.userHistory(user);
    ops.push(["zreplace", key, ...after.history.flatMap(([item, t]) => [String(t), item])]);
    if (after.history.length > 0) ops.push(["pexpire", key, String(config.userTtlMs)]);
  }
  return ops;
}

/** after − before per key, non-zero only, in key order (a stable op order). */
function deltas(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  return keys.flatMap((k): [string, number][] => {
    const d = (after.get(k) ?? 0) - (before.get(k) ?? 0);
    return d === 0 ? [] : [[k, d]];
  });
}

const sameHistory = (a: CoocContribution["history"], b: CoocContribution["history"]): boolean =>
  a.length === b.length && a.every(([item, t], i) => b[i]![0] === item && b[i]![1] === t);
