import { randomUUID } from "node:crypto";
import { Router, type Response } from "express";
import type { ApiKeys } from "../../core/http/auth.ts";
import { requireScope } from "../../core/http/auth.ts";
import type { FieldError } from "../../core/contracts/validation.ts";
import { rankForUser, similarItems, type RankingDeps } from "../ranking/rank.ts";
import { checkId, parseRecommendationParams, parseSimilarParams } from "./params.ts";

export interface ServingRouterDeps extends RankingDeps {
  keys: ApiKeys;
  /** Read-your-writes: resolves when the read models passed the token (bounded). Absent: not supported. */
  waitForPosition?: (token: string, timeoutMs: number) => Promise<{ reached: boolean }>;
}

function badRequest(res: Response, errors: FieldError[]): void {
  res.status(400).json({
    error: "invalid_request",
    message: errors.map((e) => `${e.field}: ${e.rule}`).join("; "),
    errors,
  });
}

/** The read API: recommendations, similar items, a user's features, and a static ping for benchmarks. */
export function servingRouter(deps: ServingRouterDeps): Router {
  const router = Router();
  const read = requireScope(deps.keys, "read");

  // A static answer from the same app: the benchmark's baseline for HTTP + express overhead.
  router.get("/v1/ping", (_req, res) => {
    res.json({ ok: true });
  });

  router.get("/v1/recommendations/:userId", read, async (req, res) => {
    const userId = req.params.userId as string;
    const parsed = parseRecommendationParams(req.query as Record<string, unknown>);
    const idError = checkId("userId", userId);
    if (!parsed.ok || idError)
      return badRequest(res, [...(idError ? [idError] : []), ...(parsed.ok ? [] : parsed.errors)]);
    const { params } = parsed;
    if (params.minPosition !== undefined) {
      if (!deps.waitForPosition) {
        res.status(501).json({
          error: "not_supported",
          message: "min_position needs the projectors' status (Kafka) configured",
        });
        return;
      }
      const { reached } = await deps.waitForPosition(params.minPosition, deps.config.minPositionWaitMs);
      res.setHeader("x-reckon-position-reached", String(reached));
    }
    const outcome = await rankForUser(deps, {
      userId,
      n: params.n,
      categories: params.categories,
      exclude: params.exclude,
    });
    res.json({ items: outcome.items, model_version: outcome.model_version, request_id: randomUUID() });
  });

  router.get("/v1/items/:itemId/similar", read, async (req, res) => {
    const itemId = req.params.itemId as string;
    const parsed = parseSimilarParams(req.query as Record<string, unknown>);
    const idError = checkId("itemId", itemId);
    if (!parsed.ok || idError)
      return badRequest(res, [...(idError ? [idError] : []), ...(parsed.ok ? [] : parsed.errors)]);
    const out = await similarItems(deps, itemId, parsed.n, parsed.categories);
    res.json({ ...out, request_id: randomUUID() });
  });

  router.get("/v1/users/:userId/features", read, async (req, res) => {
    const userId = req.params.userId as string;
    const idError = checkId("userId", userId);
    if (idError) return badRequest(res, [idError]);
    const [features, ranking] = await Promise.all([
      deps.features.getUserFeatures(userId),
      rankForUser(deps, { userId, n: 10, categories: [], exclude: [], explain: true }),
    ]);
    res.json({
      ...features,
      consumed_types: [...deps.config.consumedTypes],
      model_version: ranking.model_version,
      ranker_input: ranking.scored,
    });
  });

  return router;
}
