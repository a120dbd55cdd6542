// The per-user side of experiment analysis, shared by the analytics projection (which maintains
// `experiment_user_totals` with it) and the results queries in analytics/queries (which compute the same
// columns from the events when the totals cannot answer). Only trusted text is spliced into the SQL;
// every value from a definition or a caller is bound as a `{name:Type}` parameter.
import { createHash } from "node:crypto";
import stringify from "safe-stable-stringify";
import type { QueryParams } from "../../core/clickhouse/port.ts";
import type { ExperimentDefinition } from "../../ingest/experiments/index.ts";

export type Params = Record<string, QueryParams[string]>;

/**
 * Rows of one INSERT have distinct (experiment, user) keys, so ReplacingMergeTree's deduplication of the
 * inserted block finds nothing; skipping it takes a third off a rebuild (8.1 → 5.2 s for 1M users here).
 */
const INSERT_SETTINGS = "optimize_on_insert = 0";

/**
 * The layout of experiment_user_totals' `den` array: "post+pre" = each metric's post-period
 * denominator, then each metric's pre-period denominator. Part of the definition hash, so totals
 * written with an earlier layout count as stale and are rebuilt.
 */
export const DEN_LAYOUT = "post+pre";

/** `ver`'s time part counts milliseconds from 2020-01-01 (beside the definition version in the high bits). */
export const TOTALS_EPOCH_MS = 1_577_836_800_000;

/** Context dimensions a breakdown may use: those captured at the user's first exposure. */
export const BREAKDOWN_DIMENSIONS = ["device", "platform", "country", "locale", "app_version"] as const;
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number];

export function isBreakdownDimension(value: string): value is BreakdownDimension {
  return (BREAKDOWN_DIMENSIONS as readonly string[]).includes(value);
}

/** A window long enough to mean "until the end of the analysis" without overflowing Int64 milliseconds. */
const UNBOUNDED_WINDOW_MS = Number.MAX_SAFE_INTEGER;

/**
 * The CUPED pre-period of a metric without a window: the 14 days before exposure (GrowthBook's default
 * lookback). A metric with a window uses the same length before exposure. A fixed length keeps a user's
 * covariate the same whenever the analysis runs, which is what lets per-user totals be maintained.
 */
export const CUPED_LOOKBACK_MS = 14 * 86_400_000;

/** The pre-period length of metric `metric`: its window, or the lookback when it has none. */
export function preWindowMs(metric: { window_hours?: number | undefined }): number {
  return metric.window_hours === undefined ? CUPED_LOOKBACK_MS : Math.round(metric.window_hours * 3_600_000);
}

/**
 * The per-user columns every form shares: for metric i, `post{i}` over [exposure, min(exposure + window,
 * end)) (no end in an open analysis), `pre{i}` over the period of the same length before exposure (14 days
 * without a window; the CUPED covariate) and, for ratios, `den{i}` over the post window and `pden{i}`
 * over the pre-period (the ratio's CUPED covariate is the pre-period ratio). They read `e.t`,
 * `e.x_ms`, `e.type` and `e.v` of the joined rows and register their parameters in `params`.
 */
export function perUserColumns(
  experiment: ExperimentDefinition,
  params: Params,
  openEnd: boolean,
): { columns: string[]; types: string[]; lookbackMs: number } {
  const types = new Set<string>();
  const columns: string[] = [];
  let lookbackMs = 0;
  experiment.metrics.forEach((metric, i) => {
    params[`w${i}`] =
      metric.window_hours === undefined ? UNBOUNDED_WINDOW_MS : Math.round(metric.window_hours * 3_600_000);
    params[`l${i}`] = preWindowMs(metric);
    lookbackMs = Math.max(lookbackMs, preWindowMs(metric));
    const postEnd = openEnd ? `e.x_ms + {w${i}:Int64}` : `least(e.x_ms + {w${i}:Int64}, {end_ms:Int64})`;
    const post = `e.t >= e.x_ms AND e.t < ${postEnd}`;
    const pre = `e.t < e.x_ms AND e.t >= e.x_ms - {l${i}:Int64}`;
    if (metric.type === "ratio") {
      params[`num_type${i}`] = metric.numerator.event_type;
      params[`den_type${i}`] = metric.denominator.event_type;
      types.add(metric.numerator.event_type).add(metric.denominator.event_type);
      const num = (window: string) => termExpression(metric.numerator.value, `num_type${i}`, window);
      columns.push(
        `${num(post)} AS post${i}`,
        `${num(pre)} AS pre${i}`,
        `${termExpression(metric.denominator.value, `den_type${i}`, post)} AS den${i}`,
        `${termExpression(metric.denominator.value, `den_type${i}`, pre)} AS pden${i}`,
      );
    } else {
      params[`type${i}`] = metric.event_type;
      types.add(metric.event_type);
      const expression =
        metric.type === "conversion"
          ? (window: string) => `toFloat64(max(e.type = {type${i}:String} AND ${window}))`
          : (window: string) => `sumIf(e.v, e.type = {type${i}:String} AND ${window})`;
      columns.push(`${expression(post)} AS post${i}`, `${expression(pre)} AS pre${i}`);
    }
  });
  return { columns, types: [...types], lookbackMs };
}

