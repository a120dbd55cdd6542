import type { LogMessage } from "../../core/contracts/log-message.ts";
import { NOT_INTERESTED, type InteractionEvent } from "../../core/contracts/event.ts";
import type { Op } from "../../core/projection-store/port.ts";
import type { FeaturesConfig } from "../../core/read-models/features-config.ts";
import { featureKeys } from "./ops.ts";

type RetractionMessage = Extract<LogMessage, { kind: "retraction" }>;

/** A user's profile hash and recent list as featureOps leaves them after a run of the user's interactions. */
export interface UserActivity {
  /** `n:<type>` → count and `last` → latest event time (ms), fields in code-unit order. */
  profile: [field: string, value: string][];
  /** `<type>:<item>` → latest event time (ms), lowest rank first, at most `recentCap`. */
  recent: [member: string, timeMs: number][];
  /** Items the user dismissed ("not_interested") → latest such time (ms), in code-unit order. */
  dismissed: [item: string, timeMs: string][];
}

/** Redis sorted-set order: score, then member bytes (what `zcap` trims first). */
const byRank = (a: [string, number], b: [string, number]): number =>
  a[1] - b[1] || Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]));

/**
 * Replays featureOps' profile and recent-list ops over one user's interactions in log order: every interaction
 * counts in `n:<type>` and raises `last`; one with an item that is not negative feedback raises its
 * `<type>:<item>` entry (ZADD GT), and the list keeps the `recentCap` highest ranks (trimming once at the end
 * keeps the same entries as trimming after every add, since entries only rise); a "not_interested" one raises
 * the item's dismissal time instead (negative-feedback-ops.ts).
 */
export function userActivity(events: readonly InteractionEvent[], recentCap: number): UserActivity {
  const counts = new Map<string, number>();
  let last: number | undefined;
  const recent = new Map<string, number>();
  const dismissed = new Map<string, number>();
  for (const e of events) {
    const t = Date.parse(e.timestamp);
    const field = `n:${e.type}`;
    counts.set(field, (counts.get(field) ?? 0) + 1);
    if (last === undefined || t > last) last = t;
    if (e.item_id === undefined) continue;
    if (e.type === NOT_INTERESTED) {
      const present = dismissed.get(e.item_id);
      if (present === undefined || t > present) dismissed.set(e.item_id, t);
      continue;
    }
    const member = `${e.type}:${e.item_id}`;
    const present = recent.get(member);
    if (present === undefined || t > present) recent.set(member, t);
  }
  const profile: [string, string][] = [...counts].map(([f, n]) => [f, String(n)]);
  if (last !== undefined) profile.push(["last", String(last)]);
  profile.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const ranked = [...recent].sort(byRank);
  return {
    profile,
    recent: ranked.slice(Math.max(0, ranked.length - recentCap)),
    dismissed: [...dismissed]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([i, t]) => [i, String(t)]),
  };
}

/**
 * The user's interactions that count after `retraction`: `userLog` (the user's interactions and retractions in
 * log order, runtime/user-log.ts) up to the retraction, without every event a retraction up to and including it
 * takes back.
 */
export function interactionsAfterRetraction(
  userLog: readonly LogMessage[],
  retraction: RetractionMessage,
): InteractionEvent[] {
  const takenBack = new Set<string>();
  const interactions: InteractionEvent[] = [];
  for (const m of userLog) {
    if (m.kind === "retraction") {
      takenBack.add(m.event.retracts.toLowerCase());
      if (m.event.event_id === retraction.event.event_id) break;
    } else if (m.kind === "interaction") interactions.push(m.event);
  }
  takenBack.add(retraction.event.retracts.toLowerCase());
  return interactions.filter((e) => !takenBack.has(e.event_id.toLowerCase()));
}

/**
 * The ops that set the retracting user's profile (counts by type, last activity) and recent list (and, when the
 * retracted event is a "not_interested", the user's dismissed items) to what the user's log gives without the
 * retracted events: a latest time or a trimmed entry cannot be subtracted (a max
 * does not remember the runner-up, a trim forgets what it dropped), so both are recomputed and replaced.
 * Idempotent: retracting again, or a redelivery, writes the same.
 *
 * Exact while the user's keys lived as long as their log: keys expired after `userTtlMs` without activity and
 * the log still holding older events come back as the log has them (as a rebuild does).
 */
export function userActivityUndoOps(
  userLog: readonly LogMessage[],
  retraction: RetractionMessage,
  config: Pick<FeaturesConfig, "recentCap" | "userTtlMs">,
): Op[] {
  return activityReplaceOps(
    retraction,
    userActivity(interactionsAfterRetraction(userLog, retraction), config.recentCap),
    config,
  );
}

/** The ops that replace the retracting user's profile, recent list (and dismissed items) with `activity`. */
function activityReplaceOps(
  retraction: RetractionMessage,
  { profile, recent, dismissed }: UserActivity,
  config: Pick<FeaturesConfig, "userTtlMs">,
): Op[] {
  const user = retraction.event.user_id;
  const ttl = String(config.userTtlMs);
  const profileKey = featureKeys.userProfile(user);
  const recentKey = featureKeys.userRecent(user);
  const ops: Op[] = [["hreplace", profileKey, ...profile.flat()]];
  if (profile.length > 0) ops.push(["pexpire", profileKey, ttl]);
  ops.push(["zreplace", recentKey, ...recent.flatMap(([m, t]) => [String(t), m])]);
  if (recent.length > 0) ops.push(["pexpire", recentKey, ttl]);
  if (retraction.event.original.type === NOT_INTERESTED) {
    const dismissedKey = featureKeys.userDismissed(user);
    ops.push(["hreplace", dismissedKey, ...dismissed.flat()]);
    if (dismissed.length > 0) ops.push(["pexpire", dismissedKey, ttl]);
  }
  return ops;
}

