import type { Database } from "../../core/postgres/database.ts";
import type { RedisClient } from "../../core/redis/redis.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { asProjectionStore } from "../../projectors/store/open.ts";
import { LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import { readLogBatch, toLogPosition } from "../../core/event-store/log-reader.ts";
import { DEFAULT_FEATURES_CONFIG, type FeaturesConfig } from "../../core/read-models/features-config.ts";
import { buildInteractionMatrix, type Interaction } from "../recommender/interactions.ts";
import { trainModel } from "../recommender/models/index.ts";
import { RECKON_MODEL, RECKON_TRAIN_OPTIONS } from "../eval/run-eval.ts";
import { FEATURE_COUNT, FEATURE_NAMES } from "../ranking/features.ts";
import { DEFAULT_SERVING_CONFIG } from "../ranking/config.ts";
import { activateArtifact, artifactKeys, publishArtifact, pruneArtifacts } from "./artifact-store.ts";
import { logisticToOnnx, predictLogistic, trainLogistic } from "./logistic.ts";
import { HEURISTIC_RANKER, loadRanker, type Ranker } from "./model-holder.ts";
import { activateModel, activeVersion, loadModel, registerModel } from "./registry.ts";
import { ReplayState } from "./replay-state.ts";

export interface TrainOptions {
  db: Database;
  /** Who the model registration (and activation) is audited as (default `system:train`). */
  actor?: string;
  /**
   * The projection store the batch neighbour artifact is published to (or an ioredis client, taken as the Redis
   * store over it); absent: no new artifact (the active one is kept).
   */
  redis?: ProjectionStore | RedisClient;
  prefix?: string;
  activate?: boolean;
  maxExamples?: number;
  /** Share of examples (the latest by event time) held out for evaluation. */
  evalFraction?: number;
  negatives?: number;
  seed?: number;
  features?: FeaturesConfig;
  /** Recent items seeding neighbour retrieval, as serving uses them (RECKON_HISTORY_SEEDS). */
  historySeeds?: number;
  log?: (message: string) => void;
  /** Serve with this already-published artifact instead of publishing a new one. */
  artifactVersion?: number;
}

export interface Example {
  group: number;
  t: number;
  row: number[];
  label: number;
}

interface Replayed {
  t: number;
  user?: string;
  item: string;
  type?: string;
  categories?: string[];
}

/** Reads every interaction and catalog change in log order, then orders them by event time (stable). */
export async function readReplay(db: Database): Promise<Replayed[]> {
  const out: Replayed[] = [];
  let after: LogPosition = LOG_START;
  for (;;) {
    const batch = await readLogBatch(db, after, 5000);
    if (batch.length === 0) break;
    for (const m of batch) {
      if (m.kind === "catalog")
        out.push({
          t: Date.parse(m.event.timestamp),
          item: m.event.item_id,
          categories: m.event.item.categories,
        });
      else if (m.kind === "interaction" && m.event.item_id !== undefined && m.event.type !== "exposure")
        out.push({
          t: Date.parse(m.event.timestamp),
          user: m.event.user_id,
          item: m.event.item_id,
          type: m.event.type,
        });
    }
    after = toLogPosition(batch[batch.length - 1]!);
  }
  // Backfilled history arrives in import order, not time order: knowledge is replayed in event time.
  return out
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.t - b.r.t || a.i - b.i)
    .map(({ r }) => r);
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * Training examples with point-in-time features: for a sampled interaction (user u, item i, time t), the
 * positive row is i's features and the negatives are items serving would have offered u at t (its candidate
 * pool), all computed from the replay state *before* the event is applied.
 */
