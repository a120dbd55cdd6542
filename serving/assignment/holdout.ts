// Holdout assignment with GrowthBook's layout: the holdout is a two-variant experiment seeded by the
// holdout key, coverage 2 × share, split 50/50, so `share` of all users land in "holdout" (bucket in
// [0, share)) and the same share in "general" (bucket in [0.5, 0.5 + share)), the measurement group
// that stands for everyone else. The remaining users are outside the holdout and only measured by
// the experiments they enter.
import { createAssigner, type AssignableExperiment } from "./assign.ts";

/** The variant held-out users get: they never enter a covered experiment. */
export const HELD_OUT = "holdout";
/** The measurement group: users who see everything shipped, compared against the held-out users. */
export const MEASURED = "general";

export type HoldoutGroup = typeof HELD_OUT | typeof MEASURED;

export interface AssignableHoldout {
  readonly key: string;
  /** Share of all users held out, in (0, 0.5]. */
  readonly share: number;
}

/** The holdout as the experiment GrowthBook runs for it: the control is the held-out group. */
export function holdoutAsExperiment(holdout: AssignableHoldout): AssignableExperiment {
  return {
    key: holdout.key,
    traffic: 2 * holdout.share,
    variants: [
      { key: HELD_OUT, weight: 0.5 },
      { key: MEASURED, weight: 0.5 },
    ],
  };
}

/** `userId → group`, or null for a user outside the holdout's two groups. */
export function createHoldoutAssigner(holdout: AssignableHoldout): (userId: string) => HoldoutGroup | null {
  const assign = createAssigner(holdoutAsExperiment(holdout));
  return (userId) => (assign(userId)?.variant_key as HoldoutGroup | undefined) ?? null;
}
