// Reads an experiment's per-variant sufficient statistics out of ClickHouse. The SQL aggregates per user
// first and across users second; the pure functions of analytics/stats turn the result into lifts.
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { ExperimentDefinition, Metric } from "../../ingest/experiments/index.ts";
import {
  BREAKDOWN_DIMENSIONS,
  buildCumulativeStatisticsQuery,
  buildStatisticsQuery,
  buildTotalsStatisticsQuery,
  firstExposure,
  isBreakdownDimension,
  totalsCover,
  type BreakdownDimension,
} from "./experiment-sql.ts";
import { definitionHash } from "../../projectors/analytics/experiment-totals-sql.ts";

export { BREAKDOWN_DIMENSIONS, isBreakdownDimension, type BreakdownDimension };

/** Sufficient statistics of one metric in one variant (and one breakdown value), over per-user totals. */
export interface VariantMetricStatistics {
  readonly metric: string;
  readonly metricType: Metric["type"];
  readonly variant: string;
  /** The breakdown dimension's value at the users' first exposure; null without a breakdown. */
  readonly breakdownValue: string | null;
  /** Users first exposed in the analysis window (users without events count with 0). */
  readonly n: number;
  /** Σ over users of the post-exposure value (ratio: the numerator), after capping. */
  readonly sum: number;
  readonly sumSquares: number;
  /** The same quantity over the pre-exposure period (the CUPED covariate; see CUPED_LOOKBACK_MS). */
  readonly preSum: number;
  readonly preSumSquares: number;
  /** Σ post·pre over users. */
  readonly crossSum: number;
  /** Ratio metrics only (null otherwise): Σ denominator, Σ denominator², Σ numerator·denominator. */
  readonly denSum: number | null;
  readonly denSumSquares: number | null;
  readonly numDenCross: number | null;
  /** The cap applied to per-user values (absolute, or the percentile's value); null when uncapped. */
  readonly cap: number | null;
  /** Ratio metrics: the pre-period denominator's sums and the cross products CUPED needs. */
  readonly ratioPre?: RatioPreSums | null;
  /** Quantile metrics: the quantile of the per-user values and its 95 % order-statistic bounds. */
  readonly quantile?: {
    readonly level: number;
    readonly value: number;
    readonly lower: number;
    readonly upper: number;
  } | null;
}

/** Σ over users, for a ratio's CUPED: the pre-period denominator and its products with the others. */
export interface RatioPreSums {
  readonly preDenSum: number;
  readonly preDenSumSquares: number;
  readonly numPreDenCross: number;
  readonly denPreNumCross: number;
  readonly denPreDenCross: number;
  readonly preNumPreDenCross: number;
}

export interface StatisticsOptions {
  /** The analysis time: events and exposures after it are ignored. */
  now: Date;
  /** Only users first exposed at or after this time. */
  from?: Date;
  /** Only users first exposed before this time, and events before it (default and at most `now`). */
  to?: Date;
  /** A context dimension captured at first exposure: device, platform, country, locale, app_version. */
  breakdown?: string;
  /**
   * An open analysis: a running experiment read as of now (no `to`). Every projected event counts (none
   * can be later than now but for clock skew), which is what the maintained per-user totals hold, so
   * they can answer it.
   */
  open?: boolean;
  /** "events" computes from the events even when the totals could answer (a baseline, a check). */
  source?: "auto" | "events";
}

interface AnalysisWindow {
  startMs: number;
  endMs: number;
  breakdown?: BreakdownDimension;
  open: boolean;
}

/** Where statistics came from: the projection's per-user totals, or every event (exact, slower). */
export type StatisticsSourceKind = "user_totals" | "events";

/** A window the caller asked for that cannot be analysed: the caller's error (a 400), not an outage. */
export class AnalysisWindowError extends RangeError {
  override name = "AnalysisWindowError";
}

function analysisWindow(options: StatisticsOptions): AnalysisWindow {
  const endMs = Math.min(options.to?.getTime() ?? options.now.getTime(), options.now.getTime());
  const startMs = options.from?.getTime() ?? 0;
  if (!Number.isFinite(endMs) || !Number.isFinite(startMs))
    throw new RangeError("now/from/to must be valid dates");
  const window: AnalysisWindow = { startMs, endMs, open: options.open === true };
  if (options.breakdown !== undefined) {
    if (!isBreakdownDimension(options.breakdown)) {
      throw new RangeError(
        `breakdown must be one of ${BREAKDOWN_DIMENSIONS.join(", ")}; received ${JSON.stringify(options.breakdown)}`,
      );
    }
    window.breakdown = options.breakdown;
  }
  return window;
}

