// The single source for experiment-definition validation, TypeScript types and the OpenAPI components.
// Cross-field rules (unique keys, weights summing to 1, control among the variants) live here too, so an
// HTTP body and a decider command are checked by exactly the same code.
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { reportUnstorableText } from "../../core/contracts/text.ts";

// Idempotent: the library skips the prototype patch when another module already applied it.
extendZodWithOpenApi(z);

/** Weights must sum to 1 within this tolerance; bucket ranges are derived from the cumulative sums. */
export const WEIGHT_SUM_TOLERANCE = 1e-9;

const SLUG = /^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$/;
const SLUG_HINT =
  "lower-case letters, digits, '-' or '_', starting and ending with a letter or digit, 1-64 chars";

export const SlugSchema = z
  .string()
  .regex(SLUG, { message: `must be a slug (${SLUG_HINT})` })
  .openapi({ description: `Slug: ${SLUG_HINT}`, example: "checkout-button-color" });

const EventTypeSchema = z.string().min(1).max(128).openapi({ example: "purchase" });

export const VariantSchema = z
  .strictObject({
    key: SlugSchema,
    weight: z.number().min(0).max(1).openapi({ description: "Share of the assigned traffic, 0..1" }),
    name: z.string().min(1).max(200).optional(),
    serving: z
      .strictObject({
        ranker: z
          .union([z.enum(["heuristic", "active"]), z.number().int().positive()])
          .optional()
          .openapi({
            description:
              'How GET /v1/recommendations ranks for this variant\'s users when asked with ?experiment=KEY: "heuristic" (the documented heuristic), "active" (the active model; the default) or a registered model version',
          }),
      })
      .optional()
      .openapi({ description: "What serving does for users in this variant (frozen once started)" }),
  })
  .openapi("ExperimentVariant");

export const CappingSchema = z
  .discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("absolute"),
      value: z.number().positive().openapi({ description: "Per-user values above this are capped to it" }),
    }),
    z.strictObject({
      type: z.literal("percentile"),
      value: z
        .number()
        .gt(0)
        .lt(1)
        .openapi({ description: "Per-user values above this quantile (0..1) of all users are capped" }),
    }),
  ])
  .openapi("MetricCapping");

const RatioTermSchema = z
  .strictObject({
    event_type: EventTypeSchema,
    value: z.enum(["count", "sum"]),
  })
  .openapi("RatioTerm");

// Fields every metric type shares. `capping` is absent from conversion metrics on purpose: a per-user
// 0/1 value has nothing to cap, and a strict object turns a misplaced `capping` into a named error.
const metricCommon = {
  key: SlugSchema,
  window_hours: z
    .number()
    .positive()
    .max(24 * 365)
    .optional()
    .openapi({ description: "Only events within this many hours after the user's first exposure count" }),
  guardrail: z.boolean().default(false),
  direction: z.enum(["increase", "decrease"]).default("increase").openapi({
    description: "Which direction is good for this metric",
  }),
  non_inferiority_margin: z.number().gt(0).lt(1).optional().openapi({
    description:
      "Guardrail metrics only: the relative harm tolerated (0.02 = 2 %). Results test that the lift is not worse than this (one-sided, at the experiment's alpha)",
    example: 0.02,
  }),
};

export const ConversionMetricSchema = z
  .strictObject({ ...metricCommon, type: z.literal("conversion"), event_type: EventTypeSchema })
  .openapi("ConversionMetric");

export const MeanMetricSchema = z
  .strictObject({
    ...metricCommon,
    type: z.literal("mean"),
    event_type: EventTypeSchema,
    capping: CappingSchema.optional(),
  })
  .openapi("MeanMetric");

export const QuantileMetricSchema = z
  .strictObject({
    ...metricCommon,
    type: z.literal("quantile"),
    event_type: EventTypeSchema,
    quantile: z.number().gt(0).lt(1).openapi({
      description:
        "The quantile level of the per-user value (sum of event values in the window): 0.5 for the median, 0.9 for p90",
      example: 0.9,
    }),
  })
  .openapi("QuantileMetric");

