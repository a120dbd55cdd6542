// The results endpoint's statistics source: per-variant sufficient statistics from the ClickHouse
// analytics projection (analytics/queries), shaped for buildResults.
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import {
  loadCumulativeStatistics,
  loadVariantStatistics,
  loadVariantStatisticsWithSource,
  userCountsFromStatistics,
  type VariantMetricStatistics,
} from "../queries/experiment-stats.ts";
import { toPopulationArmStats } from "../queries/arm-stats.ts";
import type { ExperimentStatistics } from "./results.ts";
import type { OverlapSource, StatisticsRequest, StatisticsSource } from "./router.ts";
import type { ExistingExperiment } from "../../ingest/experiments/index.ts";
import type { Queryable } from "../../core/postgres/database.ts";
import { withAnalyticsAsOf } from "../../projectors/analytics/as-of.ts";
import { loadOverlapCells } from "../queries/overlap.ts";

/**
 * CUPED is always on: the pre-exposure period (see analytics/queries) is the covariate (for a ratio, the
 * same ratio over the pre-period), and when it carries no information (zero pooled variance) the
 * analysis falls back to the unadjusted metric, so nothing is lost.
 */
const ARM_OPTIONS = { cuped: true } as const;

/**
 * `log` (the Postgres log) serves `as_of` requests: the same computation over the experiment's analytics
 * tables as they were then, rebuilt from the log (projectors/analytics/as-of.ts). Without it they fail.
 */
export function clickHouseStatistics(
  clickhouse: () => Promise<ClickHouseStore>,
  log?: Queryable,
): StatisticsSource {
  return async (experiment, request) => {
    const ch = await clickhouse();
    if (request.asOf === undefined) return computeStatistics(ch, experiment, request);
    if (!log) throw new Error("as_of results need the Postgres log, which this source was not given");
    return withAnalyticsAsOf(log, ch, experiment.definition.key, request.asOf, (past) =>
      computeStatistics(past, experiment, request),
    );
  };
}

async function computeStatistics(
  ch: ClickHouseStore,
  experiment: ExistingExperiment,
  request: StatisticsRequest,
): Promise<ExperimentStatistics> {
  {
    const definition = experiment.definition;
    const window = {
      now: request.now,
      ...(request.open ? { open: true } : {}),
      ...(request.from ? { from: request.from } : {}),
      ...(request.to ? { to: request.to } : {}),
    };
    // The statistics count every exposed user per variant, so the SRM counts need no second scan.
    const { statistics, source } = await loadVariantStatisticsWithSource(ch, definition, window);
    const userCounts = userCountsFromStatistics(definition, statistics);
    const result: { -readonly [K in keyof ExperimentStatistics]: ExperimentStatistics[K] } = {
      ...toPopulationArmStats(statistics, { ...ARM_OPTIONS, userCounts }),
      computedFrom: source,
    };
    if (request.breakdown) {
      const rows = await loadVariantStatistics(ch, definition, { ...window, breakdown: request.breakdown });
      const byValue = new Map<string, VariantMetricStatistics[]>();
      for (const row of rows) {
        const value = row.breakdownValue ?? "";
        byValue.set(value, [...(byValue.get(value) ?? []), row]);
      }
      result.breakdown = {
        dimension: request.breakdown,
        segments: [...byValue].map(([value, segmentRows]) => ({
          value,
          ...toPopulationArmStats(segmentRows, ARM_OPTIONS),
        })),
      };
    }
    if (request.cumulative) {
      const { open: _open, ...closed } = window; // each day is a closed window
      const points = await loadCumulativeStatistics(ch, definition, closed);
      result.cumulative = points.map((p) => ({
        date: p.date,
        ...toPopulationArmStats(p.statistics, ARM_OPTIONS),
      }));
    }
    return result;
  }
}

/** The overlap endpoint's source: cells of users exposed to both experiments (analytics/queries/overlap). */
export function clickHouseOverlap(clickhouse: () => Promise<ClickHouseStore>): OverlapSource {
  return async (experiment, other, end) => loadOverlapCells(await clickhouse(), experiment, other, end);
}
