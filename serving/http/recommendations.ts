import { systemClock } from "../../core/clock/clock.ts";
import { randomUUID } from "node:crypto";
import type { FieldError } from "../../core/contracts/validation.ts";
import { rankForUser } from "../ranking/rank.ts";
import type { ArmAndRanker } from "../experiments/variants.ts";
import { checkId, parseRecommendationParams } from "./params.ts";
import type { ServingRouterDeps } from "./router.ts";

/** A JSON answer, independent of the HTTP layer that sends it (express route or node:http fast path). */
export interface JsonAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function badRequest(errors: FieldError[]): JsonAnswer {
  return {
    status: 400,
    body: {
      error: "invalid_request",
      message: errors.map((e) => `${e.field}: ${e.rule}`).join("; "),
      errors,
    },
  };
}

/** A parameter this process cannot honour (a store it was started without). */
function notSupported(message: string): JsonAnswer {
  return { status: 501, body: { error: "not_supported", message } };
}

/**
 * GET /v1/recommendations/:userId for an authorised caller: the one implementation both HTTP layers call, so
 * the contract (400 naming field/rule/received, 501 without position support, the position header) cannot
 * drift between them.
 */
export async function answerRecommendations(
  deps: ServingRouterDeps,
  userId: string,
  query: Record<string, unknown>,
): Promise<JsonAnswer> {
  const parsed = parseRecommendationParams(query);
  const idError = checkId("userId", userId);
  if (!parsed.ok || idError)
    return badRequest([...(idError ? [idError] : []), ...(parsed.ok ? [] : parsed.errors)]);
  const { params } = parsed;
  let headers: Record<string, string> | undefined;
  if (params.minPosition !== undefined) {
    if (!deps.waitForPosition)
      return notSupported("min_position needs the projectors' status (Kafka) configured");
    const { reached } = await deps.waitForPosition(params.minPosition, deps.config.minPositionWaitMs);
    headers = { "x-reckon-position-reached": String(reached) };
  }
  let experiment: ArmAndRanker | undefined;
  if (params.experiment !== undefined) {
    if (!deps.experiments)
      return notSupported("experiment needs the experiments store (Postgres) configured");
    experiment = await deps.experiments.resolve(params.experiment, userId);
  }
  const outcome = await rankForUser(deps, {
    userId,
    n: params.n,
    categories: params.categories,
    exclude: params.exclude,
    merchandising: params.merchandising,
    context: params.context,
    ...(experiment?.ranker ? { ranker: experiment.ranker } : {}),
  });
  const modelVersion = outcome.model_version;
  // One UUID per answer: the key analytics attributes later interactions by, and the id of its log record.
  const recommendationId = randomUUID();
  const arm = experiment?.arm;
  const variant = arm && arm.variant !== null ? { key: arm.key, variant: arm.variant } : undefined;
  deps.recommendationLog?.record({
    recommendationId,
    userId,
    at: new Date((deps.clock ?? systemClock).now()),
    modelVersion,
    experiment: variant,
    items: outcome.items,
  });
  const items = outcome.items.map(({ item_id, score, source }) => ({
    item_id,
    score,
    source,
    model_version: modelVersion,
  }));
  return {
    status: 200,
    body: {
      items,
      model_version: modelVersion,
      recommendation_id: recommendationId,
      request_id: randomUUID(),
      ...(arm ? { experiment: arm } : {}),
    },
    headers,
  };
}