type StatisticsRow = Record<string, string | number | null>;

const num = (value: string | number | null | undefined): number =>
  value === null || value === undefined ? 0 : Number(value);
const nullableNum = (value: string | number | null | undefined): number | null =>
  value === null || value === undefined ? null : Number(value);

/**
 * Per metric × variant (× breakdown value) sufficient statistics. Variants of the definition with no
 * exposed user come back with zeros (without a breakdown), so every arm is always present.
 */
export async function loadVariantStatistics(
  ch: ClickHouseStore,
  experiment: ExperimentDefinition,
  options: StatisticsOptions,
): Promise<VariantMetricStatistics[]> {
  return (await loadVariantStatisticsWithSource(ch, experiment, options)).statistics;
}

/**
 * loadVariantStatistics, saying where the numbers came from. An open analysis reads the per-user totals
 * the analytics projection maintains when they cover it (every user first exposed in the window has a
 * row computed with the current definition); otherwise, and for closed windows, the events.
 */
export async function loadVariantStatisticsWithSource(
  ch: ClickHouseStore,
  experiment: ExperimentDefinition,
  options: StatisticsOptions,
): Promise<{ statistics: VariantMetricStatistics[]; source: StatisticsSourceKind }> {
  const window = analysisWindow(options);
  if (window.endMs <= window.startMs)
    return { statistics: emptyStatistics(experiment, window), source: "events" };
  let source: StatisticsSourceKind = "events";
  let rows: StatisticsRow[] | undefined;
  if (window.open && options.source !== "events") {
    rows = await runStatistics(ch, experiment, window, false, "user_totals");
    // Index 0: a variant the definition does not name, which only the slower form reports by name.
    if (totalsCover(rows) && rows.some((r) => Number(r.arm_idx) === 0)) {
      rows = await runStatistics(ch, experiment, window, true, "user_totals");
    }
    if (totalsCover(rows)) source = "user_totals";
    else rows = undefined;
  }
  if (!rows) {
    rows = await runStatistics(ch, experiment, window, false, "events");
    if (rows.some((r) => r.arm_idx !== undefined && Number(r.arm_idx) === 0)) {
      rows = await runStatistics(ch, experiment, window, true, "events");
    }
  }
  return { statistics: statisticsFromRows(experiment, rows, window), source };
}

/**
 * Per metric × variant (× breakdown value) statistics of the query's rows, in definition order. Without a
 * breakdown, variants no row names come back with zeros, so every arm is always present.
 */
function statisticsFromRows(
  experiment: ExperimentDefinition,
  rows: readonly StatisticsRow[],
  window: AnalysisWindow,
): VariantMetricStatistics[] {
  const out: VariantMetricStatistics[] = [];
  for (const row of rows) {
    experiment.metrics.forEach((metric, i) => out.push(statisticsOf(metric, i, row, window)));
  }
  if (!window.breakdown) {
    const seen = new Set(rows.map((r) => String(r.variant)));
    for (const variant of experiment.variants) {
      if (!seen.has(variant.key)) out.push(...emptyStatistics(experiment, window, variant.key));
    }
  }
  return sortByDefinition(experiment, out);
}

async function runStatistics(
  ch: ClickHouseStore,
  experiment: ExperimentDefinition,
  window: AnalysisWindow,
  carryLabels: boolean,
  source: StatisticsSourceKind,
): Promise<StatisticsRow[]> {
  const input = { experiment, ...window, carryLabels, openEnd: window.open };
  const query =
    source === "user_totals"
      ? buildTotalsStatisticsQuery({ ...input, definitionHash: definitionHash(experiment) })
      : buildStatisticsQuery(input);
  return ch.query<StatisticsRow>(query.sql, query.params);
}