export function buildExamples(
  events: readonly Replayed[],
  options: {
    maxExamples: number;
    negatives: number;
    seed: number;
    features: FeaturesConfig;
    historySeeds: number;
  },
): Example[] {
  const f = options.features;
  const state = new ReplayState({
    historyCap: 20,
    historySeeds: options.historySeeds, // the same retrieval as serving
    pool: 60,
    shortHalfLifeMs: f.popularityShort.ms,
    longHalfLifeMs: f.popularityLong.ms,
    affinityHalfLifeMs: f.affinity.ms,
    typeWeights: f.typeWeights,
    topListEvery: 200,
  });
  const interactions = events.filter((e) => e.user !== undefined).length;
  const warmup = Math.floor(interactions * 0.1);
  const stride = Math.max(1, Math.ceil((interactions - warmup) / options.maxExamples));
  const rand = lcg(options.seed);
  const examples: Example[] = [];
  let seen = 0;
  let group = 0;
  for (const e of events) {
    if (e.user === undefined) {
      state.setCategories(e.item, e.categories ?? []);
      continue;
    }
    seen++;
    const consumed = new Set(state.history(e.user).map((h) => h.item));
    const candidates =
      seen > warmup && (seen - warmup) % stride === 0 && !consumed.has(e.item)
        ? state.candidatePool(e.user)
        : [];
    // The ranker only orders what retrieval offered. A positive outside the pool (a retrieval miss) has
    // all-zero features while the negatives come from the pool, so such examples would teach the model that
    // "not retrieved" means "chosen" and invert the ranking; they are left out.
    if (candidates.includes(e.item)) {
      const pool = candidates.filter((id) => id !== e.item && !consumed.has(id));
      const negatives: string[] = [];
      for (let k = 0; k < options.negatives && pool.length > 0; k++)
        negatives.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
      if (negatives.length > 0) {
        const rows = state.rows(e.user, e.t, [e.item, ...negatives]);
        rows.forEach((row, k) => examples.push({ group, t: e.t, row, label: k === 0 ? 1 : 0 }));
        group++;
      }
    }
    state.apply(e.user, e.item, e.type!, e.t);
  }
  return examples;
}

export interface RankingMetricsReport {
  auc: number;
  /** Share of held-out events whose real item outscored every sampled alternative. */
  group_accuracy: number;
}

export function evaluateScores(
  examples: readonly Example[],
  scores: ArrayLike<number>,
): RankingMetricsReport {
  // AUC by rank sum (ties averaged).
  const idx = examples.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (examples[idx[k]!]!.label === 1) {
        pos++;
        rankSum += avg;
      }
    i = j + 1;
  }
  const neg = examples.length - pos;
  const auc = pos > 0 && neg > 0 ? (rankSum - (pos * (pos + 1)) / 2) / (pos * neg) : NaN;
  const best = new Map<number, { pos: number; maxNeg: number }>();
  examples.forEach((e, i) => {
    const g = best.get(e.group) ?? { pos: -Infinity, maxNeg: -Infinity };
    if (e.label === 1) g.pos = scores[i]!;
    else g.maxNeg = Math.max(g.maxNeg, scores[i]!);
    best.set(e.group, g);
  });
  let wins = 0;
  for (const g of best.values()) if (g.pos > g.maxNeg) wins++;
  return { auc: round(auc), group_accuracy: round(wins / Math.max(1, best.size)) };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

async function scoreWith(ranker: Ranker, examples: readonly Example[]): Promise<ArrayLike<number>> {
  const rows = new Float32Array(examples.length * FEATURE_COUNT);
  examples.forEach((e, i) => rows.set(e.row, i * FEATURE_COUNT));
  return ranker.score(rows, examples.length);
}

export interface TrainReport {
  version: number;
  activated: boolean;
  artifact_version: number | null;
  metrics: Record<string, unknown>;
}

