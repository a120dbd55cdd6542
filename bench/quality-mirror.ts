import path from "node:path";
import { loadRatingsCsv } from "../serving/eval/ratings.ts";
import { DEFAULT_SEED } from "../serving/eval/run-eval.ts";
import { splitPerUser, splitPerUserTemporal } from "../serving/eval/split.ts";
import { DEFAULT_SERVING_CONFIG } from "../serving/ranking/config.ts";
import { PROTOCOLS, splitUsers, type Protocol } from "../serving/models/held-out-lists.ts";
import { listQuality } from "../serving/models/list-gate.ts";
import { fitAndJudgeRanker, RETRIEVAL_ORDER } from "../serving/models/train.ts";
import { HEURISTIC_RANKER, loadRanker } from "../serving/models/model-holder.ts";
import { denseEaseMetrics } from "../serving/eval/dense-ease.ts";
import { DEFAULT_DATASET_DIR, machine } from "./support.ts";

/**
 * `npm run bench -- quality-mirror [--dataset DIR]`: the API figures of the quality bench without the stack, for
 * trying ranker and retrieval changes in minutes. Per protocol, the ranker is fitted and gated on the training
 * part exactly as `reckon train` fits it from the log (fitAndJudgeRanker), then every test user's list comes from
 * serving's ranking code (rankContext) over the batch model trained on the training part, for the fitted ranker,
 * plain retrieval order and the heuristic; static textbook EASE (λ=500) is computed on the same split. What it
 * leaves out of the API path: ingest and projections (catalog categories, decayed affinities, trending by
 * arrival), so `npm run bench -- quality` stays the published figure.
 */
export async function runQualityMirror(options: { dataset?: string } = {}) {
  const dataset = options.dataset ?? DEFAULT_DATASET_DIR;
  const ratings = await loadRatingsCsv(path.join(dataset, "ratings.csv"));
  const out: Record<string, unknown> = {};
  for (const protocol of PROTOCOLS) out[protocol] = await mirrorProtocol(ratings, protocol);
  return { bench: "quality-mirror", machine: machine(), data: { dataset, ratings: ratings.length }, ...out };
}

async function mirrorProtocol(ratings: Awaited<ReturnType<typeof loadRatingsCsv>>, protocol: Protocol) {
  const started = performance.now();
  const split =
    protocol === "random" ? splitPerUser(ratings, { seed: DEFAULT_SEED }) : splitPerUserTemporal(ratings);
  const fitted = await fitAndJudgeRanker(split.train, new Map(), undefined);
  const ranker = await loadRanker(0, fitted.onnx, null);
  const users = splitUsers(split, {
    seed: DEFAULT_SEED,
    config: DEFAULT_SERVING_CONFIG,
    categories: new Map(),
    maxUsers: Number.MAX_SAFE_INTEGER,
  });
  const ranked = await listQuality(ranker, users, 10);
  const staticEase = denseEaseMetrics(split.train, split.test, 10, { lambda: 500 });
  const gate = fitted.metrics.gate as { activate: boolean; reason: string };
  return {
    ranker: ranked,
    retrieval_order: await listQuality(RETRIEVAL_ORDER, users, 10),
    heuristic: await listQuality(HEURISTIC_RANKER, users, 10),
    static_ease_lambda500: Number(staticEase.ndcg.toFixed(4)),
    ranker_over_static_ease: Number((ranked.ndcg / staticEase.ndcg).toFixed(3)),
    gate_activates: gate.activate,
    gate_reason: gate.reason,
    weights: fitted.metrics.weights,
    seconds: Math.round((performance.now() - started) / 1000),
  };
}