export const RatioMetricSchema = z
  .strictObject({
    ...metricCommon,
    type: z.literal("ratio"),
    numerator: RatioTermSchema,
    denominator: RatioTermSchema,
    capping: CappingSchema.optional(),
  })
  .openapi("RatioMetric");

export const MetricSchema = z
  .discriminatedUnion("type", [
    ConversionMetricSchema,
    MeanMetricSchema,
    RatioMetricSchema,
    QuantileMetricSchema,
  ])
  // A metric's own rule, so every definition made of metrics (experiments, holdouts) refuses the same.
  .superRefine((m, ctx) => {
    if (m.non_inferiority_margin !== undefined && m.guardrail !== true)
      ctx.addIssue({
        code: "custom",
        path: ["non_inferiority_margin"],
        message: "non_inferiority_margin applies to guardrail metrics only (set guardrail: true)",
        input: m.non_inferiority_margin,
        params: { rule: "margin_on_guardrail_only", expected: "guardrail: true on this metric" },
      });
  })
  .openapi("ExperimentMetric");

export const DEFAULT_ALPHA = 0.05;
export const DEFAULT_SEQUENTIAL_TUNING = 5000;
/** GrowthBook's default prior on the relative effect: mean 0, standard deviation 0.3. */
export const DEFAULT_PRIOR = { enabled: false, mean: 0, variance: 0.09 } as const;

const PriorFields = {
  enabled: z.boolean().openapi({
    description: "Use this Gaussian prior on the relative effect (false: flat prior, the default)",
  }),
  mean: z
    .number()
    .min(-10)
    .max(10)
    .openapi({ description: "Prior mean of the relative effect (0.01 = +1 %)" }),
  variance: z
    .number()
    .positive()
    .max(100)
    .openapi({ description: "Prior variance of the relative effect (0.09 = standard deviation 30 %)" }),
};

const AnalysisFields = {
  alpha: z.number().gt(0).max(0.5).openapi({
    description: "Significance level: intervals cover 1 - alpha, a result is significant when p < alpha",
  }),
  sequential_tuning: z.number().int().min(1).max(1e9).openapi({
    description: "Sequential tests' tuning parameter τ: the total sample size the boundary is tightest at",
  }),
  test: z.enum(["two_sided", "one_sided"]).openapi({
    description:
      "two_sided: lifts either way are significant; one_sided: only in the metric's good direction (fixed-horizon tests only)",
  }),
  correction_scope: z.enum(["all", "metric", "variant"]).openapi({
    description:
      "Which p-values are corrected together: all non-guardrail metric × variant pairs, each metric's variants, or each variant's metrics",
  }),
};

/** What `analysis` holds when a definition leaves a field out. */
export const DEFAULT_ANALYSIS = {
  alpha: DEFAULT_ALPHA,
  sequential_tuning: DEFAULT_SEQUENTIAL_TUNING,
  prior: DEFAULT_PRIOR,
  test: "two_sided",
  correction_scope: "all",
} as const;

export const PriorSchema = z
  .strictObject({
    enabled: PriorFields.enabled.default(DEFAULT_PRIOR.enabled),
    mean: PriorFields.mean.default(DEFAULT_PRIOR.mean),
    variance: PriorFields.variance.default(DEFAULT_PRIOR.variance),
  })
  .openapi("BayesianPrior");

export const AnalysisSettingsSchema = z
  .strictObject({
    alpha: AnalysisFields.alpha.default(DEFAULT_ANALYSIS.alpha),
    sequential_tuning: AnalysisFields.sequential_tuning.default(DEFAULT_ANALYSIS.sequential_tuning),
    prior: PriorSchema.prefault({}),
    test: AnalysisFields.test.default(DEFAULT_ANALYSIS.test),
    correction_scope: AnalysisFields.correction_scope.default(DEFAULT_ANALYSIS.correction_scope),
  })
  .openapi("AnalysisSettings", {
    description:
      "How results are computed; every field has a default (alpha 0.05, sequential_tuning 5000, flat prior, two_sided, correction_scope all)",
  });

