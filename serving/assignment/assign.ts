// Deterministic variant assignment: hash(seed + unit id) → a point in [0, 1) → the variant whose
// bucket range holds it, or no variant when the point falls outside the traffic share.
// Same scheme as GrowthBook's getBucketRanges/chooseVariation, so growing traffic never moves a
// user who was already assigned: each range [start, start + traffic × weight) only grows in place.
import { createAssignmentHasher } from "./hash.ts";

/** Half-open [start, end) slice of the unit interval. */
export type BucketRange = readonly [start: number, end: number];

/** What assignment needs from an experiment; the ingest `ExperimentDefinition` fits this shape. */
export interface AssignableExperiment {
  readonly key: string;
  /** Hash seed; defaults to `key`. Keys are never reused, so the key alone keeps experiments independent. */
  readonly seed?: string | undefined;
  /** Share of units that enter the experiment, 0..1. */
  readonly traffic: number;
  /** In a fixed order: the order is part of the bucket layout. Weights sum to 1. */
  readonly variants: readonly { readonly key: string; readonly weight: number }[];
}

export interface Assignment {
  readonly experiment_key: string;
  readonly variant_key: string;
  readonly variant_index: number;
  /** The unit's hash in [0, 1), kept so exposure logs can be audited and re-derived. */
  readonly bucket: number;
}

const WEIGHT_SUM_TOLERANCE = 1e-9;

/**
 * Range i starts at the cumulative weight of variants before it and covers traffic × weight_i.
 * Unlike GrowthBook, invalid input throws instead of falling back to equal weights: definitions
 * are validated at ingest, so a bad one here is a bug that must not silently reshuffle users.
 */
export function bucketRanges(weights: readonly number[], traffic: number): BucketRange[] {
  if (!(traffic >= 0 && traffic <= 1)) throw new RangeError(`traffic must be within 0..1, got ${traffic}`);
  if (weights.length === 0) throw new RangeError("at least one weight is needed");
  if (weights.some((w) => !(w >= 0)))
    throw new RangeError(`weights must be >= 0, got ${JSON.stringify(weights)}`);
  const sum = weights.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) {
    throw new RangeError(`weights must sum to 1, got ${sum} from ${JSON.stringify(weights)}`);
  }
  let cumulative = 0;
  return weights.map((weight) => {
    const start = cumulative;
    cumulative += weight;
    return [start, start + traffic * weight] as const;
  });
}

/** Index of the range holding `bucket`, or -1 when it falls in the unassigned gap of every range. */
export function chooseVariantIndex(bucket: number, ranges: readonly BucketRange[]): number {
  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i]!;
    if (bucket >= range[0] && bucket < range[1]) return i;
  }
  return -1;
}

/** The unit's variant, or `null` when it is outside the traffic share (or has no id to hash). */
export function assignVariant(experiment: AssignableExperiment, unitId: string): Assignment | null {
  return createAssigner(experiment)(unitId);
}

/**
 * Validates the experiment and precomputes its ranges once, for a hot serving path (one
 * experiment, many users). Throws RangeError on invalid weights or traffic.
 */
export function createAssigner(experiment: AssignableExperiment): (unitId: string) => Assignment | null {
  const ranges = bucketRanges(
    experiment.variants.map((v) => v.weight),
    experiment.traffic,
  );
  const hash = createAssignmentHasher(experiment.seed ?? experiment.key);
  const keys = experiment.variants.map((v) => v.key);
  return (unitId) => {
    // An empty id would put every anonymous request in one bucket; GrowthBook skips those too.
    if (unitId === "") return null;
    const bucket = hash(unitId);
    const index = chooseVariantIndex(bucket, ranges);
    if (index < 0) return null;
    return { experiment_key: experiment.key, variant_key: keys[index]!, variant_index: index, bucket };
  };
}
