import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { denseEaseMetrics } from "./dense-ease.ts";
import { loadRatingsCsv } from "./ratings.ts";
import { DEFAULT_SEED, evaluateModel, RECKON_MODEL, RECKON_TRAIN_OPTIONS } from "./run-eval.ts";
import { splitPerUser } from "./split.ts";

// The data set is never copied into the repo: it is read where the workplace keeps it.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const datasetDir = process.env.RECKON_ML_DATASET ?? resolve(repoRoot, "../shared/datasets/ml-latest-small");
const ratingsPath = join(datasetDir, "ratings.csv");

describe("offline quality on MovieLens ml-latest-small (BENCHMARKS.md protocol, seed 42)", () => {
  it("finds the data set", () => {
    assert.ok(existsSync(ratingsPath), `expected ${ratingsPath} (set RECKON_ML_DATASET to its folder)`);
  });

  it("reproduces the reference baseline and beats textbook EASE on the same split", async () => {
    const rows = await loadRatingsCsv(ratingsPath);
    const { train, test } = splitPerUser(rows, { seed: DEFAULT_SEED });
    const popular = await evaluateModel("popular", train, test, 10, {});
    const reckon = await evaluateModel(RECKON_MODEL, train, test, 10, RECKON_TRAIN_OPTIONS);
    const ease = denseEaseMetrics(train, test, 10, { lambda: 500 });
    // The same model scored densely: what Reckon's precomputed user lists must reproduce through recommend().
    const sameModelDense = denseEaseMetrics(train, test, 10, {
      lambda: RECKON_TRAIN_OPTIONS.lambda!,
      dropout: RECKON_TRAIN_OPTIONS.dropout!,
      popularityExponent: RECKON_TRAIN_OPTIONS.popularityExponent!,
    });
    console.log(
      JSON.stringify({
        popular: popular.metrics,
        reckon: reckon.metrics,
        reckonDense: sameModelDense,
        easeFullLambda500: ease,
      }),
    );

    assert.equal(popular.metrics.users, 610);
    // Reference most-popular nDCG@10 is 0.219 (computed independently with a different split generator).
    assert.ok(Math.abs(popular.metrics.ndcg - 0.219) <= 0.01, `most-popular nDCG@10 ${popular.metrics.ndcg}`);
    // Reference EASE (λ=500) is 0.401 on the reference split; on ours the same model scores lower (see README),
    // so Reckon is held to the same model on the same split, plus the absolute floor this split supports.
    assert.ok(ease.ndcg > 0.385, `textbook EASE nDCG@10 ${ease.ndcg}`);
    assert.ok(reckon.metrics.ndcg > ease.ndcg, `Reckon ${reckon.metrics.ndcg} vs EASE ${ease.ndcg}`);
    // BENCHMARKS.md's EASE reference; Reckon's settings were picked on other seeds (see README.md).
    assert.ok(reckon.metrics.ndcg > 0.401, `Reckon nDCG@10 ${reckon.metrics.ndcg}`);
    // Float32 accumulation may reorder near-ties; anything beyond that would be a serving-path bug.
    assert.ok(
      Math.abs(reckon.metrics.ndcg - sameModelDense.ndcg) < 0.001,
      `served ${reckon.metrics.ndcg} vs dense ${sameModelDense.ndcg}`,
    );
  });
});
