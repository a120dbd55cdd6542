// A holdout's definition: the single source for its validation, types and OpenAPI components. A
// holdout keeps `share` of users out of every experiment it covers; GrowthBook's layout puts the same
// share of the other users in a measurement group, and results compare the two on `metrics`.
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { MetricSchema, SlugSchema } from "../experiments/definition-schema.ts";
import { reportUnstorableText } from "../../core/contracts/text.ts";

extendZodWithOpenApi(z);

/** At most half of the traffic can be held out: the measurement group needs the same share again. */
export const MAX_HOLDOUT_SHARE = 0.5;

const mutableFields = {
  name: z.string().min(1).max(200),
  description: z.string().max(5000).optional(),
  experiments: z
    .array(SlugSchema)
    .min(1)
    .max(200)
    .refine((keys) => new Set(keys).size === keys.length, { message: "must not repeat an experiment key" })
    .openapi({ description: "Keys of the experiments the held-out users never enter" }),
  metrics: z
    .array(MetricSchema)
    .min(1)
    .max(50)
    .refine((ms) => new Set(ms.map((m) => m.key)).size === ms.length, {
      message: "metric keys must be unique",
    })
    .openapi({ description: "What the holdout's results compare, defined as an experiment's metrics" }),
};

export const HoldoutDefinitionSchema = z
  .strictObject({
    key: SlugSchema,
    ...mutableFields,
    share: z.number().gt(0).max(MAX_HOLDOUT_SHARE).openapi({
      description:
        "Share of all users held out (0.05 = 5 %); the same share of the others is the measurement group. Fixed once created: changing it would move users in and out of the holdout",
      example: 0.05,
    }),
  })
  // Postgres text cannot hold U+0000 or a lone surrogate: refused with the field, as in experiments.
  .superRefine(reportUnstorableText)
  .openapi("HoldoutDefinition");

/** A change: the fields sent replace the stored ones. `key` and `share` are fixed, so unknown here. */
export const HoldoutPatchSchema = z
  .strictObject({
    name: mutableFields.name.optional(),
    description: mutableFields.description,
    experiments: mutableFields.experiments.optional(),
    metrics: mutableFields.metrics.optional(),
  })
  .superRefine(reportUnstorableText)
  .openapi("HoldoutPatch");

export type HoldoutDefinition = z.output<typeof HoldoutDefinitionSchema>;
export type HoldoutPatch = z.output<typeof HoldoutPatchSchema>;
