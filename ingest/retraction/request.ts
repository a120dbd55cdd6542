import { z } from "zod";
import { IdSchema } from "../../core/contracts/id.ts";
import { toFieldErrors, type FieldError } from "../../core/contracts/validation.ts";

/** The most events one retraction takes back; a filter matching more is refused (narrow it, or split it). */
export const MAX_RETRACTION_EVENTS = 50_000;

const isoTime = z
  .string()
  .refine(
    (s) => /^\d{4}-\d{2}-\d{2}T/.test(s) && Number.isFinite(Date.parse(s)),
    "must be an ISO-8601 date-time",
  );

export const RetractionRequestSchema = z
  .strictObject({
    event_ids: z
      .array(z.uuid("must be a UUID"))
      .min(1)
      .max(MAX_RETRACTION_EVENTS)
      .optional()
      .openapi({ description: "Retract these interaction events" }),
    user_id: IdSchema.optional().openapi({ description: "Only this user's events" }),
    type: z.string().min(1).max(64).optional().openapi({ description: "Only events of this type" }),
    experiment: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .openapi({ description: "Only events carrying this experiment key (exposures and tagged events)" }),
    from: isoTime.optional().openapi({ description: "Only events whose timestamp is at or after this time" }),
    to: isoTime.optional().openapi({ description: "Only events whose timestamp is before this time" }),
    reason: z
      .string()
      .max(500)
      .optional()
      .openapi({ description: "Why (kept with every compensating event)" }),
    dry_run: z.boolean().default(false).openapi({ description: "Say what would change; change nothing" }),
  })
  .openapi("RetractionRequest");

export type RetractionRequest = z.infer<typeof RetractionRequestSchema>;

/** The selection part of a request (what the audit entry and the answer repeat). */
export type RetractionFilter = Omit<RetractionRequest, "reason" | "dry_run">;

const SELECTORS = ["event_ids", "user_id", "type", "experiment", "from", "to"] as const;

/** Parses a request body: the request, or field errors naming each problem. */
export function parseRetractionRequest(
  body: unknown,
): { ok: true; request: RetractionRequest } | { ok: false; errors: FieldError[] } {
  const parsed = RetractionRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, errors: toFieldErrors(parsed.error, body) };
  const request = parsed.data;
  if (!SELECTORS.some((s) => request[s] !== undefined))
    return {
      ok: false,
      errors: [
        {
          field: "(body)",
          rule: `must name what to retract: at least one of ${SELECTORS.join(", ")}`,
          received: body,
        },
      ],
    };
  if (
    request.from !== undefined &&
    request.to !== undefined &&
    Date.parse(request.from) >= Date.parse(request.to)
  )
    return { ok: false, errors: [{ field: "to", rule: "must be after from", received: request.to }] };
  return { ok: true, request };
}

export function filterOf(request: RetractionRequest): RetractionFilter {
  const { reason: _reason, dry_run: _dryRun, ...filter } = request;
  return filter;
}
