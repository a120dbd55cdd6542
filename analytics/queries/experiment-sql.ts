// Builds the one query that turns an experiment's exposures and events into per-variant sufficient
// statistics. Only trusted text is spliced into the SQL (fixed fragments, column names from a fixed list,
// and generated parameter names); every value that comes from a definition or a caller is bound as a
// `{name:Type}` parameter.
import type { QueryParams } from "../../core/clickhouse/port.ts";
import type { ExperimentDefinition } from "../../ingest/experiments/index.ts";
import { QUANTILE_Z } from "../stats/index.ts";
import {
  firstExposure,
  perUserColumns,
  type BreakdownDimension,
  type Params,
} from "../../projectors/analytics/experiment-totals-sql.ts";

export {
  BREAKDOWN_DIMENSIONS,
  CUPED_LOOKBACK_MS,
  firstExposure,
  isBreakdownDimension,
  preWindowMs,
  type BreakdownDimension,
} from "../../projectors/analytics/experiment-totals-sql.ts";

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
  /**
   * An open analysis (a running experiment read as of now): exposures still end at endMs, but every
   * projected event counts, as in the maintained per-user totals (an event stamped a little ahead of the
   * clock is not dropped by one path and kept by the other).
   */
  openEnd?: boolean;
}

/** How the variant (and breakdown value) travel from the per-user rows to the per-variant groups. */
interface Labels {
  packed: boolean;
  /** Per-user rows carry a `bucket` (breakdown value, or day of the cumulative series) to group by. */
  breakdown: BreakdownDimension | "day" | undefined;
  /** Percentile caps per bucket (each day of the cumulative series), not over every row. */
  capPerBucket?: boolean;
}

function labelsFor(input: StatisticsQueryInput, params: Params): Labels {
  // The arm travels through the join packed with the exposure time into one Int64 (x_ms * 256 + index
  // into the definition's variants): every column gathered from the join's right side costs about as
  // much as the probe itself, for each of the millions of joined rows. A variant the definition does
  // not name (index 0) or a breakdown value cannot be packed, so those queries carry them as columns.
  params.arms = input.experiment.variants.map((v) => v.key);
  return {
    packed: !input.breakdown && !input.carryLabels && input.experiment.variants.length < 256,
    breakdown: input.breakdown,
  };
}

/**
 * Per user (the `per_user` relation: k, xa = x_ms * 256 + arm index, [arm, bucket], post/pre/den per
 * metric): capped; then per variant (× breakdown value): n, Σx, Σx², Σpre, Σpre², Σx·pre and, for ratios,
 * Σden, Σden², Σnum·den. Aggregating per user first and across users second is what makes the sums of
 * squares right.
 */
