import type { LogMessage, RetractionEvent } from "../../core/contracts/log-message.ts";
import type { Op } from "../runtime/redis-batch.ts";
import type { OpsDecision } from "../runtime/redis-projection.ts";
import type { FeaturesConfig } from "../../core/read-models/features-config.ts";
import { NOT_INTERESTED } from "../../core/contracts/event.ts";
import { featureKeys, featureOps } from "./ops.ts";

type RetractionMessage = Extract<LogMessage, { kind: "retraction" }>;

/**
 * The effects of a retraction on the features read model: the original's own ops (featureOps, the same code
 * that applied it) with every increment negated, so counts, decayed affinities and decayed popularity lose
 * exactly what the original added (decay counters are integers per window, runtime/decay.ts, so the sum is
 * as if the original never came), and a count or score taken to 0 is no entry (`hincrby_drop`,
 * `zincrby_drop`), as in a projection that never had the original. These ops are order-dependent: the
 * projection applies retractions apart from the batch's other events (projection.ts). The category fan-out is
 * expanded over the categories the original was applied with (carried by the retraction), not the item's
 * categories now; a "not_interested" original takes one dismissal from each of them (undoDismissalOp).
 *
 * `hmax` (last activity) and `zadd_gt`/`zcap` (the recent list) keep maxima and trims that a subtraction cannot
 * take back: with `activityOps` (userActivityUndoOps of the retracting user's log, runtime/user-log.ts) the user's
 * profile and recent list are recomputed from it without the retracted events and replaced (user-activity.ts;
 * the profile's counts with them). Without them (a projection given no log), counts are subtracted and the rest is left to a rebuild, which
 * skips retracted events (core/event-store/retracted-events.ts).
 */
export function featureUndoOps(
  message: RetractionMessage,
  config: FeaturesConfig,
  nowMs: number,
  activityOps?: readonly Op[],
): OpsDecision {
  const r = message.event;
  const original: LogMessage = { ...message, kind: "interaction", event: r.original };
  const decision = featureOps(original, config, nowMs);
  if (!("ops" in decision)) return decision;
  const ops: Op[] = [];
  const dismissal = r.original.type === NOT_INTERESTED;
  for (const op of decision.ops) ops.push(...(dismissal ? undoDismissalOp(op, r) : undoOp(op, r)));
  if (activityOps === undefined) return { ops };
  const replaced = new Set([
    featureKeys.userProfile(r.user_id),
    featureKeys.userRecent(r.user_id),
    featureKeys.userDismissed(r.user_id),
  ]);
  return {
    ops: [...ops.filter((op) => !replaced.has(op[1])), ...activityOps],
  };
}

/** zincrby_drop trims a member it adds; a subtraction adds none, so its sets are never trimmed. */
const NO_CAP = String(Number.MAX_SAFE_INTEGER);

const negate = (by: string): string => (BigInt(by) === 0n ? "0" : String(-BigInt(by)));

function undoOp(op: Op, r: RetractionEvent): Op[] {
  switch (op[0]) {
    case "hincrby":
      return [["hincrby_drop", op[1], op[2], negate(op[3])]];
    case "zincrby":
      return [["zincrby_drop", op[1], negate(op[2]), op[3], NO_CAP]];
    case "pexpire":
      return [op];
    case "catfan": {
      const [, , , template, args = []] = op;
      // $1 is the affinity key, $2…$4 the increments, $5 the item (see featureOps).
      const negated = args.map((a, i) => (i >= 1 && i <= 3 ? negate(a) : a));
      return r.categories.flatMap((category) =>
        template.flatMap((inner) => expand(inner, category, negated)),
      );
    }
    default:
      // hmax, zadd_gt, zcap, hset_newer: maxima and trims, not sums (see featureUndoOps).
      return [];
  }
}

/**
 * A "not_interested" original (negative-feedback-ops.ts): its profile count is subtracted, each category it
 * was applied with loses one dismissal; the dismissed item's latest time is a maximum, left to the user's log
 * (user-activity.ts) or a rebuild.
 */
function undoDismissalOp(op: Op, r: RetractionEvent): Op[] {
  switch (op[0]) {
    case "hincrby":
      return [["hincrby_drop", op[1], op[2], negate(op[3])]];
    case "pexpire":
      return [op];
    case "catfan": {
      const key = featureKeys.userDismissedCategories(r.user_id);
      return r.categories.map((category): Op => ["hincrby_drop", key, category, "-1"]);
    }
    default:
      return [];
  }
}

/** `$c` → the category, `$1`…`$9` → the catfan's arguments (as the stores expand templates). */
const fill = (field: string, category: string, args: readonly string[]): string =>
  field.replace(/\$([0-9c])/g, (m, x: string) => (x === "c" ? category : (args[Number(x) - 1] ?? m)));

function expand(op: Op, category: string, args: readonly string[]): Op[] {
  const f = (s: string) => fill(s, category, args);
  switch (op[0]) {
    case "hincrby":
      return [["hincrby_drop", f(op[1]), f(op[2]), f(op[3])]];
    case "zincrby":
      return [["zincrby_drop", f(op[1]), f(op[2]), f(op[3]), NO_CAP]];
    case "pexpire":
      return [["pexpire", f(op[1]), f(op[2])]];
    default:
      throw new Error(`featureUndoOps: a category template holds ${op[0]}, which it cannot expand`);
  }
}
