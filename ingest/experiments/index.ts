// Public surface of the experiment write model, for the repository and the HTTP routes.
export { decide, evolve, initialState, experimentDecider, foldExperiment } from "./decider.ts";
export {
  ExperimentError,
  isExperimentError,
  EXPERIMENT_ERROR_HTTP_STATUS,
  issuesFromZod,
  parseOrThrow,
} from "./errors.ts";
export type { ExperimentErrorCode, ExperimentIssue } from "./errors.ts";
export type * from "./model.ts";
export {
  AnalysisSettingsSchema,
  analysisSettingsOf,
  DEFAULT_ANALYSIS,
  ExperimentDefinitionSchema,
  ExperimentPatchSchema,
  MetricSchema,
  VariantSchema,
  CappingSchema,
  SlugSchema,
  WEIGHT_SUM_TOLERANCE,
} from "./definition-schema.ts";
export type {
  AnalysisSettings,
  ExperimentDefinition,
  ExperimentDefinitionInput,
  ExperimentPatch,
  ExperimentPatchInput,
  Metric,
  MetricCapping,
  Variant,
} from "./definition-schema.ts";
