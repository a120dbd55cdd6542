// The single source for experiment-definition validation, TypeScript types and the OpenAPI components.
// Cross-field rules (unique keys, weights summing to 1, control among the variants) live here too, so an
// HTTP body and a decider command are checked by exactly the same code.
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

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
  .discriminatedUnion("type", [ConversionMetricSchema, MeanMetricSchema, RatioMetricSchema])
  .openapi("ExperimentMetric");

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
  metrics?: readonly { key?: unknown }[] | undefined;
  breakdown_dimensions?: readonly unknown[] | undefined;
};

/**
 * Rules that span fields. Written defensively because zod still runs refinements after
 * continuable issues (for example a weight above 1), so parts may be malformed here.
 */
function checkCrossFieldRules(value: CrossFieldInput, ctx: z.RefinementCtx): void {
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