/**
 * userActivityUndoOps of each retraction in `retractions` (event ids), computed in one pass over `userLog` (the
 * user's interactions and retractions in log order, up to and including the last of them) instead of one
 * replay of the log per retraction: what a batch holding many retractions of one user needs. The pass keeps the
 * user's live interactions as counts, times and items, taking each retracted one out as its retraction comes;
 * each retraction gets what userActivity gives for the interactions live at it, so its ops stay exact on their
 * own and do not depend on how the log is cut into batches.
 */
export function userActivityUndoOpsOfRetractions(
  userLog: readonly LogMessage[],
  retractions: ReadonlySet<string>,
  config: Pick<FeaturesConfig, "recentCap" | "userTtlMs">,
): Map<string, Op[]> {
  const out = new Map<string, Op[]>();
  const live = new LiveActivity();
  const byId = new Map<string, InteractionEvent>();
  const takenBack = new Set<string>();
  for (const m of userLog) {
    if (m.kind === "interaction") {
      const id = m.event.event_id.toLowerCase();
      // An interaction taken back before it comes (a retraction ahead of its original) never counts.
      if (takenBack.has(id)) continue;
      live.add(m.event);
      byId.set(id, m.event);
    } else if (m.kind === "retraction") {
      const target = m.event.retracts.toLowerCase();
      const original = byId.get(target);
      if (original !== undefined) {
        live.remove(original);
        byId.delete(target);
      }
      takenBack.add(target);
      if (retractions.has(m.event.event_id))
        out.set(
          m.event.event_id,
          activityReplaceOps(
            m,
            live.activity(config.recentCap, m.event.original.type === NOT_INTERESTED),
            config,
          ),
        );
    }
  }
  return out;
}

/** A user's interactions as userActivity counts them, with interactions added and removed one at a time. */
class LiveActivity {
  private readonly counts = new Map<string, number>();
  /** Every interaction's time (for `last`), ascending. */
  private readonly times: number[] = [];
  /** `<type>:<item>` → the times of its interactions; item → its dismissals' times. */
  private readonly recent = new Map<string, number[]>();
  private readonly dismissed = new Map<string, number[]>();
  /** Each recent member with its latest time, lowest rank first (the recent list is its top `recentCap`). */
  private readonly ranked: [member: string, timeMs: number][] = [];

  add(e: InteractionEvent): void {
    this.count(e, 1);
    const t = Date.parse(e.timestamp);
    this.times.splice(sortedIndex(this.times, t), 0, t);
    this.update(e, (times) => times.push(t));
  }

  remove(e: InteractionEvent): void {
    this.count(e, -1);
    const t = Date.parse(e.timestamp);
    this.times.splice(sortedIndex(this.times, t), 1);
    this.update(e, (times) => times.splice(times.indexOf(t), 1));
  }

  /** What userActivity gives for the live interactions (its dismissed items only when asked: they cost a sort). */
  activity(recentCap: number, withDismissed: boolean): UserActivity {
    const profile: [string, string][] = [...this.counts].map(([f, n]) => [f, String(n)]);
    if (this.times.length > 0) profile.push(["last", String(this.times[this.times.length - 1])]);
    profile.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const dismissed = withDismissed
      ? [...this.dismissed]
          .map(([item, times]): [string, string] => [item, String(latest(times))])
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      : [];
    return {
      profile,
      recent: this.ranked.slice(Math.max(0, this.ranked.length - recentCap)).map(([m, t]) => [m, t]),
      dismissed,
    };
  }

  private count(e: InteractionEvent, by: number): void {
    const field = `n:${e.type}`;
    const n = (this.counts.get(field) ?? 0) + by;
    if (n === 0) this.counts.delete(field);
    else this.counts.set(field, n);
  }

  /** Changes the times of `e`'s item where userActivity keeps it (recent list, dismissed items, or nowhere). */
  private update(e: InteractionEvent, change: (times: number[]) => void): void {
    if (e.item_id === undefined) return;
    const dismissal = e.type === NOT_INTERESTED;
    const map = dismissal ? this.dismissed : this.recent;
    const key = dismissal ? e.item_id : `${e.type}:${e.item_id}`;
    const times = map.get(key) ?? [];
    const before = times.length > 0 ? latest(times) : undefined;
    change(times);
    if (times.length > 0) map.set(key, times);
    else map.delete(key);
    if (dismissal) return;
    const after = times.length > 0 ? latest(times) : undefined;
    if (after === before) return;
    if (before !== undefined) this.ranked.splice(rankIndex(this.ranked, [key, before]), 1);
    if (after !== undefined) this.ranked.splice(rankIndex(this.ranked, [key, after]), 0, [key, after]);
  }
}

const latest = (times: readonly number[]): number => times.reduce((a, b) => (b > a ? b : a));

/** The first index of `ranked` (in byRank order) not below `entry`. */
function rankIndex(ranked: readonly [string, number][], entry: [string, number]): number {
  let low = 0;
  let high = ranked.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (byRank(ranked[mid]!, entry) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The first index of `sorted` (ascending) whose value is at least `value`. */
function sortedIndex(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}
