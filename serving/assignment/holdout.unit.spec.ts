import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bucketRanges } from "./assign.ts";
import { fnv1a32 } from "./hash.ts";
import { createHoldoutAssigner, holdoutAsExperiment } from "./holdout.ts";

// GrowthBook's hash version 2 written out: fnv1a32(String(fnv1a32(seed + id))) % 10000 / 10000.
const bucketOf = (seed: string, id: string) => (fnv1a32(String(fnv1a32(seed + id))) % 10_000) / 10_000;

describe("holdout assignment", () => {
  it("is GrowthBook's holdout experiment: coverage 2 × share, 50/50, ranges [0, share) and [0.5, 0.5 + share)", () => {
    const experiment = holdoutAsExperiment({ key: "q3-holdout", share: 0.05 });
    assert.equal(experiment.traffic, 0.1);
    assert.deepEqual(
      bucketRanges(
        experiment.variants.map((v) => v.weight),
        experiment.traffic,
      ),
      [
        [0, 0.05],
        [0.5, 0.55],
      ],
    );
  });

  it("puts each user by the bucket of (holdout key, user id): holdout, general or neither", () => {
    const assign = createHoldoutAssigner({ key: "q3-holdout", share: 0.05 });
    // Buckets of these ids under the seed "q3-holdout", by the formula above.
    const expected: [string, number, string | null][] = [
      ["u-0", 0.6896, null],
      ["u-1", 0.4695, null],
      ["u-31", 0.0347, "holdout"],
      ["u-61", 0.0084, "holdout"],
      ["u-37", 0.5483, "general"],
      ["u-63", 0.5139, "general"],
    ];
    for (const [id, bucket, group] of expected) {
      assert.equal(bucketOf("q3-holdout", id), bucket, id);
      assert.equal(assign(id), group, id);
    }
    assert.equal(assign(""), null, "an empty id is never assigned");
  });

  it("holds out about share of many users, and measures as many", () => {
    const assign = createHoldoutAssigner({ key: "q3-holdout", share: 0.05 });
    const counts = { holdout: 0, general: 0, none: 0 };
    for (let i = 0; i < 20_000; i++) counts[assign(`user-${i}`) ?? "none"] += 1;
    for (let i = 0; i < 20_000; i++) {
      const b = bucketOf("q3-holdout", `user-${i}`);
      const group = b < 0.05 ? "holdout" : b >= 0.5 && b < 0.55 ? "general" : null;
      assert.equal(assign(`user-${i}`), group);
    }
    // 5 % of 20,000 = 1,000 each; a binomial standard deviation is about 31.
    assert.ok(Math.abs(counts.holdout - 1000) < 150, `holdout ${counts.holdout}`);
    assert.ok(Math.abs(counts.general - 1000) < 150, `general ${counts.general}`);
  });
});