function statisticsOf(
  metric: Metric,
  i: number,
  row: StatisticsRow,
  window: AnalysisWindow,
): VariantMetricStatistics {
  const ratio = metric.type === "ratio";
  return {
    metric: metric.key,
    metricType: metric.type,
    variant: String(row.variant),
    breakdownValue: window.breakdown ? String(row.breakdown) : null,
    n: num(row.n),
    sum: num(row[`sum${i}`]),
    sumSquares: num(row[`sum_squares${i}`]),
    preSum: num(row[`pre_sum${i}`]),
    preSumSquares: num(row[`pre_sum_squares${i}`]),
    crossSum: num(row[`cross_sum${i}`]),
    denSum: ratio ? num(row[`den_sum${i}`]) : null,
    denSumSquares: ratio ? num(row[`den_sum_squares${i}`]) : null,
    numDenCross: ratio ? num(row[`num_den_cross${i}`]) : null,
    cap: nullableNum(row[`cap${i}`]),
    quantile:
      metric.type === "quantile"
        ? {
            level: metric.quantile,
            value: num(row[`quantile_value${i}`]),
            lower: num(row[`quantile_lower${i}`]),
            upper: num(row[`quantile_upper${i}`]),
          }
        : null,
    ratioPre: ratio
      ? {
          preDenSum: num(row[`pre_den_sum${i}`]),
          preDenSumSquares: num(row[`pre_den_sum_squares${i}`]),
          numPreDenCross: num(row[`num_pre_den_cross${i}`]),
          denPreNumCross: num(row[`den_pre_num_cross${i}`]),
          denPreDenCross: num(row[`den_pre_den_cross${i}`]),
          preNumPreDenCross: num(row[`pre_num_pre_den_cross${i}`]),
        }
      : null,
  };
}

function emptyStatistics(
  experiment: ExperimentDefinition,
  window: AnalysisWindow,
  only?: string,
): VariantMetricStatistics[] {
  if (window.breakdown) return [];
  const variants = only === undefined ? experiment.variants.map((v) => v.key) : [only];
  return variants.flatMap((variant) =>
    experiment.metrics.map((metric) => {
      const ratio = metric.type === "ratio";
      return {
        metric: metric.key,
        metricType: metric.type,
        variant,
        breakdownValue: null,
        n: 0,
        sum: 0,
        sumSquares: 0,
        preSum: 0,
        preSumSquares: 0,
        crossSum: 0,
        denSum: ratio ? 0 : null,
        denSumSquares: ratio ? 0 : null,
        numDenCross: ratio ? 0 : null,
        cap: null,
      };
    }),
  );
}

/** Definition order of metrics, then of variants (unknown variants last, by name), then breakdown value. */
function sortByDefinition(
  experiment: ExperimentDefinition,
  stats: VariantMetricStatistics[],
): VariantMetricStatistics[] {
  const metricOrder = new Map(experiment.metrics.map((m, i) => [m.key, i]));
  const variantOrder = new Map(experiment.variants.map((v, i) => [v.key, i]));
  const rank = (v: string) => variantOrder.get(v) ?? experiment.variants.length;
  return stats.sort(
    (a, b) =>
      metricOrder.get(a.metric)! - metricOrder.get(b.metric)! ||
      rank(a.variant) - rank(b.variant) ||
      (a.variant < b.variant ? -1 : a.variant > b.variant ? 1 : 0) ||
      ((a.breakdownValue ?? "") < (b.breakdownValue ?? "")
        ? -1
        : (a.breakdownValue ?? "") > (b.breakdownValue ?? "")
          ? 1
          : 0),
  );
}

export interface VariantUserCount {
  readonly variant: string;
  readonly users: number;
}

/**
 * Users first exposed per variant in the window, for the sample-ratio-mismatch check. Every variant of
 * the definition is listed (0 when nobody saw it), then any variant the exposures name that the
 * definition does not (which is itself a sign of a broken rollout).
 */
export async function loadVariantUserCounts(
  ch: ClickHouseStore,
  experiment: ExperimentDefinition,
  options: Omit<StatisticsOptions, "breakdown">,
): Promise<VariantUserCount[]> {
  const window = analysisWindow(options);
  const rows = await ch.query<{ variant: string; users: string }>(
    `SELECT arm AS variant, count() AS users
       FROM (
         SELECT user_id, toString(${firstExposure("variant")}) AS arm,
                toUnixTimestamp64Milli(min(occurred_at)) AS x_ms
           FROM reckon.events FINAL
          WHERE type = 'exposure' AND experiment_key = {experiment:String}
            AND occurred_at < {end:DateTime64(3, 'UTC')}
          GROUP BY user_id
         HAVING x_ms >= {start_ms:Int64} AND x_ms < {end_ms:Int64}
       )
      GROUP BY variant
      ORDER BY variant`,
    {
      experiment: experiment.key,
      start_ms: window.startMs,
      end_ms: window.endMs,
      end: new Date(window.endMs),
    },
  );
  return userCountsOf(
    experiment,
    rows.map((r) => ({ variant: r.variant, users: Number(r.users) })),
  );
}

