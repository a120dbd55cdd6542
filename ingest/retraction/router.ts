import { Router } from "express";
import type { Database } from "../../core/postgres/database.ts";
import { type ApiKeys, requireScope } from "../../core/http/auth.ts";
import { requireJsonObjectBody } from "../../core/http/json-body.ts";
import { recordAudit } from "../../core/audit/audit-log.ts";
import { parseRetractionRequest } from "./request.ts";
import { retractEvents, TooManyEventsError } from "./retract.ts";

export interface RetractionsRouterOptions {
  db: Database;
  keys: ApiKeys;
  now?: () => Date;
}

/**
 * `POST /v1/retractions` (admin): takes back interactions by id or by filter with compensating log entries that
 * every projection undoes; `dry_run` answers what would change and changes nothing.
 */
export function retractionsRouter(options: RetractionsRouterOptions): Router {
  const router = Router();
  const now = options.now ?? (() => new Date());
  router.post(
    "/v1/retractions",
    requireScope(options.keys, "admin"),
    requireJsonObjectBody,
    async (req, res) => {
      const caller = { actor: req.caller!.keyId, requestId: req.get("x-request-id") };
      const parsed = parseRetractionRequest(req.body);
      if (!parsed.ok) {
        await recordAudit(options.db, {
          ...caller,
          action: "events.retract",
          outcome: "refused",
          details: { errors: parsed.errors },
        });
        res.status(400).json({
          error: "invalid_retraction",
          message: parsed.errors.map((e) => `${e.field}: ${e.rule}`).join("; "),
          errors: parsed.errors,
        });
        return;
      }
      try {
        const outcome = await retractEvents(options.db, parsed.request, caller, now());
        res.status(parsed.request.dry_run || outcome.retracted === 0 ? 200 : 201).json(outcome);
      } catch (error) {
        if (!(error instanceof TooManyEventsError)) throw error;
        const errors = [{ field: "(filter)", rule: error.message, received: parsed.request }];
        await recordAudit(options.db, {
          ...caller,
          action: "events.retract",
          outcome: "refused",
          details: { errors },
        });
        res.status(400).json({ error: "invalid_retraction", message: error.message, errors });
      }
    },
  );
  return router;
}
