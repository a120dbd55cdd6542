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
  const counted: Counted = { pairs: new Map(), counts: new Map() };
  const history = new Map<string, number>();
  for (const event of events) coocStep(history, event, historyCap, counted);
  return { ...counted, history: [...history].sort(byRank) };
}

/** What a replay counts: the `pairs` and `counts` of a CoocContribution. */
type Counted = Pick<CoocContribution, "pairs" | "counts">;

/** One interaction of coocContribution's replay: updates `history`, and `counted` when given. */
function coocStep(
  history: Map<string, number>,
  { item, timeMs }: CoocEvent,
  historyCap: number,
  counted?: Counted,
) {
  const present = history.get(item);
  if (present !== undefined) {
    if (timeMs > present) history.set(item, timeMs);
    return;
  }
  if (counted !== undefined) {
    const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
    for (const other of history.keys()) {
      bump(counted.pairs, other + PAIR + item);
      bump(counted.pairs, item + PAIR + other);
    }
    bump(counted.counts, item);
  }
  history.set(item, timeMs);
  if (history.size > historyCap) {
    const ranked = [...history].sort(byRank);
    for (const [dropped] of ranked.slice(0, history.size - historyCap)) history.delete(dropped);
  }
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

/** One of the user's live interactions in the replay of coocUndoOpsOfRetractions. */
interface LiveInteraction {
  id: string;
  event: CoocEvent;
  /** The history before this interaction, kept on some of them so a replay can start there. */
  snapshot?: Map<string, number>;
}

/** How often (in live interactions appended) the replay keeps a snapshot of the history. */
const SNAPSHOT_EVERY = 16;

/**
 * coocUndoOps of each retraction in `retractions` (event ids), computed in one pass over `userLog` (the user's
 * interactions and retractions in log order, up to and including the last of them) instead of one replay of the
 * log per retraction: what a batch holding many retractions of one user needs.
 *
 * The pass keeps the user's live interactions (those no earlier retraction took back) and the history their
 * replay ends with. A retraction's delta comes from the interactions at and after its original only (the
 * contribution before it is the same with and without it): two replays from the history before the original,
 * one with and one without it, until their histories agree (from there on they count the same), usually after a
 * few times `historyCap` interactions. Each retraction stays exact on its own, as coocUndoOps is, so the ops do
 * not depend on how the log is cut into batches (a redelivery cut elsewhere applies the same).
 */
export function coocUndoOpsOfRetractions(
  userLog: readonly LogMessage[],
  retractions: ReadonlySet<string>,
  config: Pick<RecommendationsConfig, "historyCap" | "neighbourCap" | "userTtlMs">,
): Map<string, Op[]> {
  const cap = config.historyCap;
  const out = new Map<string, Op[]>();
  const takenBack = new Set<string>();
  // Before the first retraction asked for, the interactions are only collected (replayed once, at it).
  let collected: LiveInteraction[] | undefined = [];
  const live: LiveInteraction[] = [];
  const byId = new Map<string, LiveInteraction>();
  let history = new Map<string, number>();
  const append = (interaction: LiveInteraction) => {
    if (live.length % SNAPSHOT_EVERY === 0) interaction.snapshot = new Map(history);
    coocStep(history, interaction.event, cap);
    live.push(interaction);
    byId.set(interaction.id, interaction);
  };
  for (const m of userLog) {
    if (m.kind === "interaction") {
      const event = coocEventOf(m);
      if (event === undefined) continue;
      const interaction = { id: m.event.event_id.toLowerCase(), event };
      if (collected) collected.push(interaction);
      else append(interaction);
      continue;
    }
    if (m.kind !== "retraction") continue;
    const target = m.event.retracts.toLowerCase();
    if (collected && retractions.has(m.event.event_id)) {
      for (const interaction of collected) if (!takenBack.has(interaction.id)) append(interaction);
      collected = undefined;
    }
    if (!collected) {
      const original = takenBack.has(target) ? undefined : byId.get(target);
      const ops: Op[] = [];
      if (original !== undefined) {
        const removed = removeLive(live, original, history, cap);
        byId.delete(original.id);
        history = removed.history;
        ops.push(...contributionDeltaOps(m.event.user_id, removed.before, removed.after, config));
      }
      if (retractions.has(m.event.event_id)) out.set(m.event.event_id, ops);
    }
    takenBack.add(target);
  }
  return out;
}

/**
 * Takes `original` out of `live` (whose replay ends with `history`): the contributions from it on with and
 * without it (what contributionDeltaOps needs; both begin from the same history, so the counts before it cancel),
 * and the history the replay without it ends with. Snapshots after it are brought up to date.
 */
function removeLive(
  live: LiveInteraction[],
  original: LiveInteraction,
  history: Map<string, number>,
  cap: number,
): { before: CoocContribution; after: CoocContribution; history: Map<string, number> } {
  const index = live.indexOf(original);
  let from = index;
  while (from > 0 && live[from]!.snapshot === undefined) from--;
  const start = new Map(live[from]?.snapshot ?? []);
  for (let i = from; i < index; i++) coocStep(start, live[i]!.event, cap);
  const replay = (history: Map<string, number>) => ({
    history,
    pairs: new Map<string, number>(),
    counts: new Map<string, number>(),
  });
  const withIt = replay(new Map(start));
  const without = replay(start);
  coocStep(withIt.history, original.event, cap, withIt);
  let converged = false;
  for (let i = index + 1; i < live.length && !converged; i++) {
    if (live[i]!.snapshot !== undefined) live[i]!.snapshot = new Map(without.history);
    coocStep(withIt.history, live[i]!.event, cap, withIt);
    coocStep(without.history, live[i]!.event, cap, without);
    converged = sameEntries(withIt.history, without.history);
  }
  if (
    original.snapshot !== undefined &&
    live[index + 1] !== undefined &&
    live[index + 1]!.snapshot === undefined
  )
    live[index + 1]!.snapshot = new Map(original.snapshot);
  live.splice(index, 1);
  // Converged: the rest of the replay, and so its final history, is the same without the original.
  const final = converged ? history : without.history;
  return {
    before: {
      pairs: withIt.pairs,
      counts: withIt.counts,
      history: [...(converged ? history : withIt.history)].sort(byRank),
    },
    after: { pairs: without.pairs, counts: without.counts, history: [...final].sort(byRank) },
    history: final,
  };
}

const sameEntries = (a: Map<string, number>, b: Map<string, number>): boolean =>
  a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

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
