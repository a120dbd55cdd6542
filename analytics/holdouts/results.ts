// A holdout's results are a two-arm experiment's: the held-out users are the control, the measurement
// group the variant, so the lift is the cumulative effect of everything the covered experiments
// exposed users to. Same statistics, SRM check and corrections as any experiment (results.ts).
import {
  ExperimentDefinitionSchema,
  type ExperimentDefinition,
  type ExistingExperiment,
} from "../../ingest/experiments/index.ts";
import type { ExistingHoldout } from "../../ingest/holdouts/index.ts";
import { HELD_OUT, MEASURED, holdoutAsExperiment } from "../../serving/assignment/index.ts";
import { buildResults, type ExperimentStatistics, type ResultsContext } from "../experiments/results.ts";
import type { HoldoutResults } from "./api-schemas.ts";

/** The experiment a holdout is analysed as: the layout of serving/assignment/holdout.ts, its metrics. */
export function holdoutAsDefinition(holdout: ExistingHoldout): ExperimentDefinition {
  const { key, name, share, metrics } = holdout.definition;
  const experiment = holdoutAsExperiment({ key, share });
  return ExperimentDefinitionSchema.parse({
    key,
    name,
    variants: experiment.variants.map((v) => ({ key: v.key, weight: v.weight })),
    control: HELD_OUT,
    traffic: experiment.traffic,
    metrics,
  });
}

/** The holdout as an experiment started when the holdout was created, for the statistics source. */
export function holdoutAsRunningExperiment(holdout: ExistingHoldout): ExistingExperiment {
  return {
    status: holdout.status,
    version: holdout.version,
    definition: holdoutAsDefinition(holdout),
    created_at: holdout.created_at,
    created_by: holdout.created_by,
    updated_at: holdout.updated_at,
    updated_by: holdout.updated_by,
    started_at: holdout.created_at,
    stopped_at: holdout.stopped_at,
    archived_at: null,
  };
}

export function buildHoldoutResults(
  holdout: ExistingHoldout,
  statistics: ExperimentStatistics,
  context: Omit<ResultsContext, "status" | "version">,
): HoldoutResults {
  const results = buildResults(holdoutAsDefinition(holdout), statistics, {
    ...context,
    version: holdout.version,
    status: holdout.status,
  });
  const {
    experiment_key: _key,
    status: _status,
    breakdown: _breakdown,
    sequential: _sequential,
    ...rest
  } = results;
  return {
    holdout_key: holdout.definition.key,
    status: holdout.status,
    share: holdout.definition.share,
    experiments: holdout.definition.experiments,
    groups: { held_out: HELD_OUT, measured: MEASURED },
    ...rest,
  };
}