export interface UserTotalsInput {
  experiment: ExperimentDefinition;
  definitionHash: string;
  /** The experiment's version when computed: rows of a later definition always replace earlier ones. */
  definitionVersion: number;
  /** Only these users (a projected batch's); every exposed user when absent (a rebuild). */
  users?: readonly string[];
  database?: string;
}

/**
 * Recomputes the per-user totals of an open analysis for exposed users (all, or the given ones) from
 * the events: an INSERT … SELECT into `experiment_user_totals`, whose ReplacingMergeTree keeps the row
 * with the highest `ver` = definition version << 42 | milliseconds since 2020. Recomputing a user
 * from all their events is what makes this idempotent: a redelivered batch or a replay writes the same
 * values again.
 */
export function buildUserTotalsInsert(input: UserTotalsInput): { sql: string; params: Params } {
  const { experiment } = input;
  const database = input.database ?? "reckon";
  const params: Params = {
    experiment: experiment.key,
    definition_hash: input.definitionHash,
    definition_version: input.definitionVersion,
  };
  const perUser = perUserColumns(experiment, params, true);
  params.types = perUser.types;
  const users = input.users !== undefined;
  if (users) params.users = [...input.users!];
  const dims = BREAKDOWN_DIMENSIONS.map((d) => `toString(${firstExposure(d)}) AS x_${d}`).join(", ");
  const ratioOnly = (prefix: string) =>
    experiment.metrics.map((metric, i) => (metric.type !== "ratio" ? "0." : `${prefix}${i}`));
  // `den` holds each metric's post-period denominator, then each metric's pre-period denominator
  // (DEN_LAYOUT): 2 × metrics entries, 0 for metrics that are not ratios.
  const list = (prefix: string) =>
    prefix === "den"
      ? `[${[...ratioOnly("den"), ...ratioOnly("pden")].join(", ")}]`
      : `[${experiment.metrics.map((_, i) => `${prefix}${i}`).join(", ")}]`;
  const columns = `experiment_key, user_id, x_ms, variant, ${BREAKDOWN_DIMENSIONS.join(", ")}, def_hash, post, pre, den, ver`;
  const ver = `bitShiftLeft(toUInt64({definition_version:UInt32}), 42) + toUInt64(toUnixTimestamp64Milli(now64(3)) - ${TOTALS_EPOCH_MS})`;
  const values = `{definition_hash:String}, ${list("post")}, ${list("pre")}, ${list("den")}, ${ver}`;
  if (!users) {
    // Every exposed user (a rebuild): the events meet the exposures on a 64-bit hash of user_id carrying
    // only the exposure time, as the results query does (String keys and label columns carried through
    // a join of millions of rows cost several times more); names and context join back per user.
    const sql = `
INSERT INTO ${database}.experiment_user_totals (${columns})
WITH per_user AS (
    SELECT k, any(e.x_ms) AS x_ms,
        ${perUser.columns.join(",\n        ")}
    FROM (
        SELECT ev.k AS k, ev.type AS type, ev.t AS t, ev.v AS v, x.x_ms AS x_ms
        FROM (
            SELECT cityHash64(user_id) AS k, type, toUnixTimestamp64Milli(occurred_at) AS t, ifNull(value, 0) AS v
            FROM ${database}.events FINAL
            WHERE type IN {types:Array(String)} OR (type = 'exposure' AND experiment_key = {experiment:String})
        ) AS ev
        INNER JOIN (
            SELECT cityHash64(user_id) AS k, toUnixTimestamp64Milli(min(occurred_at)) AS x_ms
            FROM ${database}.events FINAL
            WHERE type = 'exposure' AND experiment_key = {experiment:String}
            GROUP BY user_id
        ) AS x ON ev.k = x.k
    ) AS e
    GROUP BY k
),
labels AS (
    SELECT cityHash64(user_id) AS k, user_id, toString(${firstExposure("variant")}) AS x_variant, ${dims}
    FROM ${database}.events FINAL
    WHERE type = 'exposure' AND experiment_key = {experiment:String}
    GROUP BY user_id
)
SELECT {experiment:String}, l.user_id, p.x_ms, l.x_variant, ${BREAKDOWN_DIMENSIONS.map((d) => `l.x_${d}`).join(", ")},
    ${values}
FROM per_user AS p
INNER JOIN labels AS l ON p.k = l.k
SETTINGS ${INSERT_SETTINGS}`;
    return { sql, params };
  }
  // A batch's few users: user_events (clustered by user, small granules) reads their rows only, and
  // LIMIT 1 BY drops redelivered copies of an event (a third of the cost of FINAL there).
  const source = `(SELECT * FROM ${database}.user_events WHERE user_id IN {users:Array(String)} LIMIT 1 BY user_id, event_id)`;
  const sql = `
INSERT INTO ${database}.experiment_user_totals (${columns})
SELECT {experiment:String}, user_id, x_ms, variant, ${BREAKDOWN_DIMENSIONS.join(", ")}, ${values}
FROM (
    SELECT user_id, any(e.x_ms) AS x_ms, any(e.variant) AS variant,
        ${BREAKDOWN_DIMENSIONS.map((d) => `any(e.${d}) AS ${d}`).join(", ")},
        ${perUser.columns.join(",\n        ")}
    FROM (
        SELECT ev.user_id AS user_id, ev.type AS type, ev.t AS t, ev.v AS v, x.x_ms AS x_ms, x.x_variant AS variant,
            ${BREAKDOWN_DIMENSIONS.map((d) => `x.x_${d} AS ${d}`).join(", ")}
        FROM (
            SELECT user_id, type, toUnixTimestamp64Milli(occurred_at) AS t, ifNull(value, 0) AS v
            FROM ${source}
            WHERE (type IN {types:Array(String)} OR (type = 'exposure' AND experiment_key = {experiment:String}))
        ) AS ev
        INNER JOIN (
            SELECT user_id, toUnixTimestamp64Milli(min(occurred_at)) AS x_ms,
                toString(${firstExposure("variant")}) AS x_variant, ${dims}
            FROM ${source}
            WHERE type = 'exposure' AND experiment_key = {experiment:String}
            GROUP BY user_id
        ) AS x ON ev.user_id = x.user_id
    ) AS e
    GROUP BY user_id
)
SETTINGS ${INSERT_SETTINGS}`;
  return { sql, params };
}

