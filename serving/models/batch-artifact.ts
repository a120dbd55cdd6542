import { RECKON_MODEL, RECKON_TRAIN_OPTIONS } from "../eval/run-eval.ts";
import type { ModelArtifact } from "../recommender/artifact.ts";
import { buildInteractionMatrix, type Interaction } from "../recommender/interactions.ts";
import { trainModel } from "../recommender/models/index.ts";
import { followersFromLog } from "../ranking/transitions.ts";

/**
 * The production batch artifact from a log of interactions: the batch model (EASE, per-user lists) plus each
 * item's followers (what users took right after it). `reckon train` publishes it; the ranker gate's held-out
 * lists and the quality mirror build their probes with it, so all three read the same signals.
 */
export function trainBatchArtifact(interactions: readonly Interaction[]): ModelArtifact {
  return {
    ...trainModel(RECKON_MODEL, buildInteractionMatrix(interactions), RECKON_TRAIN_OPTIONS),
    followers: followersFromLog(interactions),
  };
}
