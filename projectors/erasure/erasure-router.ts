import { createHash } from "node:crypto";
import { Router } from "express";
import { z } from "zod";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { type ApiKeys, requireScope } from "../../core/http/auth.ts";
import { requireJsonObjectBody } from "../../core/http/json-body.ts";
import { bearerAuth, ErrorSchema, json, jsonBodyResponses, keyedResponses } from "../../core/http/openapi.ts";
import { checkId, IdSchema } from "../../core/contracts/id.ts";
import { toFieldErrors } from "../../core/contracts/validation.ts";
import { auditCommand } from "../../core/audit/audit-command.ts";
import { eraseUsers, type ErasureReceipt, type ErasureStores } from "./erase-users.ts";

/** Most users one bulk erasure takes (each is a keyspace scan in the projection store). */
export const MAX_BULK_ERASURE = 1000;

/**
 * The audit log is append-only and kept for good, so it names an erased user by a digest of the id, never the
 * id itself: whoever holds the id can still find its erasure (`GET /v1/audit?target=sha256:…`).
 */
export const erasureTarget = (userId: string) =>
  `sha256:${createHash("sha256").update(userId).digest("hex")}`;

const BulkErasureSchema = z.strictObject({
  user_ids: z.array(IdSchema).min(1).max(MAX_BULK_ERASURE),
});

/** `DELETE /v1/users/:userId` and `POST /v1/erasures` (admin): erase users from every store. */
export function erasureRouter(options: { stores: ErasureStores; keys: ApiKeys; now?: () => Date }): Router {
  const router = Router();
  const now = options.now ?? (() => new Date());
  const admin = requireScope(options.keys, "admin");
  const db = options.stores.db;

  router.delete(
    "/v1/users/:userId",
    admin,
    auditCommand(db, "user.erase", (req, body) => ({
      target: erasureTarget(String(req.params.userId)),
      details: countsOf((body as ErasureReceipt | null)?.users),
    })),
    async (req, res) => {
      const userId = String(req.params.userId);
      const idError = checkId("userId", userId);
      if (idError) {
        res
          .status(400)
          .json({ error: "invalid_request", message: `userId: ${idError.rule}`, errors: [idError] });
        return;
      }
      res.json(await eraseUsers(options.stores, [userId], now()));
    },
  );

  router.post(
    "/v1/erasures",
    admin,
    auditCommand(db, "user.erase_batch", (req, body) => {
      const ids = (req.body as { user_ids?: unknown } | null)?.user_ids;
      return {
        details: {
          ...countsOf((body as ErasureReceipt | null)?.users),
          targets: Array.isArray(ids)
            ? ids.slice(0, MAX_BULK_ERASURE).map((id) => erasureTarget(String(id)))
            : [],
        },
      };
    }),
    requireJsonObjectBody,
    async (req, res) => {
      const parsed = BulkErasureSchema.safeParse(req.body);
      if (!parsed.success) {
        const errors = toFieldErrors(parsed.error, req.body);
        res.status(400).json({
          error: "invalid_request",
          message: errors.map((e) => `${e.field}: ${e.rule}`).join("; "),
          errors,
        });
        return;
      }
      res.json(await eraseUsers(options.stores, parsed.data.user_ids, now()));
    },
  );
  return router;
}

/** The receipt's counts summed, for the audit entry (which never holds the ids). */
function countsOf(users: ErasureReceipt["users"] | undefined): Record<string, unknown> {
  if (!users) return {};
  const clickhouse = users.reduce(
    (n, u) => n + Object.values(u.clickhouse_rows ?? {}).reduce((a, b) => a + b, 0),
    0,
  );
  return {
    users: users.length,
    postgres_events: users.reduce((n, u) => n + u.postgres_events, 0),
    projection_store_keys: users.reduce((n, u) => n + u.projection_store_keys, 0),
    clickhouse_rows: clickhouse,
  };
}

const UserReceiptSchema = z.object({
  user_id: z.string(),
  postgres_events: z
    .number()
    .int()
    .openapi({ description: "Interaction events deleted from the Postgres log" }),
  projection_store_keys: z.number().int().openapi({ description: "Read-model keys deleted (every version)" }),
  clickhouse_rows: z.record(z.string(), z.number().int()).nullable().openapi({
    description: "Rows deleted per ClickHouse table; null when no ClickHouse projection runs here",
  }),
});

const ReceiptSchema = z
  .object({
    erased_at: z.string(),
    users: z.array(UserReceiptSchema),
    kafka: z.literal("suppressed").openapi({
      description: "Copies on the topic stay until its retention removes them; every projector skips them",
    }),
  })
  .openapi("ErasureReceipt");

export function registerErasureOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  registry.registerPath({
    method: "delete",
    path: "/v1/users/{userId}",
    summary: "Erase a user from every store (GDPR Art. 17): idempotent, audited, answers per-store counts",
    security: [{ [bearer.name]: [] }],
    request: { params: z.object({ userId: IdSchema }) },
    responses: {
      200: json(ReceiptSchema, "Erased (zero counts: nothing was left to erase)"),
      400: json(ErrorSchema, "The user id breaks the id rule"),
      ...keyedResponses("admin"),
    },
  });
  registry.registerPath({
    method: "post",
    path: "/v1/erasures",
    summary: `Erase up to ${MAX_BULK_ERASURE} users from every store`,
    security: [{ [bearer.name]: [] }],
    request: { body: { required: true, content: { "application/json": { schema: BulkErasureSchema } } } },
    responses: {
      200: json(ReceiptSchema, "Erased, with counts per user"),
      ...jsonBodyResponses,
      ...keyedResponses("admin"),
    },
  });
}
