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
  const user = retraction.event.user_id;
  const { profile, recent, dismissed } = userActivity(
    interactionsAfterRetraction(userLog, retraction),
    config.recentCap,
  );
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
