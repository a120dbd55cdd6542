// Builds the one query that turns an experiment's exposures and events into per-variant sufficient
// statistics. Only trusted text is spliced into the SQL (fixed fragments, column names from a fixed list,
// and generated parameter names); every value that comes from a definition or a caller is bound as a
// `{name:Type}` parameter.
import type { QueryParams } from "../../core/clickhouse/port.ts";
import type { ExperimentDefinition } from "../../ingest/experiments/index.ts";

/** Context dimensions a breakdown may use: those captured at the user's first exposure. */
export const BREAKDOWN_DIMENSIONS = ["device", "platform", "country", "locale", "app_version"] as const;
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number];

export function isBreakdownDimension(value: string): value is BreakdownDimension {
  return (BREAKDOWN_DIMENSIONS as readonly string[]).includes(value);
}

/** A window long enough to mean "until the end of the analysis" without overflowing Int64 milliseconds. */
const UNBOUNDED_WINDOW_MS = Number.MAX_SAFE_INTEGER;

export interface StatisticsQuery {
  sql: string;
  params: QueryParams;
}

export interface StatisticsQueryInput {
  experiment: ExperimentDefinition;
  /** Users first exposed in [startMs, endMs) are analysed; events count up to endMs (exclusive). */
  startMs: number;
  endMs: number;
  breakdown?: BreakdownDimension;
  /** Carry variant names through the join instead of packing an index (for variants the definition lacks). */
  carryLabels?: boolean;
}

/**
 * Per user: the metric over [exposure, min(exposure + window, end)) and the same quantity over the
 * pre-period of equal length just before exposure (the CUPED covariate). Then, across users of each
 * variant (× breakdown value): n, Σx, Σx², Σpre, Σpre², Σx·pre and, for ratios, Σden, Σden², Σnum·den.
 * Aggregating per user first and across users second is what makes the sums of squares right.
 */