/** `reckon train`: replay → examples → logistic regression → ONNX → evaluation on a later slice → registry. */
export async function trainAndRegister(options: TrainOptions): Promise<TrainReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const events = await readReplay(options.db);
  const interactions: Interaction[] = events
    .filter((e) => e.user !== undefined)
    .map((e) => ({ userId: e.user!, itemId: e.item, timestamp: e.t }));
  log(`replayed ${events.length} log entries (${interactions.length} interactions)`);
  if (interactions.length < 50)
    throw new Error(`too little data to train: ${interactions.length} interactions`);

  const examples = buildExamples(events, {
    maxExamples: options.maxExamples ?? 20_000,
    negatives: options.negatives ?? 4,
    seed: options.seed ?? 42,
    features: options.features ?? DEFAULT_FEATURES_CONFIG,
    historySeeds: options.historySeeds ?? DEFAULT_SERVING_CONFIG.historySeeds,
  });
  const groups = new Set(examples.map((e) => e.group)).size;
  const cutGroup = Math.floor(groups * (1 - (options.evalFraction ?? 0.2)));
  const train = examples.filter((e) => e.group < cutGroup);
  const held = examples.filter((e) => e.group >= cutGroup);
  if (train.length === 0 || held.length === 0)
    throw new Error("not enough examples for a train/evaluation split");
  log(
    `${examples.length} examples in ${groups} groups: ${train.length} train, ${held.length} held out (later in time)`,
  );

  const model = trainLogistic(
    train.map((e) => e.row),
    train.map((e) => e.label),
    FEATURE_NAMES,
  );
  const onnx = logisticToOnnx(model);
  const candidate = await loadRanker(0, onnx, null);
  const onnxScores = await scoreWith(candidate, held);
  let maxDiff = 0;
  held.forEach((e, i) => {
    maxDiff = Math.max(
      maxDiff,
      Math.abs(onnxScores[i]! - predictLogistic(model, Array.from(Float32Array.from(e.row)))),
    );
  });

  const current = await activeVersion(options.db);
  let activeMetrics: RankingMetricsReport | undefined;
  let activeArtifact: number | null = null;
  if (current !== undefined) {
    const stored = await loadModel(options.db, current);
    activeArtifact = stored?.artifact_version ?? null;
    if (stored)
      activeMetrics = evaluateScores(
        held,
        await scoreWith(await loadRanker(current, stored.onnx, null), held),
      );
  }
  const metrics = {
    model: "logistic_regression",
    weights: Object.fromEntries(FEATURE_NAMES.map((n, j) => [n, round(model.weights[j]!)])),
    bias: round(model.bias),
    examples: {
      train: train.length,
      held_out: held.length,
      groups,
      negatives_per_event: options.negatives ?? 4,
    },
    held_out_from: new Date(held[0]!.t).toISOString(),
    new: evaluateScores(held, onnxScores),
    heuristic: evaluateScores(held, await scoreWith(HEURISTIC_RANKER, held)),
    ...(activeMetrics && { active: { version: current, ...activeMetrics } }),
    onnx_max_abs_diff: maxDiff,
    train_ms: 0,
  };

  let artifactVersion = options.artifactVersion ?? activeArtifact;
  if (options.redis && options.artifactVersion === undefined) {
    const store = asProjectionStore(options.redis);
    const artifact = trainModel(RECKON_MODEL, buildInteractionMatrix(interactions), RECKON_TRAIN_OPTIONS);
    const trainedThrough = interactions.reduce((max, i) => Math.max(max, i.timestamp), 0);
    artifactVersion = await publishArtifact(store, options.prefix ?? "rk", artifact, {
      trainedThrough,
    });
    log(
      `published ${artifact.model} neighbour artifact v${artifactVersion} (${artifact.neighbours.size} items, ${artifact.userCandidates?.size ?? 0} user lists)`,
    );
    // Serving switches to the fresh artifact now, whether or not the ranker below gets activated. Kept: the new
    // one, the one serving read until now (requests in flight) and the active ranker's (a rollback's pair).
    const prefix = options.prefix ?? "rk";
    const previous = Number((await store.get(artifactKeys.active(prefix))) ?? Number.NaN);
    await activateArtifact(store, prefix, artifactVersion);
    const keep = [artifactVersion, previous, activeArtifact ?? Number.NaN].filter(Number.isInteger);
    const pruned = await pruneArtifacts(store, prefix, keep);
    if (pruned.length > 0) log(`pruned artifact versions ${pruned.join(", ")}`);
  }
  metrics.train_ms = Date.now() - started;
  const actor = options.actor ?? "system:train";
  const version = await registerModel(
    options.db,
    { onnx, source: "reckon train", metrics, artifactVersion },
    actor,
  );
  if (options.activate) await activateModel(options.db, version, actor);
  return { version, activated: options.activate ?? false, artifact_version: artifactVersion, metrics };
}
