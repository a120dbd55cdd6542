// Sufficient statistics shared by the unit tests; the reference generator uses the same inputs.
import type { CupedStats, MeanStats, ProportionStats, RatioStats } from "../sufficient-statistics.ts";

export const conversionControl: ProportionStats = { kind: "proportion", n: 10000, sum: 1000 };
export const conversionVariant: ProportionStats = { kind: "proportion", n: 10000, sum: 1090 };

export const revenueControl: MeanStats = { kind: "mean", n: 5000, sum: 49500, sumSquares: 1012345 };
export const revenueVariant: MeanStats = { kind: "mean", n: 5100, sum: 52530, sumSquares: 1050234 };

// Orders (denominator) and conversions (numerator) per user, simulated with integer values.
export const ratioControl: RatioStats = {
  kind: "ratio",
  n: 3000,
  numerator: { kind: "mean", sum: 3016, sumSquares: 5942 },
  denominator: { kind: "mean", sum: 15147, sumSquares: 88627 },
  crossSum: 17658,
};
export const ratioVariant: RatioStats = {
  kind: "ratio",
  n: 3100,
  numerator: { kind: "mean", sum: 3424, sumSquares: 6974 },
  denominator: { kind: "mean", sum: 15683, sumSquares: 92069 },
  crossSum: 20067,
};

// Post-period value with a strongly correlated pre-period value per user (simulated integers).
export const cupedControl: CupedStats = {
  kind: "cuped",
  n: 2000,
  post: { kind: "mean", sum: 42035, sumSquares: 963281 },
  pre: { kind: "mean", sum: 40030, sumSquares: 841362 },
  crossSum: 880943,
};
export const cupedVariant: CupedStats = {
  kind: "cuped",
  n: 2050,
  post: { kind: "mean", sum: 44547, sumSquares: 1055391 },
  pre: { kind: "mean", sum: 41342, sumSquares: 874974 },
  crossSum: 939889,
};

export const binaryCupedControl: CupedStats = {
  kind: "cuped",
  n: 1000,
  post: { kind: "proportion", sum: 300 },
  pre: { kind: "proportion", sum: 250 },
  crossSum: 180,
};
export const binaryCupedVariant: CupedStats = {
  kind: "cuped",
  n: 1000,
  post: { kind: "proportion", sum: 330 },
  pre: { kind: "proportion", sum: 240 },
  crossSum: 175,
};
