// Public surface of the experiment statistics: import from here, not from the individual files.
export { analyzeMetric } from "./analyze-metric.ts";
export type {
  AnalyzeMetricOptions,
  ArmSummary,
  CupedSummary,
  MetricAnalysis,
  VariantAnalysis,
} from "./analyze-metric.ts";
export { effectBayesianTest, effectBayesianTestFromMoments, gaussianRisk } from "./bayesian.ts";
export type { BayesianOptions, BayesianResult, GaussianPrior } from "./bayesian.ts";
export {
  chiSquareSf,
  normalCdf,
  normalPpf,
  normalSf,
  studentTCdf,
  studentTPpf,
  studentTSf,
} from "./distributions.ts";
export { liftEstimate, liftVariance, welchDegreesOfFreedom } from "./effect.ts";
export type { DifferenceType, StatsErrorCode } from "./effect.ts";
export {
  sequentialRho,
  sequentialTwoSidedTTest,
  sequentialTwoSidedTTestFromMoments,
  twoSidedTTest,
  twoSidedTTestFromMoments,
} from "./frequentist.ts";
export type { FrequentistOptions, FrequentistResult, SequentialOptions } from "./frequentist.ts";
export { nonInferiorityTestFromMoments, oneSidedTTestFromMoments } from "./one-sided-test.ts";
export type { NonInferiorityResult, OneSidedOptions, OneSidedResult, Side } from "./one-sided-test.ts";
export { relativeCupedVariance } from "./relative-cuped-variance.ts";
export { interactionTest } from "./interaction.ts";
export type { CellMoments, InteractionResult } from "./interaction.ts";
export { minimumDetectableEffect, powerAt, relativeLiftStandardError, usersNeeded } from "./power.ts";
export type { PowerInputs } from "./power.ts";
export { QUANTILE_Z, quantileRanks, quantileStatsOf, quantileVariance } from "./quantile.ts";
export { pooledRatioTheta, relativeRatioCupedVariance } from "./ratio-cuped.ts";
export { adjustKeyedPValues, adjustPValues, benjaminiHochberg, holmBonferroni } from "./multiple-testing.ts";
export type { PValueCorrection } from "./multiple-testing.ts";
export { DEFAULT_SRM_THRESHOLD, sampleRatioMismatch } from "./srm.ts";
export type { SrmResult } from "./srm.ts";
export { armMoments, pairMoments, pooledTheta, stddevOf } from "./sufficient-statistics.ts";
export type {
  ArmStats,
  ComponentSums,
  CupedStats,
  MeanStats,
  MeanSums,
  Moments,
  PairedMoments,
  ProportionStats,
  ProportionSums,
  QuantileStats,
  RatioCupedStats,
  RatioStats,
} from "./sufficient-statistics.ts";
