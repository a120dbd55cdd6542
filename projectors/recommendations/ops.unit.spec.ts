import { test } from "node:test";
import assert from "node:assert/strict";
import { cosine, DEFAULT_RECOMMENDATIONS_CONFIG, recommendationOps } from "./ops.ts";
import { catalog, interaction } from "../runtime/testing.ts";

test("co-occurrence is normalised by both items' counts (cosine)", () => {
  assert.equal(cosine(3, 4, 9), 0.5);
  assert.equal(cosine(10, 100, 100), 0.1);
  assert.equal(cosine(10, 10, 10), 1);
  assert.equal(cosine(0, 4, 9), 0);
  // A popular neighbour with a higher raw count ranks below a specific one.
  assert.ok(cosine(20, 25, 10_000) < cosine(5, 25, 25));
});

test("an item interaction becomes one co-occurrence op on the user's history; other messages are dropped", () => {
  const m = interaction("u1", "i9", "view", "2026-01-01T00:00:00.000Z");
  assert.deepEqual(recommendationOps(m, DEFAULT_RECOMMENDATIONS_CONFIG), {
    ops: [
      ["cooc", "{u:u1}:h", "i9", String(Date.parse("2026-01-01T00:00:00.000Z")), "20", "100"],
      ["pexpire", "{u:u1}:h", String(DEFAULT_RECOMMENDATIONS_CONFIG.userTtlMs)],
    ],
  });
  assert.deepEqual(recommendationOps(catalog("i9", ["a"], 1), DEFAULT_RECOMMENDATIONS_CONFIG), {
    drop: "catalog events do not change co-occurrence",
  });
});
