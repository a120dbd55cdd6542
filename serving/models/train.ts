import type { Database } from "../../core/postgres/database.ts";
import { NON_ENGAGEMENT_TYPES } from "../../core/contracts/event.ts";
import type { RedisClient } from "../../core/redis/redis.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { asProjectionStore } from "../../projectors/store/open.ts";
import { LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import { readLogBatch, toLogPosition } from "../../core/event-store/log-reader.ts";
import { RetractedEventsFilter } from "../../core/event-store/retracted-events.ts";
import type { FeaturesConfig } from "../../core/read-models/features-config.ts";
import type { Interaction } from "../recommender/interactions.ts";
import { FEATURE_COUNT, FEATURE_NAMES } from "../ranking/features.ts";
import { DEFAULT_SERVING_CONFIG } from "../ranking/config.ts";
import { candidateFeatures } from "../ranking/rank.ts";
import { heldOutUsers, PROTOCOLS, type HeldOutUser, type Protocol } from "./held-out-lists.ts";
import { gateDecision, listQuality, type ProtocolQuality } from "./list-gate.ts";
import { trainPairwise, type RankingGroup } from "./pairwise.ts";
import { activateArtifact, artifactKeys, publishArtifact, pruneArtifacts } from "./artifact-store.ts";
import { trainBatchArtifact } from "./batch-artifact.ts";
import { logisticToOnnx, predictLogistic } from "./logistic.ts";
import { HEURISTIC_RANKER, loadRanker, type Ranker } from "./model-holder.ts";
import { activateModel, activeVersion, loadModel, registerModel } from "./registry.ts";

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
  /** Most (taken, not taken) candidate pairs the ranker is fitted on (the heaviest). Default 200,000. */
  maxExamples?: number;
  /** Most held-out users per protocol on each side (fitting, gate). Default 1000. */
  maxUsers?: number;
  seed?: number;
  features?: FeaturesConfig;
  /** Recent items seeding neighbour retrieval, as serving uses them (RECKON_HISTORY_SEEDS). */
  historySeeds?: number;
  log?: (message: string) => void;
  /** Serve with this already-published artifact instead of publishing a new one. */
  artifactVersion?: number;
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
  // A retracted interaction (ingest/retraction) trains nothing, as a rebuild leaves it out of the read models.
  const retracted = new RetractedEventsFilter(db);
  for (;;) {
    const batch = await readLogBatch(db, after, 5000);
    if (batch.length === 0) break;
    for (const m of await retracted.filter(batch)) {
      if (m.kind === "catalog")
        out.push({
          t: Date.parse(m.event.timestamp),
          item: m.event.item_id,
          categories: m.event.item.categories,
        });
      else if (
        m.kind === "interaction" &&
        m.event.item_id !== undefined &&
        !NON_ENGAGEMENT_TYPES.has(m.event.type)
      )
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

export interface RankingMetricsReport {
  auc: number;
  /** Share of held-out users whose taken items outscored every other candidate. */
  group_accuracy: number;
}

/** AUC over every (taken, not taken) candidate pair, and per-group accuracy; reported, not used by the gate. */
export function evaluateScores(
  examples: readonly { group: number; label: number }[],
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
    if (e.label === 1) g.pos = Math.min(g.pos === -Infinity ? Infinity : g.pos, scores[i]!);
    else g.maxNeg = Math.max(g.maxNeg, scores[i]!);
    best.set(e.group, g);
  });
  let wins = 0;
  for (const g of best.values()) if (g.pos > g.maxNeg) wins++;
  return { auc: round(auc), group_accuracy: round(wins / Math.max(1, best.size)) };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

/** The candidates serving would score for each held-out user, their feature rows and which ones they took. */
async function rankingGroups(users: readonly HeldOutUser[]): Promise<RankingGroup[]> {
  const groups: RankingGroup[] = [];
  for (const u of users) {
    const { itemIds, rows } = await candidateFeatures(u.context);
    const labels = Uint8Array.from(itemIds, (id) => (u.relevant.has(id) ? 1 : 0));
    if (labels.includes(1) && labels.includes(0)) groups.push({ rows, labels });
  }
  return groups;
}

function flatten(groups: readonly RankingGroup[]): {
  rows: Float32Array;
  examples: { group: number; label: number }[];
} {
  const examples = groups.flatMap((g, group) => Array.from(g.labels, (label) => ({ group, label })));
  const rows = new Float32Array(examples.length * FEATURE_COUNT);
  let offset = 0;
  for (const g of groups) {
    rows.set(g.rows, offset);
    offset += g.rows.length;
  }
  return { rows, examples };
}

/** Scores retrieval order alone: what the list is before any ranker reorders it. */
export const RETRIEVAL_ORDER: Ranker = {
  version: null,
  artifactVersion: null,
  async score(rows, count) {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = rows[i * FEATURE_COUNT]! + 1e-3 * rows[i * FEATURE_COUNT + 1]!;
    return out;
  },
};

export interface TrainReport {
  version: number;
  activated: boolean;
  artifact_version: number | null;
  metrics: Record<string, unknown>;
}

/**
 * `reckon train`: replay → held-out users under both protocols (a probe of the batch model trained on the rest)
 * → pairwise ranker fitted on half of them → ONNX → the list it produces through serving's ranking code on the
 * other half, against the ranker serving now (the gate) → registry; and the batch artifact from the whole log.
 */
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
  const categories = new Map<string, readonly string[]>();
  for (const e of events) if (e.user === undefined) categories.set(e.item, e.categories ?? []);

  const current = await activeVersion(options.db);
  let activeRanker: Ranker | undefined;
  let activeArtifact: number | null = null;
  if (current !== undefined) {
    const stored = await loadModel(options.db, current);
    activeArtifact = stored?.artifact_version ?? null;
    if (stored) activeRanker = await loadRanker(current, stored.onnx, null);
  }
  const { onnx, metrics } = await fitAndJudgeRanker(interactions, categories, activeRanker, options);
  let artifactVersion = options.artifactVersion ?? activeArtifact;
  if (options.redis && options.artifactVersion === undefined) {
    const store = asProjectionStore(options.redis);
    const artifact = trainBatchArtifact(interactions);
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

/**
 * How much each protocol's users count when fitting. What a user does next is what a real-time recommender is
 * for, and the random split's held-out items are already ordered well by retrieval. With `transition_score` the
 * temporal users are the easier ones to gain on: on ml-latest-small (quality-mirror), a weight of 2 keeps the
 * random-split list where it was and the ranker passes the gate on both protocols' training parts; 4 lifts the
 * temporal list further but lowers the random one, and the gate refuses it on the temporal training part.
 */
const FIT_WEIGHT: Readonly<Record<Protocol, number>> = { random: 1, temporal: 2 };

/**
 * The pairs are weighed again in the fitted model's own order every this many iterations (LambdaRank proper):
 * the loss then follows the top of the list the ranker itself produces, not only retrieval order's. On
 * ml-latest-small it lifts the served list on both protocols (`npm run bench -- quality-mirror`).
 */
const REWEIGH_EVERY = 30;

export type RankerFitOptions = Pick<
  TrainOptions,
  "seed" | "historySeeds" | "maxUsers" | "maxExamples" | "log"
>;

/**
 * Fits a ranker on held-out users of both protocols and judges the list it produces (through serving's ranking
 * code) against the active ranker's, or the heuristic's when none is active, on the other held-out users.
 * No I/O: the bench and the tests call it on interactions directly.
 */
export async function fitAndJudgeRanker(
  interactions: readonly Interaction[],
  categories: ReadonlyMap<string, readonly string[]>,
  activeRanker: Ranker | undefined,
  options: RankerFitOptions = {},
) {
  const config = {
    ...DEFAULT_SERVING_CONFIG,
    historySeeds: options.historySeeds ?? DEFAULT_SERVING_CONFIG.historySeeds,
  };
  const seed = options.seed ?? 42;
  const held = Object.fromEntries(
    PROTOCOLS.map((p) => [
      p,
      heldOutUsers(interactions, p, { seed, config, categories, maxUsers: options.maxUsers ?? 1000 }),
    ]),
  ) as Record<Protocol, HeldOutUser[]>;
  const fitGroups: RankingGroup[] = [];
  for (const p of PROTOCOLS)
    for (const g of await rankingGroups(held[p].filter((u) => u.fit)))
      fitGroups.push({ ...g, weight: FIT_WEIGHT[p] });
  const gateGroups: RankingGroup[] = [];
  for (const p of PROTOCOLS) gateGroups.push(...(await rankingGroups(held[p].filter((u) => !u.fit))));
  if (fitGroups.length === 0 || gateGroups.length === 0)
    throw new Error(
      "not enough held-out users whose next items are among their candidates to fit and judge a ranker",
    );
  options.log?.(`${fitGroups.length} held-out users fit the ranker, ${gateGroups.length} judge it`);

  const model = trainPairwise(fitGroups, FEATURE_NAMES, {
    // Retrieval order is where serving starts from: pairs are weighted by what swapping them changes there.
    prior: (row) => row[0]! + 1e-3 * row[1]!,
    maxPairs: options.maxExamples ?? 200_000,
    reweighEvery: REWEIGH_EVERY,
  });
  const onnx = logisticToOnnx(
    model,
    "Reckon ranking model: linear pairwise ranker (RankNet, LambdaRank-weighted pairs)",
  );
  const candidate = await loadRanker(0, onnx, null);
  const gate = flatten(gateGroups);
  const onnxScores = await candidate.score(gate.rows, gate.examples.length);
  let maxDiff = 0;
  gate.examples.forEach((_, i) => {
    const row = Array.from(gate.rows.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT));
    maxDiff = Math.max(maxDiff, Math.abs(onnxScores[i]! - predictLogistic(model, row)));
  });

  const current = activeRanker?.version;
  const gateUsers = (p: Protocol) => held[p].filter((u) => !u.fit);
  const quality = async (ranker: Ranker) =>
    Object.fromEntries(
      await Promise.all(
        PROTOCOLS.map(async (p) => [p, await listQuality(ranker, gateUsers(p), 10)] as const),
      ),
    ) as ProtocolQuality;
  const list = {
    new: await quality(candidate),
    heuristic: await quality(HEURISTIC_RANKER),
    retrieval_order: await quality(RETRIEVAL_ORDER),
    ...(activeRanker && { active: { version: current, ...(await quality(activeRanker)) } }),
  };
  const decision = gateDecision(
    list.new,
    list.active ?? list.heuristic,
    activeRanker ? `active model ${current}` : "the heuristic ranker",
  );
  const metrics = {
    model: "pairwise_linear",
    weights: Object.fromEntries(FEATURE_NAMES.map((n, j) => [n, round(model.weights[j]!)])),
    bias: round(model.bias),
    examples: {
      fit_users: fitGroups.length,
      gate_users: gateGroups.length,
      gate_candidates: gate.examples.length,
    },
    gate: { ...decision, list },
    new: evaluateScores(gate.examples, onnxScores),
    heuristic: evaluateScores(gate.examples, await HEURISTIC_RANKER.score(gate.rows, gate.examples.length)),
    ...(activeRanker && {
      active: {
        version: current,
        ...evaluateScores(gate.examples, await activeRanker.score(gate.rows, gate.examples.length)),
      },
    }),
    onnx_max_abs_diff: maxDiff,
    train_ms: 0,
  };
  options.log?.(`ranker gate: ${decision.activate ? "passes" : "refuses"}: ${decision.reason}`);

  return { onnx, model, metrics };
}
