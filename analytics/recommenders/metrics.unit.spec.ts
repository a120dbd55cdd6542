import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { GroupSumsRow } from "./attribution-sql.ts";
import { compareVariants, estimate, groupMetrics, ratioStats } from "./metrics.ts";

interface UserTotals {
  shownK: number;
  clickedK: number;
  shown: number;
  conversions: number;
  revenue: number;
}

/** What the SQL sums over users, computed here from per-user totals. */
function sums(value: string, users: readonly UserTotals[]): GroupSumsRow {
  const total = (f: (u: UserTotals) => number) => users.reduce((s, u) => s + f(u), 0);
  return {
    dimension: "experiment:rankers",
    value,
    users: users.length,
    shown_k: total((u) => u.shownK),
    shown_k_sq: total((u) => u.shownK ** 2),
    clicked_k: total((u) => u.clickedK),
    clicked_k_sq: total((u) => u.clickedK ** 2),
    clicked_k_x_shown_k: total((u) => u.clickedK * u.shownK),
    shown: total((u) => u.shown),
    shown_sq: total((u) => u.shown ** 2),
    conversions: total((u) => u.conversions),
    conversions_sq: total((u) => u.conversions ** 2),
    conversions_x_shown: total((u) => u.conversions * u.shown),
    revenue: total((u) => u.revenue),
    revenue_sq: total((u) => u.revenue ** 2),
    revenue_x_shown: total((u) => u.revenue * u.shown),
    recommendations: users.length,
    explicit_attributions: 0,
    window_attributions: total((u) => u.clickedK + u.conversions),
  };
}

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} ≠ ${expected}`);

describe("estimate", () => {
  it("is the ratio of sums with a delta-method interval over users", () => {
    // Two users shown 2 items each at rank ≤ k; one clicked one of them. CTR = 1/4. Per-user variance of the
    // ratio: Var(clicks)/mean(shown)² = 0.5/4 = 0.125 (shown is constant, so no covariance term); its standard
    // error over 2 users is sqrt(0.125/2) = 0.25; the 95 % half-width is 1.959963984540054 × 0.25.
    const row = sums("a", [
      { shownK: 2, clickedK: 1, shown: 2, conversions: 0, revenue: 0 },
      { shownK: 2, clickedK: 0, shown: 2, conversions: 0, revenue: 0 },
    ]);
    const e = estimate(ratioStats(row, "ctr_at_k"), 0.05);
    assert.equal(e.value, 0.25);
    assert.equal(e.numerator, 1);
    assert.equal(e.denominator, 4);
    close(e.ci[0], 0.25 - 0.4899909961350135, "lower");
    close(e.ci[1], 0.25 + 0.4899909961350135, "upper");
  });

  it("groupMetrics carries the counts and the three metrics", () => {
    const row = sums("7", [
      { shownK: 10, clickedK: 2, shown: 20, conversions: 1, revenue: 30 },
      { shownK: 10, clickedK: 0, shown: 20, conversions: 0, revenue: 0 },
    ]);
    const g = groupMetrics(row, 0.05);
    assert.deepEqual(
      {
        impressions: g.impressions,
        impressions_at_k: g.impressions_at_k,
        clicks_at_k: g.clicks_at_k,
        conversions: g.conversions,
        revenue: g.revenue,
      },
      { impressions: 40, impressions_at_k: 20, clicks_at_k: 2, conversions: 1, revenue: 30 },
    );
    assert.equal(g.metrics.ctr_at_k.value, 0.1);
    assert.equal(g.metrics.conversion_rate.value, 0.025);
    assert.equal(g.metrics.revenue_per_impression.value, 0.75);
  });
});

describe("compareVariants", () => {
  // 100 users per arm, each shown 10 items at rank ≤ k (and 10 in all); control users click 1 or 2 of them
  // (CTR 0.15), the new ranker's 3 or 4 (CTR 0.35); conversions and revenue are the same in both arms.
  const arm = (value: string, clicks: [number, number]) =>
    sums(
      value,
      Array.from({ length: 100 }, (_, i) => ({
        shownK: 10,
        clickedK: clicks[i % 2]!,
        shown: 10,
        conversions: i % 2,
        revenue: (i % 2) * 20,
      })),
    );

  it("adopts a ranker whose CTR@k is better and no metric worse", () => {
    const verdict = compareVariants(
      [arm("control", [1, 2]), arm("new-ranker", [3, 4])],
      "control",
      ["control", "new-ranker"],
      0.05,
    );
    assert.equal(verdict.winner, "new-ranker");
    const v = verdict.variants[0]!;
    assert.equal(v.verdict, "adopt");
    const ctr = v.comparisons.find((c) => c.metric === "ctr_at_k")!;
    close(ctr.lift, 0.35 / 0.15 - 1, "lift");
    assert.equal(ctr.verdict, "better");
    assert.ok(ctr.ci[0] > 0);
    assert.ok(ctr.adjusted_p_value >= ctr.p_value);
    for (const metric of ["conversion_rate", "revenue_per_impression"] as const) {
      const c = v.comparisons.find((x) => x.metric === metric)!;
      assert.equal(c.lift, 0, metric);
      assert.equal(c.verdict, "inconclusive", metric);
    }
  });

  it("rejects a ranker with a worse CTR@k, and stays inconclusive without data for a variant", () => {
    const worse = compareVariants(
      [arm("control", [3, 4]), arm("b", [1, 2])],
      "control",
      ["control", "b", "c"],
      0.05,
    );
    assert.equal(worse.winner, null);
    assert.deepEqual(
      worse.variants.map((v) => [v.variant, v.verdict, v.comparisons.length]),
      [
        ["b", "reject", 3],
        ["c", "inconclusive", 0],
      ],
    );
    // Holm over the 3 comparisons: the smallest p is multiplied by 3.
    const ps = worse.variants[0]!.comparisons.map((c) => c.p_value);
    const smallest = Math.min(...ps);
    const adjusted = worse.variants[0]!.comparisons.find((c) => c.p_value === smallest)!.adjusted_p_value;
    close(adjusted, Math.min(1, smallest * 3), "holm");
  });
});
