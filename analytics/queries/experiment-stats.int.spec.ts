// Sufficient statistics on the ClickHouse engine (chdb in-process) for a hand-built data set. Every
// expected number below is worked out by hand from testing.ts (per-user values in comments).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import { createAnalyticsProjection } from "../../projectors/analytics/projection.ts";
import { analyzeMetric } from "../stats/index.ts";
import { toArmStats, toPopulationArmStats } from "./arm-stats.ts";
import { FIXTURE_EXPERIMENT, NOW, T0, fixtureLogMessages } from "./testing.ts";
import {
  loadCumulativeStatistics,
  loadVariantStatistics,
  loadVariantUserCounts,
  type VariantMetricStatistics,
} from "./experiment-stats.ts";

const HOUR = 3_600_000;

function pick(
  stats: VariantMetricStatistics[],
  metric: string,
  variant: string,
  breakdownValue: string | null = null,
) {
  const found = stats.filter(
    (s) => s.metric === metric && s.variant === variant && s.breakdownValue === breakdownValue,
  );
  assert.equal(found.length, 1, `one row for ${metric}/${variant}/${breakdownValue}`);
  return found[0]!;
}

describe("experiment statistics from ClickHouse", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-exp-stats-"));
  let ch: ClickHouseStore;

  before(async () => {
    ch = await openClickHouse(`chdb://${dataDir}`);
    const projection = createAnalyticsProjection({ clickhouse: ch });
    // Delivered twice (at-least-once): nothing may be counted twice.
    for (let round = 0; round < 2; round++) {
      for (const batch of fixtureLogMessages()) {
        await projection.apply({
          topic: "reckon.events.v1",
          partition: 0,
          messages: batch.map((message, i) => ({ offset: String(i), message })),
        });
      }
    }
  });
  after(async () => {
    await ch.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("counts users per variant by first exposure", async () => {
    assert.deepEqual(await loadVariantUserCounts(ch, FIXTURE_EXPERIMENT, { now: NOW }), [
      { variant: "control", users: 3 },
      { variant: "treatment", users: 3 },
    ]);
    // Only u1 (1 h) and u4 (1 h) were first exposed before 1.5 h.
    assert.deepEqual(
      await loadVariantUserCounts(ch, FIXTURE_EXPERIMENT, { now: NOW, to: new Date(T0 + 1.5 * HOUR) }),
      [
        { variant: "control", users: 1 },
        { variant: "treatment", users: 1 },
      ],
    );
  });

  it("gives hand-computed sufficient statistics for conversion, capped mean, ratio and percentile cap", async () => {
    const stats = await loadVariantStatistics(ch, FIXTURE_EXPERIMENT, { now: NOW });
    assert.equal(stats.length, 8);
    const none = { denSum: null, denSumSquares: null, numDenCross: null, ratioPre: null, quantile: null };
    // No view or click falls in a ctr user's 48 h before exposure: the ratio's CUPED sums are 0.
    const noPrePeriod = {
      preDenSum: 0,
      preDenSumSquares: 0,
      numPreDenCross: 0,
      denPreNumCross: 0,
      denPreDenCross: 0,
      preNumPreDenCross: 0,
    };

    // converted (24 h): control post u1..u3 = [1,0,0], pre [1,0,1]; treatment post [1,0,1], pre [0,1,0]
    assert.deepEqual(pick(stats, "converted", "control"), {
      metric: "converted",
      metricType: "conversion",
      variant: "control",
      breakdownValue: null,
      n: 3,
      sum: 1,
      sumSquares: 1,
      preSum: 2,
      preSumSquares: 2,
      crossSum: 1,
      ...none,
      cap: null,
    });
    assert.deepEqual(pick(stats, "converted", "treatment"), {
      metric: "converted",
      metricType: "conversion",
      variant: "treatment",
      breakdownValue: null,
      n: 3,
      sum: 2,
      sumSquares: 2,
      preSum: 1,
      preSumSquares: 1,
      crossSum: 0,
      ...none,
      cap: null,
    });

    // revenue (no window, cap 50): control post [min(130,50), 0, 20], pre [10, 0, 5];
    // treatment post [min(130,50), 0, 40] (u6's purchase at 7 h follows its first exposure at 6 h), pre [0, 15, 0]
    assert.deepEqual(pick(stats, "revenue", "control"), {
      metric: "revenue",
      metricType: "mean",
      variant: "control",
      breakdownValue: null,
      n: 3,
      sum: 70,
      sumSquares: 2900,
      preSum: 15,
      preSumSquares: 125,
      crossSum: 600,
      ...none,
      cap: 50,
    });
    assert.deepEqual(pick(stats, "revenue", "treatment"), {
      metric: "revenue",
      metricType: "mean",
      variant: "treatment",
      breakdownValue: null,
      n: 3,
      sum: 90,
      sumSquares: 4100,
      preSum: 15,
      preSumSquares: 225,
      crossSum: 0,
      ...none,
      cap: 50,
    });

    // ctr (48 h): control clicks [2,0,0] views [3,0,1]; treatment clicks [1,0,0] (u5's click at 100 h is late) views [2,1,0]
    assert.deepEqual(pick(stats, "ctr", "control"), {
      metric: "ctr",
      metricType: "ratio",
      variant: "control",
      breakdownValue: null,
      n: 3,
      sum: 2,
      sumSquares: 4,
      preSum: 0,
      preSumSquares: 0,
      crossSum: 0,
      denSum: 4,
      denSumSquares: 10,
      numDenCross: 6,
      cap: null,
      ratioPre: noPrePeriod,
      quantile: null,
    });
    assert.deepEqual(pick(stats, "ctr", "treatment"), {
      metric: "ctr",
      metricType: "ratio",
      variant: "treatment",
      breakdownValue: null,
      n: 3,
      sum: 1,
      sumSquares: 1,
      preSum: 0,
      preSumSquares: 0,
      crossSum: 0,
      denSum: 3,
      denSumSquares: 5,
      numDenCross: 2,
      cap: null,
      ratioPre: noPrePeriod,
      quantile: null,
    });

    // revenue_p50 (24 h): per-user post over all users [30,0,0 | 130,0,40] → sorted [0,0,0,30,40,130],
    // inclusive median = (0 + 30)/2 = 15. Capped post control [15,0,0], treatment [15,0,15];
    // pre (24 h, capped at 15) control [10,0,5], treatment [0,15,0]
    assert.deepEqual(pick(stats, "revenue_p50", "control"), {
      metric: "revenue_p50",
      metricType: "mean",
      variant: "control",
      breakdownValue: null,
      n: 3,
      sum: 15,
      sumSquares: 225,
      preSum: 15,
      preSumSquares: 125,
      crossSum: 150,
      ...none,
      cap: 15,
    });
    assert.deepEqual(pick(stats, "revenue_p50", "treatment"), {
      metric: "revenue_p50",
      metricType: "mean",
      variant: "treatment",
      breakdownValue: null,
      n: 3,
      sum: 30,
      sumSquares: 450,
      preSum: 15,
      preSumSquares: 225,
      crossSum: 0,
      ...none,
      cap: 15,
    });
  });

  it("breaks down by the context dimension of the first exposure", async () => {
    const stats = await loadVariantStatistics(ch, FIXTURE_EXPERIMENT, { now: NOW, breakdown: "device" });
    const converted = stats
      .filter((s) => s.metric === "converted")
      .map((s) => [s.variant, s.breakdownValue, s.n, s.sum]);
    // u1 stays "mobile" (its desktop exposure came later); u6 is "tablet" (its earliest exposure)
    assert.deepEqual(converted, [
      ["control", "desktop", 1, 0],
      ["control", "mobile", 2, 1],
      ["treatment", "desktop", 1, 0],
      ["treatment", "mobile", 1, 1],
      ["treatment", "tablet", 1, 1],
    ]);
    await assert.rejects(
      loadVariantStatistics(ch, FIXTURE_EXPERIMENT, { now: NOW, breakdown: "user_id; DROP TABLE x" }),
      /breakdown must be one of device, platform, country, locale, app_version/,
    );
  });

  it("recomputes cumulative statistics per day from per-user totals", async () => {
    const points = await loadCumulativeStatistics(ch, FIXTURE_EXPERIMENT, { now: NOW });
    assert.deepEqual(
      points.map((p) => p.date),
      [
        "2024-03-01",
        "2024-03-02",
        "2024-03-03",
        "2024-03-04",
        "2024-03-05",
        "2024-03-06",
        "2024-03-07",
        "2024-03-08",
        "2024-03-09",
      ],
    );
    // End of day 1 (24 h): revenue control post [30 (100 at 30 h not yet), 0, 0], pre over the 14 days
    // before exposure (no window): u1 [-335h, 1h) → 10, u3 [-326h, 10h) → 5
    const day1 = points[0]!.statistics;
    assert.deepEqual(
      [
        pick(day1, "revenue", "control").sum,
        pick(day1, "revenue", "control").sumSquares,
        pick(day1, "revenue", "control").preSum,
      ],
      [30, 900, 15],
    );
    assert.equal(pick(day1, "converted", "treatment").sum, 2);
    assert.deepEqual(
      points.at(-1)!.statistics,
      await loadVariantStatistics(ch, FIXTURE_EXPERIMENT, { now: NOW }),
    );
    // The series is one pass over the events; every day must equal the analysis ending that day.
    for (const point of points) {
      assert.deepEqual(
        point.statistics,
        await loadVariantStatistics(ch, FIXTURE_EXPERIMENT, { now: new Date(point.asOf) }),
        point.date,
      );
    }
    // A 90th-percentile cap moves from day to day (the fixture's 50th is 0 every day): capped per day.
    const p90 = {
      ...FIXTURE_EXPERIMENT,
      metrics: [
        {
          key: "revenue_p90",
          type: "mean" as const,
          event_type: "purchase",
          capping: { type: "percentile" as const, value: 0.9 },
          guardrail: false,
          direction: "increase" as const,
        },
      ],
    };
    const p90Points = await loadCumulativeStatistics(ch, p90, { now: NOW });
    assert.notEqual(p90Points[0]!.statistics[0]!.cap, p90Points.at(-1)!.statistics[0]!.cap);
    for (const point of p90Points) {
      assert.deepEqual(
        point.statistics,
        await loadVariantStatistics(ch, p90, { now: new Date(point.asOf) }),
        `p90, ${point.date}`,
      );
    }
    // The same with a later start (users first exposed from 5 h on), which moves each day's population.
    const from = new Date(T0 + 5 * HOUR);
    for (const point of await loadCumulativeStatistics(ch, FIXTURE_EXPERIMENT, { now: NOW, from })) {
      assert.deepEqual(
        point.statistics,
        await loadVariantStatistics(ch, FIXTURE_EXPERIMENT, { now: new Date(point.asOf), from }),
        `from 5 h, ${point.date}`,
      );
    }
  });

  it("feeds analytics/stats end to end", async () => {
    const stats = await loadVariantStatistics(ch, FIXTURE_EXPERIMENT, { now: NOW });
    const counts = await loadVariantUserCounts(ch, FIXTURE_EXPERIMENT, { now: NOW });
    const population = toPopulationArmStats(
      stats.filter((s) => s.metric === "revenue"),
      { userCounts: counts },
    );
    assert.deepEqual(population.users, { control: 3, treatment: 3 });

    const revenue = analyzeMetric(
      population.metrics.revenue!.control!,
      [population.metrics.revenue!.treatment!],
      {
        weights: [0.5, 0.5],
      },
    );
    // means 70/3 and 30; variances (2900 − 70²/3)/2 = 1900/3 and (4100 − 90²/3)/2 = 700
    assert.equal(revenue.control.mean, 70 / 3);
    assert.equal(revenue.control.variance, (2900 - 4900 / 3) / 2);
    assert.equal(revenue.variants[0]!.variance, 700);
    assert.ok(Math.abs(revenue.variants[0]!.absolute.expected - 20 / 3) < 1e-12);
    assert.equal(revenue.srm!.pValue, 1);

    // CUPED on the conversion metric: pooled θ = Cov(post, pre)/Var(pre) over all six users
    // post [1,0,0,1,0,1], pre [1,0,1,0,1,0]: Σpost 3, Σpre 3, Σpost·pre 1 → cov (1 − 9/6)/5 = −0.1; var(pre) = 3·(1−1/2)... as proportion p(1−p) = 0.25
    const control = toArmStats(pick(stats, "converted", "control"), { cuped: true });
    const treatment = toArmStats(pick(stats, "converted", "treatment"), { cuped: true });
    const cuped = analyzeMetric(control, [treatment]);
    assert.equal(cuped.variants[0]!.cuped!.theta, -0.1 / 0.25);
    // adjusted means: control 1/3 − θ·2/3 = 1/3 + 0.4·2/3 = 0.6; treatment 2/3 + 0.4·1/3 = 0.8
    assert.ok(Math.abs(cuped.variants[0]!.cuped!.control.mean - 0.6) < 1e-12);
    assert.ok(Math.abs(cuped.variants[0]!.cuped!.variant.mean - 0.8) < 1e-12);
  });
});
