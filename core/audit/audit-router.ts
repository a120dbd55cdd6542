import { Router } from "express";
import { z } from "zod";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import type { Queryable } from "../postgres/database.ts";
import { type ApiKeys, requireScope } from "../http/auth.ts";
import { bearerAuth, ErrorSchema, json, keyedResponses } from "../http/openapi.ts";
import { toFieldErrors } from "../contracts/validation.ts";
import { AuditQuerySchema, queryAudit } from "./audit-query.ts";

/** `GET /v1/audit` (admin): the audit log, filtered, newest first, a page at a time. */
export function auditRouter(options: { db: Queryable; keys: ApiKeys }): Router {
  const router = Router();
  router.get("/v1/audit", requireScope(options.keys, "admin"), async (req, res) => {
    const parsed = AuditQuerySchema.safeParse(req.query);
    if (!parsed.success) {
      const errors = toFieldErrors(parsed.error, req.query);
      res.status(400).json({
        error: "invalid_request",
        message: errors.map((e) => `${e.field}: ${e.rule}`).join("; "),
        errors,
      });
      return;
    }
    res.json(await queryAudit(options.db, parsed.data));
  });
  return router;
}

const AuditEntrySchema = z
  .object({
    id: z.string().openapi({ description: "Increasing with the order entries were written" }),
    at: z.string(),
    actor: z.string().openapi({ description: "API key id, cli:<user>, or system:<component>" }),
    request_id: z.string().nullable(),
    action: z.string(),
    target: z.string().nullable(),
    outcome: z.enum(["ok", "refused", "failed"]),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi("AuditEntry");

export function registerAuditOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  registry.registerPath({
    method: "get",
    path: "/v1/audit",
    summary: "The audit log: every command (who, what, when, request id, outcome), newest first",
    security: [{ [bearer.name]: [] }],
    request: { query: AuditQuerySchema },
    responses: {
      200: json(
        z.object({ entries: z.array(AuditEntrySchema), next_cursor: z.string().nullable() }),
        "A page of entries",
      ),
      400: json(ErrorSchema, "A filter is malformed: errors name the field, the rule and what was received"),
      ...keyedResponses("admin"),
    },
  });
}
