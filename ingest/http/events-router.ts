import { Router } from "express";
import type { Database } from "../../core/postgres/database.ts";
import { type ApiKeys, requireScope, sendRefusal } from "../../core/http/auth.ts";
import { validateEvent, type InteractionEvent, type TimeWindow } from "../../core/contracts/event.ts";
import type { FieldError } from "../../core/contracts/validation.ts";
import { formatPositionToken } from "../../core/contracts/position.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { eventsIngested } from "../../core/metrics.ts";
import { requireJsonObjectBody } from "../../core/http/json-body.ts";

export const MAX_EVENTS_PER_REQUEST = 1000;

export interface EventsRouterOptions {
  db: Database;
  keys: ApiKeys;
  maxEventAgeMs: number;
  maxClockSkewMs: number;
  now?: () => Date;
}

export type EventResult =
  | { index: number; event_id: string; status: "accepted" | "duplicate" }
  | { index: number; event_id?: unknown; status: "rejected"; errors: FieldError[] };

/**
 * `POST /v1/events`: one event, or `{ "events": [...] }`. Each event is judged on its own: good events of a
 * batch are recorded even when others are rejected. The answer is sent after the Postgres commit.
 */
export function eventsRouter(options: EventsRouterOptions): Router {
  const router = Router();
  const now = options.now ?? (() => new Date());

  router.post("/v1/events", requireScope(options.keys, "write"), requireJsonObjectBody, async (req, res) => {
    const backfill = req.query.backfill === "true" || req.query.backfill === "1";
    if (backfill && !req.caller?.scopes.has("admin")) {
      res.status(403).json({
        error: "forbidden",
        message: 'backfill (accepting old timestamps) needs a key with the "admin" scope',
        required_scope: "admin",
      });
      return;
    }
    const body: unknown = req.body;
    const isBatch = isRecord(body) && "events" in body;
    if (isBatch) {
      const shapeError = batchShapeError(body);
      if (shapeError) {
        eventsIngested.inc({ outcome: "rejected" });
        res.status(400).json({ error: "invalid_request", message: shapeError.rule, errors: [shapeError] });
        return;
      }
    }
    const inputs: unknown[] = isBatch ? (body.events as unknown[]) : [body];
    // Every event sent counts, valid or not: the quota bounds the work a key can ask for.
    const overQuota = options.keys.quotas?.chargeEvents(req.caller!.keyId, inputs.length);
    if (overQuota) {
      sendRefusal(res, overQuota);
      return;
    }
    const window: TimeWindow = {
      now: now(),
      maxAgeMs: backfill ? undefined : options.maxEventAgeMs,
      maxSkewMs: options.maxClockSkewMs,
    };

    const valid: InteractionEvent[] = [];
    const validIndex: number[] = [];
    const results: EventResult[] = new Array(inputs.length);
    inputs.forEach((input, index) => {
      const verdict = validateEvent(input, window, isBatch ? `events.${index}` : "");
      if (verdict.ok) {
        valid.push(verdict.event);
        validIndex.push(index);
      } else {
        const eventId = isRecord(input) ? input.event_id : undefined;
        results[index] = { index, event_id: eventId, status: "rejected", errors: verdict.errors };
      }
    });

    const appended = await appendInteractionEvents(options.db, valid);
    appended.outcomes.forEach((o, i) => {
      results[validIndex[i]!] = { index: validIndex[i]!, event_id: o.event_id, status: o.status };
    });

    const count = (s: EventResult["status"]) => results.filter((r) => r.status === s).length;
    const summary = {
      accepted: count("accepted"),
      duplicate: count("duplicate"),
      rejected: count("rejected"),
    };
    eventsIngested.inc({ outcome: "accepted" }, summary.accepted);
    eventsIngested.inc({ outcome: "duplicate" }, summary.duplicate);
    eventsIngested.inc({ outcome: "rejected" }, summary.rejected);

    const nothingRecorded = summary.accepted + summary.duplicate === 0;
    res.status(nothingRecorded ? 400 : 200).json({
      ...summary,
      position: appended.head ? formatPositionToken(appended.head) : null,
      results,
    });
  });

  return router;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function batchShapeError(body: Record<string, unknown>): FieldError | undefined {
  const extra = Object.keys(body).filter((k) => k !== "events");
  if (extra.length > 0) return { field: extra[0]!, rule: 'unknown field (a batch is { "events": [...] })' };
  if (!Array.isArray(body.events)) {
    return { field: "events", rule: "must be an array of events", received: typeof body.events };
  }
  if (body.events.length === 0) return { field: "events", rule: "must hold at least one event", received: 0 };
  if (body.events.length > MAX_EVENTS_PER_REQUEST) {
    return {
      field: "events",
      rule: `must hold at most ${MAX_EVENTS_PER_REQUEST} events per request`,
      received: body.events.length,
    };
  }
  return undefined;
}
