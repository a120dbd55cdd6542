import type { Op } from "../runtime/redis-batch.ts";
import { featureKeys } from "./ops.ts";

/** The catfan template per user lifetime (one in practice), so a batch sends it once (see featureOps). */
const templates = new Map<string, readonly Op[]>();

/**
 * A "not_interested" event: the item goes into the user's dismissed items (latest time wins, so a redelivery or an
 * older event changes nothing) and each of its categories, as the catalog has them when the event is applied, is
 * counted once in the user's dismissed categories. Serving blocks the first and demotes by the second. Both keys
 * carry the user's hash tag and live as long as the user's other keys.
 */
export function notInterestedOps(userId: string, itemId: string, atMs: number, ttlMs: string): Op[] {
  const dismissed = featureKeys.userDismissed(userId);
  let template = templates.get(ttlMs);
  if (template === undefined) {
    if (templates.size >= 8) templates.clear();
    template = [
      ["hincrby", "$1", "$c", "1"],
      ["pexpire", "$1", ttlMs],
    ];
    templates.set(ttlMs, template);
  }
  return [
    ["hmax", dismissed, itemId, String(atMs)],
    ["pexpire", dismissed, ttlMs],
    ["catfan", featureKeys.item(itemId), "cats", template, [featureKeys.userDismissedCategories(userId)]],
  ];
}
