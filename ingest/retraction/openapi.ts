import { z } from "zod";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { bearerAuth, ErrorSchema, json, jsonBodyResponses, keyedResponses } from "../../core/http/openapi.ts";
import { RetractionRequestSchema } from "./request.ts";

const count = () => z.number().int();

const RetractionOutcomeSchema = z
  .object({
    retraction_id: z.string(),
    dry_run: z.boolean(),
    filter: z.record(z.string(), z.unknown()),
    matched: count(),
    retracted: count(),
    already_retracted: count(),
    would_retract: count(),
    unmatched_event_ids: z.array(z.string()),
    position: z.string().nullable().openapi({ description: "Position token for min_position on reads" }),
    effects: z.object({
      features: z.object({
        counts: z.record(z.string(), count()),
        users: count(),
        items: count(),
        category_events: count(),
        on_rebuild: z.array(z.string()),
      }),
      recommendations: z.object({ item_events: count(), on_rebuild: z.array(z.string()) }),
      analytics: z.object({ events: count(), users: count(), exposures: z.record(z.string(), count()) }),
    }),
  })
  .openapi("RetractionOutcome");

export function registerRetractionOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  registry.registerPath({
    method: "post",
    path: "/v1/retractions",
    summary:
      "Retract interaction events by id or filter (compensating events every projection undoes); idempotent; dry_run changes nothing",
    security: [{ [bearer.name]: [] }],
    request: {
      body: { required: true, content: { "application/json": { schema: RetractionRequestSchema } } },
    },
    responses: {
      200: json(RetractionOutcomeSchema, "A dry run, or nothing left to retract (already retracted)"),
      201: json(RetractionOutcomeSchema, "Compensating events appended"),
      ...jsonBodyResponses,
      400: json(
        ErrorSchema,
        "The body names no selector, a field is invalid, or the filter matches too many",
      ),
      ...keyedResponses("admin"),
    },
  });
}
