import { systemClock } from "../../core/clock/clock.ts";
import type { ExperimentVariants } from "../experiments/variants.ts";
import { randomUUID } from "node:crypto";
import { Router, type Response } from "express";
import type { ApiKeys } from "../../core/http/auth.ts";
import { requireScope } from "../../core/http/auth.ts";
import { withFastPath } from "../../core/http/app.ts";
import { rankForUser, similarItems, type RankingDeps } from "../ranking/rank.ts";
import { checkId, parseSimilarParams } from "./params.ts";
import { parseAsOf } from "../../core/contracts/as-of.ts";
import { AsOfTooLargeError } from "../../projectors/features/as-of.ts";
import type { UserFeatures } from "../../projectors/features/read.ts";
import { recommendationsFastPath } from "./fast-path.ts";
import { answerRecommendations, badRequest, type JsonAnswer } from "./recommendations.ts";
import type { RecommendationRecorder } from "./recommendation-log.ts";

export interface ServingRouterDeps extends RankingDeps {
  keys: ApiKeys;
  /** `?experiment=KEY`: assignment, exposure and the variant's ranker. Absent: not supported (501). */
  experiments?: ExperimentVariants;
  /**
   * `?as_of=T` on the features read: the user's features as they were at T, from the log
   * (projectors/features/as-of.ts). Absent: not supported (501).
   */
  featuresAsOf?: (userId: string, asOf: Date) => Promise<UserFeatures>;
  /** Read-your-writes: resolves when the read models passed the token (bounded). Absent: not supported. */
  waitForPosition?: (token: string, timeoutMs: number) => Promise<{ reached: boolean }>;
  /** Where every recommendation answer is recorded for attribution (batched into the event log). */
  recommendationLog?: RecommendationRecorder;
}

function send(res: Response, answer: JsonAnswer): void {
  if (answer.headers) for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.status(answer.status).json(answer.body);
}

/**
 * The read API: recommendations, similar items, a user's features, and a static ping for benchmarks.
 * GET /v1/recommendations is also served by a node:http fast path ahead of express (fast-path.ts); the express
 * route below answers the forms the fast path leaves to it, with the same implementation.
 */
export function servingRouter(deps: ServingRouterDeps): Router {
  const router = Router();
  const read = requireScope(deps.keys, "read");

  // A static answer from the same app: the benchmark's baseline for HTTP + express overhead.
  router.get("/v1/ping", (_req, res) => {
    res.json({ ok: true });
  });

  router.get("/v1/recommendations/:userId", read, async (req, res) => {
    send(
      res,
      await answerRecommendations(deps, req.params.userId as string, req.query as Record<string, unknown>),
    );
  });

  router.get("/v1/items/:itemId/similar", read, async (req, res) => {
    const itemId = req.params.itemId as string;
    const parsed = parseSimilarParams(req.query as Record<string, unknown>);
    const idError = checkId("itemId", itemId);
    if (!parsed.ok || idError)
      return send(res, badRequest([...(idError ? [idError] : []), ...(parsed.ok ? [] : parsed.errors)]));
    const out = await similarItems(deps, itemId, parsed.n, parsed.categories);
    res.json({ ...out, request_id: randomUUID() });
  });

  router.get("/v1/users/:userId/features", read, async (req, res) => {
    const userId = req.params.userId as string;
    const idError = checkId("userId", userId);
    const asOf = parseAsOf(req.query.as_of, new Date((deps.clock ?? systemClock).now()));
    if (idError || !asOf.ok)
      return send(res, badRequest([...(idError ? [idError] : []), ...(asOf.ok ? [] : [asOf.error])]));
    if (asOf.asOf !== undefined) {
      if (!deps.featuresAsOf)
        return send(res, {
          status: 501,
          body: { error: "not_supported", message: "as_of is not served here" },
        });
      try {
        const past = await deps.featuresAsOf(userId, asOf.asOf);
        // The ranker's rows are today's model on today's candidates: not part of a past state.
        return void res.json({ ...past, as_of: asOf.asOf.toISOString() });
      } catch (error) {
        if (!(error instanceof AsOfTooLargeError)) throw error;
        return send(res, badRequest([{ field: "as_of", rule: error.message, received: req.query.as_of }]));
      }
    }
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

  return deps.config.httpFastPath ? withFastPath(router, recommendationsFastPath(deps)) : router;
}
