import type { LogMessage } from "../../core/contracts/log-message.ts";
import { ALL_CATEGORIES, categoryTag, itemTag, userTag } from "../../core/read-models/keys.ts";
import { windowIncrement, windowIndex, windowTtlMs, type HalfLife } from "../runtime/decay.ts";
import type { Op } from "../runtime/redis-batch.ts";
import type { OpsDecision } from "../runtime/redis-projection.ts";
import type { FeaturesConfig } from "../../core/read-models/features-config.ts";
import { canonicalJson } from "../../core/canonical-json.ts";
import { NOT_INTERESTED } from "../../core/contracts/event.ts";
import { notInterestedOps } from "./negative-feedback-ops.ts";

/** Relative key names of the features projection (the batch script prepends `<prefix>:f:v<N>:`). */
export const featureKeys = {
  /** Hash: `n:<type>` counts, `last` (latest event time, ms). */
  userProfile: (u: string) => `${userTag(u)}:p`,
  /** Sorted set: member `<type>:<item>`, score = latest event time (ms); capped. */
  userRecent: (u: string) => `${userTag(u)}:recent`,
  /** Hash per decay window: category → fixed-point decayed weight (see runtime/decay.ts). */
  userAffinity: (u: string, window: number) => `${userTag(u)}:aff:${window}`,
  /** Hash: item → latest "not_interested" time (ms) of the user (see negative-feedback-ops.ts). */
  userDismissed: (u: string) => `${userTag(u)}:nope`,
  /** Hash: category → number of the user's "not_interested" items in it. */
  userDismissedCategories: (u: string) => `${userTag(u)}:nope:cats`,
  /** Hash: catalog state (`v` version, `doc` JSON, `cats` JSON array, `avail` 1/0). */
  item: (i: string) => `${itemTag(i)}:item`,
  /**
   * Sorted set: every catalog item → its latest change time (ms). Serving's last resort, so a list is never
   * empty while the catalog has items; availability is checked on the item hash at read time.
   */
  catalogIndex: () => "{g:catalog}:items",
  /** Hash: type → count. */
  itemCounts: (i: string) => `${itemTag(i)}:n`,
  /** Sorted set per decay window: item → fixed-point decayed popularity within the category. */
  trending: (category: string, h: HalfLife, window: number) =>
    `${categoryTag(category)}:tr:${h.name}:${window}`,
};

/** The floor of a decay window's lifetime, so that replayed history stays readable for a day. */
const WINDOW_TTL_FLOOR_MS = 24 * 3_600_000;

/**
 * The catfan templates in use (see featureOps), so events sharing one pass the same array and a batch sends it
 * once. Keyed by everything a template holds; at most a few are live at a time (decay windows change rarely).
 */
const categoryTemplates = new Map<string, readonly Op[]>();

/** The effects of one log message on the features read model (pure: the template cache only shares arrays). */
export function featureOps(message: LogMessage, config: FeaturesConfig, nowMs: number): OpsDecision {
  if (message.kind === "catalog") {
    const item = message.event.item;
    return {
      ops: [
        [
          "hset_newer",
          featureKeys.item(item.item_id),
          String(item.version),
          "doc",
          canonicalJson(item),
          "cats",
          JSON.stringify(item.categories),
          "avail",
          item.available ? "1" : "0",
        ],
        ["zadd_gt", featureKeys.catalogIndex(), String(Date.parse(item.updated_at)), item.item_id],
      ],
    };
  }
  if (message.kind !== "interaction") return { drop: `${message.kind} events carry no features` };

  const e = message.event;
  const t = Date.parse(e.timestamp);
  const ttl = String(config.userTtlMs);
  const profile = featureKeys.userProfile(e.user_id);
  const ops: Op[] = [
    ["hincrby", profile, `n:${e.type}`, "1"],
    ["hmax", profile, "last", String(t)],
    ["pexpire", profile, ttl],
  ];
  if (e.item_id === undefined) return { ops };
  // Negative feedback is not engagement: no recent entry, popularity or affinity, only the user's dismissals.
  if (e.type === NOT_INTERESTED) return { ops: [...ops, ...notInterestedOps(e.user_id, e.item_id, t, ttl)] };

  const item = e.item_id;
  const weight = config.typeWeights[e.type] ?? 1;
  const recent = featureKeys.userRecent(e.user_id);
  ops.push(
    ["zadd_gt", recent, String(t), `${e.type}:${item}`],
    ["zcap", recent, String(config.recentCap)],
    ["pexpire", recent, ttl],
    ["hincrby", featureKeys.itemCounts(item), e.type, "1"],
  );

  // The trending windows this event counts in (short and long half-life), and its increment in each.
  const trend = [config.popularityShort, config.popularityLong].map((h) => {
    const k = windowIndex(h, t);
    return { h, k, ttl: String(windowTtlMs(h, k, nowMs, WINDOW_TTL_FLOOR_MS)) };
  });
  const increments = trend.map(({ h }) => String(windowIncrement(h, t, weight)));
  const trendOps = (category: string, increments: readonly string[], member: string): Op[] =>
    trend.flatMap(({ h, k, ttl }, n): Op[] => {
      const key = featureKeys.trending(category, h, k);
      return [
        ["zincrby", key, increments[n]!, member],
        ["pexpire", key, ttl],
      ];
    });
  ops.push(...trendOps(ALL_CATEGORIES, increments, item));

  const ka = windowIndex(config.affinity, t);
  const affinityTtl = String(
    Math.min(windowTtlMs(config.affinity, ka, nowMs, WINDOW_TTL_FLOOR_MS), config.userTtlMs),
  );
  // Categories come from the catalog as projected when the event is applied ($c: each of the item's categories).
  // The template holds only what the events of a batch share (windows, lifetimes); $1…$5 are this event's.
  const templateKey = `${affinityTtl}|${trend.map(({ h, k, ttl }) => `${h.name}:${k}:${ttl}`).join("|")}`;
  let template = categoryTemplates.get(templateKey);
  if (template === undefined) {
    if (categoryTemplates.size >= 64) categoryTemplates.clear();
    template = [
      ["hincrby", "$1", "$c", "$2"],
      ["pexpire", "$1", affinityTtl],
      ...trendOps("$c", ["$3", "$4"], "$5"),
    ];
    categoryTemplates.set(templateKey, template);
  }
  ops.push([
    "catfan",
    featureKeys.item(item),
    "cats",
    template,
    [
      featureKeys.userAffinity(e.user_id, ka),
      String(windowIncrement(config.affinity, t, weight)),
      ...increments,
      item,
    ],
  ]);
  return { ops };
}