/**
 * The same user counts out of statistics already loaded (n of any metric, without a breakdown): the
 * statistics query counts every user first exposed in the window, so the results need no second scan.
 */
export function userCountsFromStatistics(
  experiment: ExperimentDefinition,
  statistics: readonly VariantMetricStatistics[],
): VariantUserCount[] {
  const first = experiment.metrics[0]?.key;
  const rows = statistics
    .filter((s) => s.metric === first && s.breakdownValue === null)
    .map((s) => ({ variant: s.variant, users: s.n }))
    .sort((a, b) => (a.variant < b.variant ? -1 : a.variant > b.variant ? 1 : 0));
  return userCountsOf(experiment, rows);
}

function userCountsOf(
  experiment: ExperimentDefinition,
  rows: readonly { variant: string; users: number }[],
): VariantUserCount[] {
  const counts = new Map(rows.map((r) => [r.variant, r.users]));
  const known = experiment.variants.map((v) => ({ variant: v.key, users: counts.get(v.key) ?? 0 }));
  const unknown = rows
    .filter((r) => !experiment.variants.some((v) => v.key === r.variant))
    .map((r) => ({ variant: r.variant, users: r.users }));
  return [...known, ...unknown];
}

export interface CumulativeStatistics {
  /** UTC day, YYYY-MM-DD: statistics as they stood at the end of it (or at `now` for today). */
  readonly date: string;
  readonly asOf: string;
  readonly statistics: VariantMetricStatistics[];
}

/** More days than any experiment should run, so one request cannot ask for a series of thousands of points. */
export const MAX_CUMULATIVE_DAYS = 400;
const DAY_MS = 86_400_000;

/**
 * The statistics as they stood at the end of each UTC day from the first exposure (or `from`) to the
 * end of the window, for the cumulative-lift chart: each point is computed from per-user totals as of that
 * time (never a sum of daily sums of squares), all of them in one pass over the events.
 */
export async function loadCumulativeStatistics(
  ch: ClickHouseStore,
  experiment: ExperimentDefinition,
  options: Omit<StatisticsOptions, "breakdown">,
): Promise<CumulativeStatistics[]> {
  const window = analysisWindow(options);
  let startMs = options.from?.getTime();
  if (startMs === undefined) {
    const rows = await ch.query<{ first_ms: string | null }>(
      `SELECT toUnixTimestamp64Milli(min(first_exposed_at)) AS first_ms
         FROM reckon.first_exposures
        WHERE experiment_key = {experiment:String}
       HAVING count() > 0`,
      { experiment: experiment.key },
    );
    if (rows.length === 0 || rows[0]!.first_ms === null) return [];
    startMs = Number(rows[0]!.first_ms);
  }
  if (startMs >= window.endMs) return [];
  const firstDay = Math.floor(startMs / DAY_MS) * DAY_MS;
  const lastDay = Math.floor((window.endMs - 1) / DAY_MS) * DAY_MS;
  if ((lastDay - firstDay) / DAY_MS + 1 > MAX_CUMULATIVE_DAYS) {
    throw new AnalysisWindowError(
      `the cumulative series is limited to ${MAX_CUMULATIVE_DAYS} days; pass a later from (or cumulative=false)`,
    );
  }
  const days = (lastDay - firstDay) / DAY_MS + 1;
  const query = buildCumulativeStatisticsQuery({
    experiment,
    startMs: window.startMs,
    endMs: window.endMs,
    firstDayMs: firstDay,
    days,
  });
  const rows = await ch.query<StatisticsRow>(query.sql, query.params);
  const byDay = new Map<number, StatisticsRow[]>();
  for (const row of rows) {
    const day = Number(row.breakdown);
    byDay.set(day, [...(byDay.get(day) ?? []), row]);
  }
  // Each day as loadVariantStatistics would give it with the analysis ending then.
  const perDay: AnalysisWindow = { startMs: window.startMs, endMs: window.endMs, open: false };
  const points: CumulativeStatistics[] = [];
  for (let j = 0; j < days; j++) {
    const day = firstDay + j * DAY_MS;
    const asOf = new Date(Math.min(day + DAY_MS, window.endMs));
    points.push({
      date: new Date(day).toISOString().slice(0, 10),
      asOf: asOf.toISOString(),
      statistics: statisticsFromRows(experiment, byDay.get(j) ?? [], perDay),
    });
  }
  return points;
}