/**
 * The analysis settings of a stored definition with every default filled in. Definitions stored
 * before `analysis` existed carry none, so readers go through this rather than the field.
 */
export function analysisSettingsOf(definition: { readonly analysis?: unknown }): AnalysisSettings {
  return AnalysisSettingsSchema.parse(definition.analysis ?? {});
}

/** A change to `analysis`: the fields sent replace the stored ones, the others stay. */
export const AnalysisPatchSchema = z
  .strictObject({
    alpha: AnalysisFields.alpha.optional(),
    sequential_tuning: AnalysisFields.sequential_tuning.optional(),
    prior: z
      .strictObject({
        enabled: PriorFields.enabled.optional(),
        mean: PriorFields.mean.optional(),
        variance: PriorFields.variance.optional(),
      })
      .optional(),
    test: AnalysisFields.test.optional(),
    correction_scope: AnalysisFields.correction_scope.optional(),
  })
  .openapi("AnalysisSettingsPatch");

const TrafficSchema = z
  .number()
  .min(0)
  .max(1)
  .openapi({ description: "Share of all users that enter the experiment, 0..1" });

// No defaults here: a patch built from these fields must not invent values the caller did not send
// (zod 4 applies a default even inside `.partial()`).
const mutableFields = {
  name: z.string().min(1).max(200),
  description: z.string().max(5000).optional(),
  variants: z.array(VariantSchema).min(2).max(20),
  control: SlugSchema.openapi({ description: "Key of the variant the others are compared against" }),
  traffic: TrafficSchema,
  metrics: z.array(MetricSchema).min(1).max(50),
  sequential: z.boolean(),
  correction: z.enum(["holm", "bh", "none"]).openapi({
    description: "Multiple-comparison correction: Holm-Bonferroni, Benjamini-Hochberg or none",
  }),
  breakdown_dimensions: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/)).max(20),
};

type CrossFieldInput = {
  variants?: readonly { key?: unknown; weight?: unknown }[] | undefined;
  control?: unknown;
  metrics?: readonly { key?: unknown; guardrail?: unknown; non_inferiority_margin?: unknown }[] | undefined;
  breakdown_dimensions?: readonly unknown[] | undefined;
  sequential?: unknown;
  analysis?: { test?: unknown } | undefined;
};

/**
 * Rules that span fields. Written defensively because zod still runs refinements after
 * continuable issues (for example a weight above 1), so parts may be malformed here.
 */
function checkCrossFieldRules(value: CrossFieldInput, ctx: z.RefinementCtx): void {
  reportUnstorableText(value, ctx);
  const variants = Array.isArray(value.variants) ? value.variants : [];
  reportDuplicates(
    variants.map((v) => v?.key),
    "variants",
    "key",
    ctx,
  );
  if (Array.isArray(value.metrics)) {
    reportDuplicates(
      value.metrics.map((m) => m?.key),
      "metrics",
      "key",
      ctx,
    );
  }
  if (Array.isArray(value.breakdown_dimensions)) {
    reportDuplicates(value.breakdown_dimensions, "breakdown_dimensions", undefined, ctx);
  }

  const weights = variants.map((v) => v?.weight);
  if (weights.length > 0 && weights.every((w): w is number => typeof w === "number")) {
    const sum = weights.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) {
      ctx.addIssue({
        code: "custom",
        path: ["variants"],
        message: `variant weights must sum to 1 (±${WEIGHT_SUM_TOLERANCE}), got ${sum}`,
        input: weights,
        params: { rule: "weights_sum_to_one", expected: "sum of weights = 1" },
      });
    }
  }

  // The always-valid sequence is two-sided; a one-sided sequential boundary is not implemented.
  if (value.sequential === true && value.analysis?.test === "one_sided") {
    ctx.addIssue({
      code: "custom",
      path: ["analysis", "test"],
      message: "one_sided tests are fixed-horizon only: set sequential to false or test to two_sided",
      input: value.analysis.test,
      params: { rule: "one_sided_not_sequential", expected: "two_sided when sequential is true" },
    });
  }

  if (value.control !== undefined && variants.length > 0) {
    const keys = [...new Set(variants.map((v) => v?.key))];
    if (!keys.includes(value.control)) {
      ctx.addIssue({
        code: "custom",
        path: ["control"],
        message: `control must be one of the variant keys (${keys.map((k) => JSON.stringify(k)).join(", ")})`,
        input: value.control,
        params: { rule: "control_is_a_variant", expected: `one of ${JSON.stringify(keys)}` },
      });
    }
  }
}