/**
 * The value of a column at the user's first exposure: the earliest exposure, ties broken by event_id, as
 * reckon.first_exposures keeps it (argMin over (occurred_at, event_id)). Read from the exposure events
 * themselves: merging first_exposures' argMin states over a (DateTime64, UUID) tuple compares tuples
 * generically and cost about 2 s of CPU per million users, the -ArgMin combinator (the argMin by
 * event_id among the rows at the earliest time) about a third of that, with the same result.
 */
export function firstExposure(column: string): string {
  return `argMinArgMin(${column}, event_id, occurred_at)`;
}

function termExpression(value: "count" | "sum", typeParam: string, window: string): string {
  return value === "count"
    ? `toFloat64(countIf(e.type = {${typeParam}:String} AND ${window}))`
    : `sumIf(e.v, e.type = {${typeParam}:String} AND ${window})`;
}

/**
 * A fingerprint of what per-user values depend on: each metric's type, event types, value kind and window,
 * in order (caps, guardrails, names and variants are applied when reading, so changing them needs no
 * rebuild). Stable across key order, so the projector (definition from Postgres jsonb) and the reader
 * (definition from the API) agree.
 */
export function definitionHash(experiment: ExperimentDefinition): string {
  const metrics = experiment.metrics.map((m) =>
    m.type === "ratio"
      ? {
          type: m.type,
          numerator: m.numerator,
          denominator: m.denominator,
          window_hours: m.window_hours ?? null,
        }
      : { type: m.type, event_type: m.event_type, window_hours: m.window_hours ?? null },
  );
  // Rows written with another layout of the arrays are stale, whatever the definition.
  const shape = { layout: DEN_LAYOUT, metrics };
  return createHash("sha256").update(stringify(shape)!).digest("hex").slice(0, 16);
}
