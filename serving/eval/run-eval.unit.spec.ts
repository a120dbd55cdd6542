import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import type { Interaction } from "../recommender/interactions.ts";
import { denseEaseMetrics } from "./dense-ease.ts";
import type { RankingMetrics } from "./metrics.ts";
import { DEFAULT_SEED, evaluateModel, runEval } from "./run-eval.ts";
import { splitPerUser } from "./split.ts";
import { groupedRatings, toRatingsCsv } from "./testing.ts";

/**
 * The evaluation code on a generated data set whose answers follow from its structure (MovieLens itself is
 * measured by `npm run bench -- quality`). Group A: 24 users × items 1–8; group B: 8 users × items 9–16;
 * group C: 1 user × items 17–20. Every user saw every item of their group, so:
 * - the split holds out round(0.25·8) = 2 items of each A/B user and round(0.25·4) = 1 of the C user;
 * - EASE's B is block-diagonal: an A or B user's two held-out items are the only unseen items scoring above 0, so
 *   they rank 1 and 2 (a perfect user); the C user's held-out item is in nobody's training: no model finds it;
 * - most-popular ranks A items above B items above C items (asserted on the split below), so an A user is
 *   perfect, a B user finds both held-out items at ranks 9 and 10 (behind the eight A items), the C user none.
 */
const GROUPS = [
  { users: 24, items: 8 },
  { users: 8, items: 8 },
  { users: 1, items: 4 },
] as const;
const USERS = 33;
const groupOfItem = (itemId: string) => (Number(itemId) <= 8 ? "A" : Number(itemId) <= 16 ? "B" : "C");

const perfect: RankingMetrics = { map: 1, ndcg: 1, precision: 2 / 10, recall: 1 };
const idealDcgOfTwo = 1 + 1 / Math.log2(3);
const hitsAtNineAndTen: RankingMetrics = {
  map: (1 / 9 + 2 / 10) / 2,
  ndcg: (1 / Math.log2(10) + 1 / Math.log2(11)) / idealDcgOfTwo,
  precision: 2 / 10,
  recall: 1,
};
const nothing: RankingMetrics = { map: 0, ndcg: 0, precision: 0, recall: 0 };

/** Mean over the 33 users of the per-user figures above, as meanMetrics computes it. */
function expectedMean(parts: readonly { users: number; metrics: RankingMetrics }[]): RankingMetrics {
  const mean = (pick: (m: RankingMetrics) => number) =>
    parts.reduce((sum, p) => sum + p.users * pick(p.metrics), 0) / USERS;
  return {
    map: mean((m) => m.map),
    ndcg: mean((m) => m.ndcg),
    precision: mean((m) => m.precision),
    recall: mean((m) => m.recall),
  };
}
const EASE_EXPECTED = expectedMean([
  { users: 32, metrics: perfect },
  { users: 1, metrics: nothing },
]);
const POPULAR_EXPECTED = expectedMean([
  { users: 24, metrics: perfect },
  { users: 8, metrics: hitsAtNineAndTen },
  { users: 1, metrics: nothing },
]);

/** Exact up to the order of floating-point additions. */
function assertMetrics(actual: RankingMetrics & { users: number }, expected: RankingMetrics, label: string) {
  assert.equal(actual.users, USERS, `${label}: users`);
  for (const key of ["map", "ndcg", "precision", "recall"] as const) {
    assert.ok(
      Math.abs(actual[key] - expected[key]) < 1e-12,
      `${label} ${key}: expected ${expected[key]}, got ${actual[key]}`,
    );
  }
}

const rows = groupedRatings(GROUPS);
const { train, test } = splitPerUser(rows, { seed: DEFAULT_SEED });

function countByItem(list: readonly Interaction[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of list) counts.set(r.itemId, (counts.get(r.itemId) ?? 0) + 1);
  return counts;
}

describe("evaluation on a generated data set of known structure", () => {
  it("generates every user × item pair of each group once", () => {
    assert.equal(rows.length, 24 * 8 + 8 * 8 + 1 * 4);
    assert.equal(new Set(rows.map((r) => `${r.userId}:${r.itemId}`)).size, rows.length);
    assert.deepEqual(
      rows.filter((r) => r.userId === "25").map((r) => r.itemId),
      ["9", "10", "11", "12", "13", "14", "15", "16"],
    );
  });

  it("splits each user 75/25, never putting a (user, item) on both sides", () => {
    assert.equal(train.length, 32 * 6 + 3);
    assert.equal(test.length, 32 * 2 + 1);
    for (let u = 1; u <= USERS; u++) {
      const heldOut = test.filter((r) => r.userId === String(u)).length;
      assert.equal(heldOut, u === USERS ? 1 : 2, `held-out items of user ${u}`);
    }
    const trainPairs = new Set(train.map((r) => `${r.userId}:${r.itemId}`));
    for (const r of test) assert.ok(!trainPairs.has(`${r.userId}:${r.itemId}`), `${r.userId}:${r.itemId}`);
  });

  it("leaves the structure the expected figures rest on", () => {
    const inTraining = countByItem(train);
    // Every held-out A/B item is in someone's training; the C user's is in nobody's.
    for (const r of test) {
      assert.equal(inTraining.has(r.itemId), groupOfItem(r.itemId) !== "C", `item ${r.itemId}`);
    }
    const counts = (group: string) =>
      [...inTraining].filter(([item]) => groupOfItem(item) === group).map(([, n]) => n);
    assert.ok(Math.min(...counts("A")) > Math.max(...counts("B")), "A items more popular than B items");
    assert.ok(Math.min(...counts("B")) > Math.max(...counts("C")), "B items more popular than C items");
  });

  it("scores most-popular: A users perfect, B users hit at ranks 9 and 10, the C user nothing", async () => {
    const report = await evaluateModel("popular", train, test, 10, {});
    assertMetrics(report.metrics, POPULAR_EXPECTED, "popular");
  });

  it("scores EASE (λ=500) served through recommend() and scored densely alike: every findable item at ranks 1–2", async () => {
    const served = await evaluateModel("ease", train, test, 10, { lambda: 500 });
    assertMetrics(served.metrics, EASE_EXPECTED, "served EASE");
    assertMetrics(denseEaseMetrics(train, test, 10, { lambda: 500 }), EASE_EXPECTED, "dense EASE");
  });

  it("runEval reads a ratings file and reports Reckon's model beside the most-popular baseline", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "reckon-eval-"));
    const ratingsPath = path.join(dir, "ratings.csv");
    writeFileSync(ratingsPath, toRatingsCsv(rows));
    const report = await runEval({ ratingsPath });
    assert.deepEqual(report.protocol, {
      ratingsPath,
      seed: DEFAULT_SEED,
      k: 10,
      testFraction: 0.25,
      trainInteractions: 32 * 6 + 3,
      testInteractions: 32 * 2 + 1,
    });
    assert.equal(report.reckon.model, "ease");
    assertMetrics(report.reckon.metrics, EASE_EXPECTED, "Reckon");
    assert.equal(report.baseline.model, "popular");
    assertMetrics(report.baseline.metrics, POPULAR_EXPECTED, "baseline");
  });
});
