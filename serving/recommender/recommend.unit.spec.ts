import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InMemoryReadModel, type InMemoryReadModelData } from "./memory-read-model.ts";
import { recommend } from "./recommend.ts";

function readModel(extra: Partial<InMemoryReadModelData> = {}) {
  return new InMemoryReadModel({
    histories: new Map([["u", ["h1", "h2"]]]),
    neighbours: new Map([
      [
        "h1",
        [
          { item_id: "h2", score: 0.9 },
          { item_id: "x", score: 0.5 },
          { item_id: "y", score: 0.3 },
        ],
      ],
      [
        "h2",
        [
          { item_id: "y", score: 0.4 },
          { item_id: "z", score: 0.1 },
        ],
      ],
    ]),
    popular: [
      { item_id: "h1", score: 100 },
      { item_id: "p1", score: 50 },
      { item_id: "x", score: 40 },
      { item_id: "p2", score: 30 },
    ],
    ...extra,
  });
}

const ids = (recs: { item_id: string }[]) => recs.map((r) => r.item_id);

describe("recommend", () => {
  it("sums neighbour weights over the history, drops consumed items, fills from popular", async () => {
    // y = 0.3 + 0.4 = 0.7, x = 0.5, z = 0.1; h2 is consumed. Fill: h1 consumed, x already listed → p1, p2.
    const recs = await recommend(readModel(), "u", 5);
    assert.deepEqual(recs, [
      { item_id: "y", score: 0.3 + 0.4, source: "neighbours" },
      { item_id: "x", score: 0.5, source: "neighbours" },
      { item_id: "z", score: 0.1, source: "neighbours" },
      { item_id: "p1", score: 50, source: "popular" },
      { item_id: "p2", score: 30, source: "popular" },
    ]);
  });

  it("cuts the list at n", async () => {
    assert.deepEqual(ids(await recommend(readModel(), "u", 2)), ["y", "x"]);
    assert.deepEqual(await recommend(readModel(), "u", 0), []);
  });

  it("honours explicit exclusions in both neighbour and popular candidates", async () => {
    assert.deepEqual(ids(await recommend(readModel(), "u", 4, { exclude: ["x", "p1"] })), ["y", "z", "p2"]);
  });

  it("can keep consumed items when asked", async () => {
    assert.deepEqual(ids(await recommend(readModel(), "u", 2, { excludeConsumed: false })), ["h2", "y"]);
  });

  it("skips unavailable items and filters by category", async () => {
    const items = new Map([
      ["y", { available: false, categories: ["drama"] }],
      ["x", { available: true, categories: ["comedy"] }],
      ["z", { available: true, categories: ["drama"] }],
      ["p2", { available: true, categories: ["drama"] }],
    ]);
    assert.deepEqual(ids(await recommend(readModel({ items }), "u", 3)), ["x", "z", "p1"]);
    // p1 is unknown to the catalog: it has no category, so a category filter drops it.
    assert.deepEqual(ids(await recommend(readModel({ items }), "u", 3, { category: "drama" })), ["z", "p2"]);
  });

  it("serves a cold user from the popular list", async () => {
    const recs = await recommend(readModel(), "new-user", 3);
    assert.deepEqual(recs, [
      { item_id: "h1", score: 100, source: "popular" },
      { item_id: "p1", score: 50, source: "popular" },
      { item_id: "x", score: 40, source: "popular" },
    ]);
  });

  it("uses the trending list when asked", async () => {
    const trending = [{ item_id: "t1", score: 9 }];
    const recs = await recommend(readModel({ trending }), "new-user", 2, { fallback: "trending" });
    assert.deepEqual(recs, [{ item_id: "t1", score: 9, source: "trending" }]);
  });

  it("adds the model's item bias once per seed item", async () => {
    // Two seeds (h1, h2): y = 0.7 + 2·0.05 = 0.8; x = 0.5 + 2·(−0.2) = 0.1; z = 0.1 + 2·0.1 = 0.3.
    const itemBias = new Map([
      ["y", 0.05],
      ["x", -0.2],
      ["z", 0.1],
    ]);
    const recs = await recommend(readModel({ itemBias }), "u", 3);
    assert.deepEqual(ids(recs), ["y", "z", "x"]);
    assert.ok(Math.abs(recs[0]!.score - 0.8) < 1e-12);
    assert.ok(Math.abs(recs[2]!.score - 0.1) < 1e-12);
  });

  it("seeds from the most recent items only when historyLimit is set, but still excludes all consumed", async () => {
    // Only h1 seeds: x 0.5, y 0.3 (h2 consumed even though outside the window).
    assert.deepEqual(ids(await recommend(readModel(), "u", 2, { historyLimit: 1 })), ["x", "y"]);
  });

  it("starts from the batch model's precomputed list when it has one", async () => {
    // Neighbour rows are not read: the precomputed scores already cover the trained history (h1, h2).
    const userCandidates = new Map([
      [
        "u",
        {
          items: [
            { item_id: "p2", score: 0.9 },
            { item_id: "x", score: 0.6 },
            { item_id: "h2", score: 0.5 }, // consumed since: dropped
          ],
        },
      ],
    ]);
    const recs = await recommend(readModel({ userCandidates }), "u", 3);
    assert.deepEqual(recs, [
      { item_id: "p2", score: 0.9, source: "neighbours" },
      { item_id: "x", score: 0.6, source: "neighbours" },
      { item_id: "p1", score: 50, source: "popular" },
    ]);
  });

  it("adds the rows of items touched after training, starting unlisted items at the list's last score", async () => {
    // New seed h2 (row: y 0.4, z 0.1; bias: y 0.05, others none). Listed items keep their scores (x 0.6,
    // p2 0.2); y and z are not listed, so they start at the last listed score: y 0.2 + 0.4 + 0.05 = 0.65,
    // z 0.2 + 0.1 = 0.3.
    const userCandidates = new Map([
      [
        "u",
        {
          items: [
            { item_id: "x", score: 0.6 },
            { item_id: "p2", score: 0.2 },
          ],
          newSeeds: ["h2"],
        },
      ],
    ]);
    const itemBias = new Map([["y", 0.05]]);
    const recs = await recommend(readModel({ userCandidates, itemBias }), "u", 4);
    assert.deepEqual(ids(recs), ["y", "x", "z", "p2"]);
    assert.ok(Math.abs(recs[0]!.score - 0.65) < 1e-12);
    assert.ok(Math.abs(recs[2]!.score - 0.3) < 1e-12);
  });

  it("rejects a negative n", async () => {
    await assert.rejects(recommend(readModel(), "u", -1), RangeError);
  });
});
