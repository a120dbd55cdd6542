// Public surface of deterministic assignment.
export { assignVariant, bucketRanges, chooseVariantIndex, createAssigner } from "./assign.ts";
export { exposureEvent, exposureEventId } from "./exposure.ts";
export type { AssignableExperiment, Assignment, BucketRange } from "./assign.ts";
export { assignmentHash, createAssignmentHasher, fnv1a32, BUCKET_RESOLUTION } from "./hash.ts";
export { createHoldoutAssigner, holdoutAsExperiment, HELD_OUT, MEASURED } from "./holdout.ts";
export type { AssignableHoldout, HoldoutGroup } from "./holdout.ts";