function statisticsOverPerUser(
  experiment: ExperimentDefinition,
  params: Params,
  labels: Labels,
  perUserSql: string,
  /** Per-user 0/1 columns of per_user to count per group (`name` → `sum(name) AS name`) and output. */
  counted: readonly string[] = [],
  /** Extra output columns of the final SELECT (scalar subqueries). */
  scalars: readonly string[] = [],
): string {
  const { packed, breakdown } = labels;
  // Per user: the values capped at absolute caps. Per group (variant × breakdown value): sums, or the
  // per-user values as arrays for metrics with a percentile cap. Then the totals over those.
  const capped: string[] = [];
  const grouped: string[] = [];
  const capWindows: string[] = [];
  const totals: string[] = [];

  experiment.metrics.forEach((metric, i) => {
    const capping = metric.type === "conversion" || metric.type === "quantile" ? undefined : metric.capping;
    const ratio = metric.type === "ratio";
    // p post, q pre, d post denominator, r pre denominator (ratios).
    const columns = ratio ? ["p", "q", "d", "r"] : ["p", "q"];
    if (capping?.type === "absolute") {
      params[`cap_value${i}`] = capping.value;
      if (ratio) params[`den_cap_value${i}`] = capping.value;
      // The pre-period is capped at the post-period's cap, so the covariate is on the metric's scale.
      capped.push(
        `least(post${i}, {cap_value${i}:Float64}) AS p${i}`,
        `least(pre${i}, {cap_value${i}:Float64}) AS q${i}`,
      );
      if (ratio)
        capped.push(
          `least(den${i}, {den_cap_value${i}:Float64}) AS d${i}`,
          `least(pden${i}, {den_cap_value${i}:Float64}) AS r${i}`,
        );
    } else {
      capped.push(`post${i} AS p${i}`, `pre${i} AS q${i}`);
      if (ratio) capped.push(`den${i} AS d${i}`, `pden${i} AS r${i}`);
    }
    if (capping?.type === "percentile") {
      // A percentile cap is a value over all users, known only once every per-user value is: the
      // per-user values are kept as arrays per group, the cap is a window over the few group rows and
      // the capped sums are taken from the arrays (cheaper than a window over a million user rows).
      params[`cap_value${i}`] = capping.value;
      if (ratio) params[`den_cap_value${i}`] = capping.value;
      grouped.push(...columns.map((c) => `groupArray(${c}${i}) AS a${c}${i}`));
      const over = labels.capPerBucket ? "OVER (PARTITION BY breakdown)" : "OVER ()";
      capWindows.push(`quantileExactInclusiveArray({cap_value${i}:Float64})(ap${i}) ${over} AS cap${i}`);
      if (ratio)
        capWindows.push(
          `quantileExactInclusiveArray({den_cap_value${i}:Float64})(ad${i}) ${over} AS den_cap${i}`,
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
        const num = (v: string) => `least(${v}, cap${i})`;
        const den = (v: string) => `least(${v}, den_cap${i})`;
        totals.push(
          `${sum(capD, `ad${i}`)} AS den_sum${i}`,
          `${sum(`${capD} * ${capD}`, `ad${i}`)} AS den_sum_squares${i}`,
          `${sum(`${num("v0")} * ${den("v1")}`, `ap${i}`, `ad${i}`)} AS num_den_cross${i}`,
          `${sum(capD, `ar${i}`)} AS pre_den_sum${i}`,
          `${sum(`${capD} * ${capD}`, `ar${i}`)} AS pre_den_sum_squares${i}`,
          `${sum(`${num("v0")} * ${den("v1")}`, `ap${i}`, `ar${i}`)} AS num_pre_den_cross${i}`,
          `${sum(`${den("v0")} * ${num("v1")}`, `ad${i}`, `aq${i}`)} AS den_pre_num_cross${i}`,
          `${sum(`${den("v0")} * ${den("v1")}`, `ad${i}`, `ar${i}`)} AS den_pre_den_cross${i}`,
          `${sum(`${num("v0")} * ${den("v1")}`, `aq${i}`, `ar${i}`)} AS pre_num_pre_den_cross${i}`,
        );
      }
      return;
    }
    if (metric.type === "quantile") {
      // The quantile and its 95 % interval are order statistics of the group's per-user values, at
      // the ranks analytics/stats' quantileRanks gives (the same Float64 arithmetic).
      params[`level${i}`] = metric.quantile;
      params.quantile_z = QUANTILE_Z;
      grouped.push(`arraySort(groupArray(p${i})) AS qv${i}`);
      const level = `{level${i}:Float64}`;
      const spread = `{quantile_z:Float64} * sqrt(n * ${level} * (1 - ${level}))`;
      const at = (rank: string) => `qv${i}[toUInt64(least(toFloat64(n), greatest(1., ${rank})))]`;
      totals.push(
        `${at(`ceil(n * ${level})`)} AS quantile_value${i}`,
        `${at(`floor(n * ${level} - ${spread})`)} AS quantile_lower${i}`,
        `${at(`ceil(n * ${level} + ${spread})`)} AS quantile_upper${i}`,
      );
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
      const ratioSums = {
        den_sum: `d${i}`,
        den_sum_squares: `d${i} * d${i}`,
        num_den_cross: `p${i} * d${i}`,
        pre_den_sum: `r${i}`,
        pre_den_sum_squares: `r${i} * r${i}`,
        num_pre_den_cross: `p${i} * r${i}`,
        den_pre_num_cross: `d${i} * q${i}`,
        den_pre_den_cross: `d${i} * r${i}`,
        pre_num_pre_den_cross: `q${i} * r${i}`,
      };
      for (const [name, expression] of Object.entries(ratioSums)) {
        grouped.push(`sum(${expression}) AS ${name}${i}`);
        totals.push(`${name}${i}`);
      }
    }
  });

  const labelOut = packed ? "bitAnd(xa, 255) AS arm_idx" : `arm${breakdown ? ", bucket" : ""}`;
  const groupBy = packed ? "arm_idx" : breakdown ? "arm, bucket" : "arm";
  const variantOut = packed
    ? "arm_idx, {arms:Array(String)}[arm_idx] AS variant"
    : `arm AS variant${breakdown ? ", bucket AS breakdown" : ""}`;
  const variantOutNames = packed ? "arm_idx, variant" : `variant${breakdown ? ", breakdown" : ""}`;
  const orderBy = packed ? "variant" : breakdown ? "variant, breakdown" : "variant";
  capped.push(...counted);
  grouped.push(...counted.map((c) => `sum(${c}) AS ${c}`));
  totals.push(...counted, ...scalars);
  return `
WITH ${perUserSql},
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
}

function windowParams(input: StatisticsQueryInput): Params {
  return {
    experiment: input.experiment.key,
    start_ms: Math.trunc(input.startMs),
    end_ms: Math.trunc(input.endMs),
    end: new Date(input.endMs),
  };
}

/**
 * Per-variant sufficient statistics computed from the events: each exposed user's values over their
 * windows (see perUserColumns), then across users (see statisticsOverPerUser). Exact for any analysis
 * window; reads every event of the metrics' types in the window.
 */
export function buildStatisticsQuery(input: StatisticsQueryInput): StatisticsQuery {
  const { experiment, breakdown } = input;
  const openEnd = input.openEnd === true;
  const params = windowParams(input);
  const perUser = perUserColumns(experiment, params, openEnd);
  params.types = perUser.types;
  params.lookback_ms = perUser.lookbackMs;
  const labels = labelsFor(input, params);
  const { packed } = labels;
  const label = packed
    ? `indexOf({arms:Array(String)}, ${firstExposure("variant")}) AS arm_idx`
    : `toString(${firstExposure("variant")}) AS arm${breakdown ? `, toString(${firstExposure(breakdown)}) AS bucket` : ""}`;
  const labelCarry = packed ? "" : `, x.arm AS arm${breakdown ? ", x.bucket AS bucket" : ""}`;
  const labelAny = packed ? "" : `, any(arm) AS arm${breakdown ? ", any(bucket) AS bucket" : ""}`;

  // A pre-period reaches back at most the longest lookback before the earliest exposure, so older events
  // are never needed. Users are joined on a 64-bit hash of user_id (about twice as fast as String keys; a
  // collision among a million users has probability ~3e-8), with the exposures as the right side so the
  // hash table holds one row per exposed user rather than every event. Every exposed user has an exposure
  // event of this experiment before the end (it is where first_exposures comes from), so reading those
  // too keeps users without metric events in an INNER JOIN: they match no metric window (unless a metric
  // counts exposures, whose rows are then read once all the same).
  const perUserSql = `exposed AS (
    SELECT cityHash64(user_id) AS k, toUnixTimestamp64Milli(min(occurred_at)) AS x_ms,
        x_ms * 256 + ${packed ? "toInt64(arm_idx)" : "0"} AS xa, ${label}
    FROM reckon.events FINAL
    WHERE type = 'exposure' AND experiment_key = {experiment:String} AND occurred_at < {end:DateTime64(3, 'UTC')}
    GROUP BY user_id
    HAVING x_ms >= {start_ms:Int64} AND x_ms < {end_ms:Int64}
),
per_user AS (
    SELECT k, any(xa) AS xa${labelAny},
        ${perUser.columns.join(",\n        ")}
    FROM (
        SELECT e.k AS k, e.type AS type, e.t AS t, e.v AS v, x.xa AS xa, bitShiftRight(x.xa, 8) AS x_ms${labelCarry}
        FROM (
            SELECT cityHash64(user_id) AS k, type, toUnixTimestamp64Milli(occurred_at) AS t, ifNull(value, 0) AS v
            FROM reckon.events FINAL
            WHERE (type IN {types:Array(String)} OR (type = 'exposure' AND experiment_key = {experiment:String}))
              ${openEnd ? "" : "AND occurred_at < {end:DateTime64(3, 'UTC')}"}
              AND toUnixTimestamp64Milli(occurred_at) >= {start_ms:Int64} - {lookback_ms:Int64}
        ) AS e
        INNER JOIN exposed AS x ON e.k = x.k
    ) AS e
    GROUP BY k
)`;
  return { sql: statisticsOverPerUser(experiment, params, labels, perUserSql), params };
}

const DAY_MS = 86_400_000;

export interface CumulativeQueryInput {
  experiment: ExperimentDefinition;
  /** Users first exposed in [startMs, endMs); events before endMs. */
  startMs: number;
  endMs: number;
  /** UTC midnight of the first day; day j ends at min(firstDayMs + (j + 1) days, endMs). */
  firstDayMs: number;
  days: number;
}

/**
 * The statistics as they stood at the end of each day, in one pass over the events (`breakdown` = the
 * day's index): equal, day by day, to buildStatisticsQuery with the analysis ending then. A user counts
 * from the day of their first exposure; an event counts from its own day (a pre-period event from the
 * exposure's, as the pre-period does not depend on the analysis end). Per user and day-of-event the
 * metric columns are summed, then each day's value is the sum (conversion: any) over days up to it,
 * then the usual aggregation per variant and day, with percentile caps per day.
 */
export function buildCumulativeStatisticsQuery(input: CumulativeQueryInput): StatisticsQuery {
  const { experiment } = input;
  const params = windowParams(input);
  params.first_day_ms = Math.trunc(input.firstDayMs);
  params.day_ms = DAY_MS;
  params.days = input.days;
  const perUser = perUserColumns(experiment, params, false);
  params.types = perUser.types;
  params.lookback_ms = perUser.lookbackMs;
  params.arms = experiment.variants.map((v) => v.key);
  const labels: Labels = { packed: false, breakdown: "day", capPerBucket: true };

  const arrays: string[] = [];
  const daily: string[] = [];
  experiment.metrics.forEach((metric, i) => {
    const conversion = metric.type === "conversion";
    const upTo = (name: string) =>
      conversion
        ? `toFloat64(arrayExists((jj, c) -> jj <= j AND c > 0, jts, a${name}${i}))`
        : `arraySum(arrayMap((jj, s) -> if(jj <= j, s, 0.), jts, a${name}${i}))`;
    arrays.push(`groupArray(post${i}) AS apost${i}`, `${conversion ? "max" : "sum"}(pre${i}) AS pre${i}`);
    daily.push(`${upTo("post")} AS post${i}`, `pre${i}`);
    if (metric.type === "ratio") {
      arrays.push(`groupArray(den${i}) AS aden${i}`, `sum(pden${i}) AS pden${i}`);
      daily.push(`${upTo("den")} AS den${i}`, `pden${i}`);
    }
  });
  const perUserSql = `exposed AS (
    SELECT cityHash64(user_id) AS k, toUnixTimestamp64Milli(min(occurred_at)) AS x_ms,
        toString(${firstExposure("variant")}) AS arm
    FROM reckon.events FINAL
    WHERE type = 'exposure' AND experiment_key = {experiment:String} AND occurred_at < {end:DateTime64(3, 'UTC')}
    GROUP BY user_id
    HAVING x_ms >= {start_ms:Int64} AND x_ms < {end_ms:Int64}
),
by_day AS (
    SELECT k, jt, any(arm) AS arm, any(e.x_ms) AS x_ms,
        ${perUser.columns.join(",\n        ")}
    FROM (
        SELECT e.k AS k, e.type AS type, e.t AS t, e.v AS v, x.x_ms AS x_ms, x.arm AS arm,
            greatest(intDiv(e.t - {first_day_ms:Int64}, {day_ms:Int64}),
                     intDiv(x.x_ms - {first_day_ms:Int64}, {day_ms:Int64})) AS jt
        FROM (
            SELECT cityHash64(user_id) AS k, type, toUnixTimestamp64Milli(occurred_at) AS t, ifNull(value, 0) AS v
            FROM reckon.events FINAL
            WHERE (type IN {types:Array(String)} OR (type = 'exposure' AND experiment_key = {experiment:String}))
              AND occurred_at < {end:DateTime64(3, 'UTC')}
              AND toUnixTimestamp64Milli(occurred_at) >= {start_ms:Int64} - {lookback_ms:Int64}
        ) AS e
        INNER JOIN exposed AS x ON e.k = x.k
    ) AS e
    GROUP BY k, jt
),
per_user AS (
    SELECT k, x_ms * 256 AS xa, arm, j AS bucket,
        ${daily.join(",\n        ")}
    FROM (
        SELECT k, any(arm) AS arm, any(x_ms) AS x_ms, groupArray(jt) AS jts,
            ${arrays.join(",\n            ")}
        FROM by_day
        GROUP BY k
    )
    ARRAY JOIN range(toUInt32(intDiv(x_ms - {first_day_ms:Int64}, {day_ms:Int64})), toUInt32({days:UInt32})) AS j
)`;
  return { sql: statisticsOverPerUser(experiment, params, labels, perUserSql), params };
}

export interface TotalsStatisticsQueryInput extends StatisticsQueryInput {
  /** The definition fingerprint the totals must have been computed with (definitionHash). */
  definitionHash: string;
  database?: string;
}

/**
 * The same statistics from the per-user totals the analytics projection maintains
 * (`experiment_user_totals`, open analyses only): a read of one row per exposed user instead of the
 * events. Each row also says how many of the group's rows were computed with another definition
 * (`stale`) and how many users were first exposed in the window (`exposed`, from first_exposures): the
 * answer stands only if no row is stale and the groups' users add up to `exposed` (totalsCover).
 */
export function buildTotalsStatisticsQuery(input: TotalsStatisticsQueryInput): StatisticsQuery {
  const { experiment, breakdown } = input;
  const database = input.database ?? "reckon";
  const params = windowParams(input);
  params.definition_hash = input.definitionHash;
  const labels = labelsFor(input, params);
  const values = experiment.metrics.flatMap((metric, i) => [
    `post[${i + 1}] AS post${i}`,
    `pre[${i + 1}] AS pre${i}`,
    // den: post-period denominators, then pre-period ones (DEN_LAYOUT).
    ...(metric.type === "ratio"
      ? [`den[${i + 1}] AS den${i}`, `den[${experiment.metrics.length + i + 1}] AS pden${i}`]
      : []),
  ]);
  const label = labels.packed
    ? `x_ms * 256 + indexOf({arms:Array(String)}, variant) AS xa`
    : `x_ms * 256 AS xa, variant AS arm${breakdown ? `, toString(${breakdown}) AS bucket` : ""}`;
  // Stale rows stay in (they may have fewer metrics than the definition: arrays read 0 beyond their
  // end), so one scan both computes and checks; a stale answer is thrown away.
  const perUserSql = `per_user AS (
    SELECT ${label},
        ${values.join(",\n        ")},
        toUInt64(def_hash != {definition_hash:String}) AS stale
    FROM ${database}.experiment_user_totals FINAL
    WHERE experiment_key = {experiment:String} AND x_ms >= {start_ms:Int64} AND x_ms < {end_ms:Int64}
)`;
  const exposed = `(SELECT count() FROM ${database}.first_exposures FINAL
        WHERE experiment_key = {experiment:String}
          AND first_exposed_at >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')
          AND first_exposed_at < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')) AS exposed`;
  return {
    sql: statisticsOverPerUser(experiment, params, labels, perUserSql, ["stale"], [exposed]),
    params,
  };
}

/** Whether rows of buildTotalsStatisticsQuery cover the analysis: no stale row, every exposed user. */
export function totalsCover(rows: readonly Record<string, unknown>[]): boolean {
  if (rows.length === 0) return false;
  const exposed = Number(rows[0]!.exposed);
  let users = 0;
  for (const row of rows) {
    if (Number(row.stale) !== 0) return false;
    users += Number(row.n);
  }
  return users === exposed;
}