export function buildStatisticsQuery(input: StatisticsQueryInput): StatisticsQuery {
  const { experiment, breakdown } = input;
  const params: Record<string, QueryParams[string]> = {
    experiment: experiment.key,
    start_ms: Math.trunc(input.startMs),
    end_ms: Math.trunc(input.endMs),
    end: new Date(input.endMs),
  };
  const types = new Set<string>();
  const perUser: string[] = [];
  // Per user: the values capped at absolute caps. Per group (variant × breakdown value): sums, or the
  // per-user values as arrays for metrics with a percentile cap. Then the totals over those.
  const capped: string[] = [];
  const grouped: string[] = [];
  const capWindows: string[] = [];
  const totals: string[] = [];

  experiment.metrics.forEach((metric, i) => {
    params[`w${i}`] =
      metric.window_hours === undefined ? UNBOUNDED_WINDOW_MS : Math.round(metric.window_hours * 3_600_000);
    const postEnd = `least(e.x_ms + {w${i}:Int64}, {end_ms:Int64})`;
    const post = `e.t >= e.x_ms AND e.t < ${postEnd}`;
    const pre = `e.t < e.x_ms AND e.t >= 2 * e.x_ms - ${postEnd}`;
    if (metric.type === "ratio") {
      params[`num_type${i}`] = metric.numerator.event_type;
      params[`den_type${i}`] = metric.denominator.event_type;
      types.add(metric.numerator.event_type).add(metric.denominator.event_type);
      const num = (window: string) => termExpression(metric.numerator.value, `num_type${i}`, window);
      perUser.push(
        `${num(post)} AS post${i}`,
        `${num(pre)} AS pre${i}`,
        `${termExpression(metric.denominator.value, `den_type${i}`, post)} AS den${i}`,
      );
    } else {
      params[`type${i}`] = metric.event_type;
      types.add(metric.event_type);
      const expression =
        metric.type === "conversion"
          ? (window: string) => `toFloat64(max(e.type = {type${i}:String} AND ${window}))`
          : (window: string) => `sumIf(e.v, e.type = {type${i}:String} AND ${window})`;
      perUser.push(`${expression(post)} AS post${i}`, `${expression(pre)} AS pre${i}`);
    }

    const capping = metric.type === "conversion" ? undefined : metric.capping;
    const ratio = metric.type === "ratio";
    const columns = ratio ? ["p", "q", "d"] : ["p", "q"];
    if (capping?.type === "absolute") {
      params[`cap_value${i}`] = capping.value;
      if (ratio) params[`den_cap_value${i}`] = capping.value;
      // The pre-period is capped at the post-period's cap, so the covariate is on the metric's scale.
      capped.push(
        `least(post${i}, {cap_value${i}:Float64}) AS p${i}`,
        `least(pre${i}, {cap_value${i}:Float64}) AS q${i}`,
      );
      if (ratio) capped.push(`least(den${i}, {den_cap_value${i}:Float64}) AS d${i}`);
    } else {
      capped.push(`post${i} AS p${i}`, `pre${i} AS q${i}`);
      if (ratio) capped.push(`den${i} AS d${i}`);
    }
    if (capping?.type === "percentile") {
      // A percentile cap is a value over all users, known only once every per-user value is: the
      // per-user values are kept as arrays per group, the cap is a window over the few group rows and
      // the capped sums are taken from the arrays (cheaper than a window over a million user rows).
      params[`cap_value${i}`] = capping.value;
      if (ratio) params[`den_cap_value${i}`] = capping.value;
      grouped.push(...columns.map((c) => `groupArray(${c}${i}) AS a${c}${i}`));
      capWindows.push(`quantileExactInclusiveArray({cap_value${i}:Float64})(ap${i}) OVER () AS cap${i}`);
      if (ratio)
        capWindows.push(
          `quantileExactInclusiveArray({den_cap_value${i}:Float64})(ad${i}) OVER () AS den_cap${i}`,
        );
      const sum = (expression: string, ...arrays: string[]) =>
        `arrayReduce('sumKahan', arrayMap((${arrays.map((_, j) => `v${j}`).join(", ")}) -> ${expression}, ${arrays.join(", ")}))`;
      const capP = `least(v0, cap${i})`;
      totals.push(
        `${sum(capP, `ap${i}`)} AS sum${i}`,
        `${sum(`${capP} * ${capP}`, `ap${i}`)} AS sum_squares${i}`,
        `${sum(capP, `aq${i}`)} AS pre_sum${i}`,
        `${sum(`${capP} * ${capP}`, `aq${i}`)} AS pre_sum_squares${i}`,
        `${sum(`least(v0, cap${i}) * least(v1, cap${i})`, `ap${i}`, `aq${i}`)} AS cross_sum${i}`,
        `cap${i}`,
      );
      if (ratio) {
        const capD = `least(v0, den_cap${i})`;
        totals.push(
          `${sum(capD, `ad${i}`)} AS den_sum${i}`,
          `${sum(`${capD} * ${capD}`, `ad${i}`)} AS den_sum_squares${i}`,
          `${sum(`least(v0, cap${i}) * least(v1, den_cap${i})`, `ap${i}`, `ad${i}`)} AS num_den_cross${i}`,
        );
      }
      return;
    }
    grouped.push(
      `sum(p${i}) AS sum${i}`,
      `sum(p${i} * p${i}) AS sum_squares${i}`,
      `sum(q${i}) AS pre_sum${i}`,
      `sum(q${i} * q${i}) AS pre_sum_squares${i}`,
      `sum(p${i} * q${i}) AS cross_sum${i}`,
      capping?.type === "absolute"
        ? `toNullable({cap_value${i}:Float64}) AS cap${i}`
        : `CAST(NULL AS Nullable(Float64)) AS cap${i}`,
    );
    totals.push(
      `sum${i}`,
      `sum_squares${i}`,
      `pre_sum${i}`,
      `pre_sum_squares${i}`,
      `cross_sum${i}`,
      `cap${i}`,
    );
    if (ratio) {
      grouped.push(
        `sum(d${i}) AS den_sum${i}`,
        `sum(d${i} * d${i}) AS den_sum_squares${i}`,
        `sum(p${i} * d${i}) AS num_den_cross${i}`,
      );
      totals.push(`den_sum${i}`, `den_sum_squares${i}`, `num_den_cross${i}`);
    }
  });
  params.types = [...types];

  // The arm travels through the join packed with the exposure time into one Int64 (x_ms * 256 + index
  // into the definition's variants): every column gathered from the join's right side costs about as
  // much as the probe itself, for each of the millions of joined rows. A variant the definition does
  // not name (index 0) or a breakdown value cannot be packed, so those queries carry them as columns.
  const packed = !breakdown && !input.carryLabels && experiment.variants.length < 256;
  params.arms = experiment.variants.map((v) => v.key);
  const label = packed
    ? `indexOf({arms:Array(String)}, ${firstExposure("variant")}) AS arm_idx`
    : `toString(${firstExposure("variant")}) AS arm${breakdown ? `, toString(${firstExposure(breakdown)}) AS bucket` : ""}`;
  const labelCarry = packed ? "" : `, x.arm AS arm${breakdown ? ", x.bucket AS bucket" : ""}`;
  const labelAny = packed ? "" : `, any(arm) AS arm${breakdown ? ", any(bucket) AS bucket" : ""}`;
  const labelOut = packed ? "bitAnd(xa, 255) AS arm_idx" : `arm${breakdown ? ", bucket" : ""}`;
  const groupBy = packed ? "arm_idx" : breakdown ? "arm, bucket" : "arm";
  const variantOut = packed
    ? "arm_idx, {arms:Array(String)}[arm_idx] AS variant"
    : `arm AS variant${breakdown ? ", bucket AS breakdown" : ""}`;
  const variantOutNames = packed ? "arm_idx, variant" : `variant${breakdown ? ", breakdown" : ""}`;
  const orderBy = packed ? "variant" : breakdown ? "variant, breakdown" : "variant";

  // The pre-period of a user exposed at x reaches back to 2x - end at the earliest, so events older than
  // 2*start - end are never needed. Users are joined on a 64-bit hash of user_id (about twice as fast as
  // String keys; a collision among a million users has probability ~3e-8), with the exposures as the
  // right side so the hash table holds one row per exposed user rather than every event. Every exposed
  // user has an exposure event of this experiment before the end (it is where first_exposures comes
  // from), so reading those too keeps users without metric events in an INNER JOIN: they match no
  // metric window (unless a metric counts exposures, whose rows are then read once all the same).
  const sql = `
WITH exposed AS (
    SELECT cityHash64(user_id) AS k, toUnixTimestamp64Milli(min(occurred_at)) AS x_ms,
        x_ms * 256 + ${packed ? "toInt64(arm_idx)" : "0"} AS xa, ${label}
    FROM reckon.events FINAL
    WHERE type = 'exposure' AND experiment_key = {experiment:String} AND occurred_at < {end:DateTime64(3, 'UTC')}
    GROUP BY user_id
    HAVING x_ms >= {start_ms:Int64} AND x_ms < {end_ms:Int64}
),
per_user AS (
    SELECT k, any(xa) AS xa${labelAny},
        ${perUser.join(",\n        ")}
    FROM (
        SELECT e.k AS k, e.type AS type, e.t AS t, e.v AS v, x.xa AS xa, bitShiftRight(x.xa, 8) AS x_ms${labelCarry}
        FROM (
            SELECT cityHash64(user_id) AS k, type, toUnixTimestamp64Milli(occurred_at) AS t, ifNull(value, 0) AS v
            FROM reckon.events FINAL
            WHERE (type IN {types:Array(String)} OR (type = 'exposure' AND experiment_key = {experiment:String}))
              AND occurred_at < {end:DateTime64(3, 'UTC')}
              AND toUnixTimestamp64Milli(occurred_at) >= 2 * {start_ms:Int64} - {end_ms:Int64}
        ) AS e
        INNER JOIN exposed AS x ON e.k = x.k
    ) AS e
    GROUP BY k
),
capped AS (
    SELECT ${labelOut},
        ${capped.join(",\n        ")}
    FROM per_user
),
grouped AS (
    SELECT ${variantOut}, count() AS n,
        ${grouped.join(",\n        ")}
    FROM capped
    GROUP BY ${groupBy}
)
SELECT ${variantOutNames}, n,
    ${totals.join(",\n    ")}
FROM ${capWindows.length > 0 ? `(SELECT *, ${capWindows.join(", ")} FROM grouped)` : "grouped"}
ORDER BY ${orderBy}`;
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