function reportDuplicates(
  values: readonly unknown[],
  arrayField: string,
  itemField: string | undefined,
  ctx: z.RefinementCtx,
): void {
  const seen = new Set<unknown>();
  values.forEach((v, i) => {
    if (v === undefined) return;
    if (seen.has(v)) {
      ctx.addIssue({
        code: "custom",
        path: itemField ? [arrayField, i, itemField] : [arrayField, i],
        message: `duplicate ${itemField ? `${arrayField} ${itemField}` : arrayField} ${JSON.stringify(v)}: must be unique`,
        input: v,
        params: { rule: "unique", expected: "a value not used earlier in the list" },
      });
    }
    seen.add(v);
  });
}

/** The shape of a definition without cross-field rules; the base for the patch schema. */
const ExperimentFieldsSchema = z.strictObject({
  key: SlugSchema.openapi({ description: "Unique experiment key; also the assignment hash seed" }),
  ...mutableFields,
  traffic: TrafficSchema.default(1),
  sequential: mutableFields.sequential.default(false),
  correction: mutableFields.correction.default("holm"),
  breakdown_dimensions: mutableFields.breakdown_dimensions.default([]),
  analysis: AnalysisSettingsSchema.prefault({}),
});

export const ExperimentDefinitionSchema =
  ExperimentFieldsSchema.superRefine(checkCrossFieldRules).openapi("ExperimentDefinition");

/**
 * Fields an Update may change. The key is the identity and never changes. Cross-field rules are
 * checked by the decider on the merged definition, since a patch alone cannot know the variants.
 */
export const ExperimentPatchSchema = z
  .strictObject({
    name: mutableFields.name.optional(),
    description: mutableFields.description,
    variants: mutableFields.variants.optional(),
    control: mutableFields.control.optional(),
    traffic: mutableFields.traffic.optional(),
    metrics: mutableFields.metrics.optional(),
    sequential: mutableFields.sequential.optional(),
    correction: mutableFields.correction.optional(),
    breakdown_dimensions: mutableFields.breakdown_dimensions.optional(),
    analysis: AnalysisPatchSchema.optional(),
  })
  .openapi("ExperimentPatch");

/** What a client sends (defaults may be omitted). */
export type ExperimentDefinitionInput = z.input<typeof ExperimentDefinitionSchema>;
/** A validated definition with defaults applied: what the write model stores. */
export type ExperimentDefinition = z.output<typeof ExperimentDefinitionSchema>;
export type ExperimentPatch = z.output<typeof ExperimentPatchSchema>;
export type ExperimentPatchInput = z.input<typeof ExperimentPatchSchema>;
export type Variant = z.output<typeof VariantSchema>;
export type Metric = z.output<typeof MetricSchema>;
export type MetricCapping = z.output<typeof CappingSchema>;
export type AnalysisSettings = z.output<typeof AnalysisSettingsSchema>;
