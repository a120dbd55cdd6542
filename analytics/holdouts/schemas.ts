// HTTP shapes of the holdouts API; the definition itself is ingest/holdouts/schema.ts.
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { ExperimentResultsSchema } from "../experiments/schemas.ts";

extendZodWithOpenApi(z);

export const HoldoutResultsQuerySchema = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  cumulative: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional()
    .openapi({ description: "false skips the cumulative-lift series" }),
});

export const HoldoutResultsSchema = ExperimentResultsSchema.omit({
  experiment_key: true,
  status: true,
  breakdown: true,
  sequential: true,
})
  .extend({
    holdout_key: z.string(),
    share: z.number(),
    experiments: z.array(z.string()),
    groups: z.object({ held_out: z.literal("holdout"), measured: z.literal("general") }).openapi({
      description:
        "The arm names: the held-out users are the control (`control` = holdout), the measurement group the variant, so a lift is the cumulative effect of the covered experiments",
    }),
  })
  .openapi("HoldoutResults");

export type HoldoutResults = z.output<typeof HoldoutResultsSchema>;
