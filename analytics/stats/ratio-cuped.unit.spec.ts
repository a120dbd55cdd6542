// CUPED for ratio metrics checked against an independent route: per-user data generated here,
// variances as sample variances of per-user linearised values (the delta method's identity
// gᵀΣg = Var(g·x_i)), gradients by finite differences of the estimator itself, and θ as the
// minimiser of the arms' summed adjusted variance.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { analyzeMetric } from "./analyze-metric.ts";
import { pooledRatioTheta, type RatioCupedStats } from "./ratio-cuped.ts";
import { armMoments, pairMoments } from "./sufficient-statistics.ts";
import { assertClose } from "./testing/assert-close.ts";

type User = [m: number, d: number, mPre: number, dPre: number];

/** Deterministic users: orders d, revenue m ≈ 12·d, the pre-period correlated with both. */
function users(n: number, seed: number, lift: number): User[] {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  return Array.from({ length: n }, () => {
    const dPre = 1 + Math.floor(next() * 5);
    const mPre = dPre * (8 + next() * 8);
    const d = Math.max(1, dPre + Math.floor(next() * 3) - 1);
    const m = d * (10 + next() * 8) * (1 + lift) + 0.3 * mPre * next();
    return [m, d, mPre, dPre];
  });
}

function toStats(rows: User[]): RatioCupedStats {
  const sum = (f: (u: User) => number) => rows.reduce((s, u) => s + f(u), 0);
  const comp = (i: number) => ({
    kind: "mean" as const,
    sum: sum((u) => u[i]!),
    sumSquares: sum((u) => u[i]! ** 2),
  });
  return {
    kind: "ratio_cuped",
    n: rows.length,
    numerator: comp(0),
    denominator: comp(1),
    preNumerator: comp(2),
    preDenominator: comp(3),
    products: {
      numeratorDenominator: sum((u) => u[0] * u[1]),
      numeratorPreNumerator: sum((u) => u[0] * u[2]),
      numeratorPreDenominator: sum((u) => u[0] * u[3]),
      denominatorPreNumerator: sum((u) => u[1] * u[2]),
      denominatorPreDenominator: sum((u) => u[1] * u[3]),
      preNumeratorPreDenominator: sum((u) => u[2] * u[3]),
    },
  };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sampleVariance = (xs: number[]) => {
  const mu = mean(xs);
  return xs.reduce((s, x) => s + (x - mu) ** 2, 0) / (xs.length - 1);
};
const means = (rows: User[]) => [0, 1, 2, 3].map((i) => mean(rows.map((u) => u[i]!)));

/** Central-difference gradient of f at x. */
function gradient(f: (x: number[]) => number, x: number[]): number[] {
  return x.map((value, i) => {
    const h = 1e-6 * Math.abs(value);
    const at = (delta: number) => f(x.map((v, j) => (j === i ? v + delta : v)));
    return (at(h) - at(-h)) / (2 * h);
  });
}

/** Var(g·x_i) / n: the delta-method variance of a statistic with gradient g over the arm's means. */
const linearised = (rows: User[], g: number[]) =>
  sampleVariance(rows.map((u) => u.reduce((s, x, i) => s + g[i]! * x, 0))) / rows.length;

const control = users(3000, 7, 0);
const treatment = users(3100, 11, 0.05);
const [a, b] = [toStats(control), toStats(treatment)];

describe("CUPED for ratio metrics", () => {
  const theta = pooledRatioTheta(a, b);
  const adjusted = (rows: User[], t: number) => (x: number[]) => x[0]! / x[1]! - t * (x[2]! / x[3]!);
  const perUnit = (rows: User[], t: number) =>
    linearised(rows, gradient(adjusted(rows, t), means(rows))) * rows.length;

  it("θ minimises the summed per-unit adjusted variance of both arms", () => {
    const total = (t: number) => perUnit(control, t) + perUnit(treatment, t);
    // total(t) = A − 2Bt + Ct² exactly: fit it through t = 0, ½, 1 and take its minimum B/C.
    const [f0, fHalf, f1] = [total(0), total(0.5), total(1)];
    const c = 2 * (f1 - 2 * fHalf + f0);
    const bCoefficient = (f0 - f1 + c) / 2;
    assertClose(theta, bCoefficient / c, "θ = argmin", 1e-6);
    assert.ok(theta > 0.1, `θ ${theta} should reflect the correlated pre-period`);
    // The closed form: pooled linearised covariance over pooled linearised pre variance.
    const pre = (rows: User[]) => gradient((x) => x[2]! / x[3]!, means(rows));
    const post = (rows: User[]) => gradient((x) => x[0]! / x[1]!, means(rows));
    const cov = (rows: User[]) => {
      const gp = post(rows);
      const gq = pre(rows);
      const xs = rows.map((u) => gp[0]! * u[0] + gp[1]! * u[1]);
      const ys = rows.map((u) => gq[2]! * u[2] + gq[3]! * u[3]);
      const [mx, my] = [mean(xs), mean(ys)];
      return xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0) / (rows.length - 1);
    };
    const preVar = (rows: User[]) => linearised(rows, pre(rows)) * rows.length;
    assertClose(theta, (cov(control) + cov(treatment)) / (preVar(control) + preVar(treatment)), "θ", 1e-7);
  });

  it("adjusted arm mean and per-unit variance", () => {
    const arm = armMoments(a, theta);
    const [m, d, mp, dp] = means(control) as [number, number, number, number];
    assertClose(arm.mean, m / d - theta * (mp / dp), "adjusted mean", 1e-12);
    assertClose(arm.unadjustedMean, m / d, "unadjusted", 1e-12);
    assertClose(arm.variance, perUnit(control, theta), "variance", 1e-7);
    assert.ok(arm.variance < armMoments(a, 0).variance, "adjustment reduces the variance");
  });

  it("relative lift and its variance by the delta method over both arms' eight means", () => {
    const pair = pairMoments(a, b);
    assert.equal(pair.theta, theta);
    const mA = means(control);
    const mB = means(treatment);
    // Δ(control means, variant means) with θ fixed.
    const lift = (x: number[]) =>
      (x[4]! / x[5]! - theta * (x[6]! / x[7]!) - (x[0]! / x[1]! - theta * (x[2]! / x[3]!))) / (x[0]! / x[1]!);
    const g = gradient(lift, [...mA, ...mB]);
    const expected = linearised(control, g.slice(0, 4)) + linearised(treatment, g.slice(4));
    const result = analyzeMetric(a, [b]).variants[0]!;
    assertClose(result.relative.expected, lift([...mA, ...mB]), "relative lift", 1e-12);
    assertClose(result.relative.stddev ** 2, expected, "relative variance", 1e-7);
    assertClose(result.cuped!.theta!, theta, "reported θ");
    assert.ok(result.relative.stddev < result.cuped!.unadjusted.relative.stddev);
    // Absolute: the difference of adjusted ratios, variance the sum of the arms' per-unit ones / n.
    assertClose(
      result.absolute.stddev ** 2,
      perUnit(control, theta) / control.length + perUnit(treatment, theta) / treatment.length,
      "absolute variance",
      1e-7,
    );
  });

  it("falls back to the plain ratio when the pre-period has no variance", () => {
    const flat = (rows: User[]) => toStats(rows.map(([m, d]) => [m, d, 5, 1] as User));
    const pair = pairMoments(flat(control), flat(treatment));
    assert.equal(pair.theta, null);
    assert.equal(pair.control.ratioCuped, undefined);
  });
});
