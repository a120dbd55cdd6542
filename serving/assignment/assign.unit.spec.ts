import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignVariant, bucketRanges, chooseVariantIndex, createAssigner } from "./assign.ts";
import type { AssignableExperiment, BucketRange } from "./assign.ts";
import { assignmentHash } from "./hash.ts";

const experiment = (weights: readonly number[], traffic = 1, key = "checkout-cta"): AssignableExperiment => ({
  key,
  traffic,
  variants: weights.map((weight, i) => ({ key: `v${i}`, weight })),
});

// A fixed population, so every statistical check below gives the same numbers on every run.
const POPULATION = 1_000_000;
const userId = (i: number) => `user-${i}`;

function shares(
  exp: AssignableExperiment,
  population = POPULATION,
): { variants: number[]; unassigned: number } {
  const assign = createAssigner(exp);
  const counts = new Array<number>(exp.variants.length).fill(0);
  let unassigned = 0;
  for (let i = 0; i < population; i++) {
    const a = assign(userId(i));
    if (a === null) unassigned++;
    else counts[a.variant_index]!++;
  }
  return { variants: counts.map((c) => c / population), unassigned: unassigned / population };
}

function assertWithinRelative(actual: number, expected: number, tolerance: number, what: string): void {
  const deviation = Math.abs(actual / expected - 1);
  assert.ok(
    deviation < tolerance,
    `${what}: ${actual} is ${(deviation * 100).toFixed(3)}% away from ${expected}`,
  );
}

const round6 = (ranges: BucketRange[]) => ranges.map(([s, e]) => [+s.toFixed(6), +e.toFixed(6)]);

describe("bucket ranges", () => {
  // The valid rows of GrowthBook's cases.json "getBucketRange" section (its harness rounds too).
  const cases: [string, number[], number, number[][]][] = [
    [
      "normal 50/50",
      [0.5, 0.5],
      1,
      [
        [0, 0.5],
        [0.5, 1],
      ],
    ],
    [
      "reduced coverage",
      [0.5, 0.5],
      0.5,
      [
        [0, 0.25],
        [0.5, 0.75],
      ],
    ],
    [
      "zero coverage",
      [0.5, 0.5],
      0,
      [
        [0, 0],
        [0.5, 0.5],
      ],
    ],
    [
      "4 variations",
      [0.25, 0.25, 0.25, 0.25],
      1,
      [
        [0, 0.25],
        [0.25, 0.5],
        [0.5, 0.75],
        [0.75, 1],
      ],
    ],
    [
      "uneven weights",
      [0.4, 0.6],
      1,
      [
        [0, 0.4],
        [0.4, 1],
      ],
    ],
    [
      "uneven weights, 3 variations",
      [0.2, 0.3, 0.5],
      1,
      [
        [0, 0.2],
        [0.2, 0.5],
        [0.5, 1],
      ],
    ],
    [
      "uneven weights, reduced coverage, 3 variations",
      [0.2, 0.3, 0.5],
      0.2,
      [
        [0, 0.04],
        [0.2, 0.26],
        [0.5, 0.6],
      ],
    ],
  ];
  for (const [name, weights, traffic, expected] of cases) {
    it(name, () => assert.deepEqual(round6(bucketRanges(weights, traffic)), expected));
  }

  it("refuses what GrowthBook would silently replace by equal weights", () => {
    assert.throws(() => bucketRanges([0.4, 0.1], 1), /weights must sum to 1/);
    assert.throws(() => bucketRanges([0.5, 0.5], 1.5), /traffic must be within 0..1/);
    assert.throws(() => bucketRanges([0.5, 0.5], -0.2), /traffic must be within 0..1/);
    assert.throws(() => bucketRanges([1.5, -0.5], 1), /weights must be >= 0/);
  });

  it("chooses the range holding the bucket, -1 in a gap (GrowthBook chooseVariation cases)", () => {
    const even: BucketRange[] = [
      [0, 0.5],
      [0.5, 1],
    ];
    const reduced: BucketRange[] = [
      [0, 0.25],
      [0.5, 0.75],
    ];
    const zero: BucketRange[] = [
      [0, 0.5],
      [0.5, 0.5],
      [0.5, 1],
    ];
    assert.deepEqual(
      [0.2, 0.6, 0.4, 0.8, 0, 0.5].map((n) => chooseVariantIndex(n, even)),
      [0, 1, 0, 1, 0, 1],
    );
    assert.deepEqual(
      [0.2, 0.6, 0.4, 0.8].map((n) => chooseVariantIndex(n, reduced)),
      [0, 1, -1, -1],
    );
    assert.equal(chooseVariantIndex(0.5, zero), 2);
  });
});

describe("assignVariant", () => {
  it("reproduces GrowthBook's 'creates experiments properly' case (seed feature, id 123 → bucket 0.5231, variant v1)", () => {
    const exp: AssignableExperiment = {
      key: "hello",
      seed: "feature",
      traffic: 0.99,
      variants: [
        { key: "v0", weight: 0.1 },
        { key: "v1", weight: 0.9 },
      ],
    };
    assert.deepEqual(assignVariant(exp, "123"), {
      experiment_key: "hello",
      variant_key: "v1",
      variant_index: 1,
      bucket: 0.5231,
    });
  });

  it("gives fixed answers for fixed users (golden values, cross-checked with an independent Python FNV-1a)", () => {
    const exp: AssignableExperiment = {
      key: "checkout-cta",
      traffic: 0.5,
      variants: [
        { key: "control", weight: 0.2 },
        { key: "green", weight: 0.3 },
        { key: "blue", weight: 0.5 },
      ],
    };
    // Ranges: control [0, 0.1), green [0.2, 0.35), blue [0.5, 0.75); other buckets are unassigned.
    const got = ["user-1", "user-2", "user-3", "42", "alice", "bob", "carol", "dave"].map((u) => {
      const a = assignVariant(exp, u);
      return [u, assignmentHash("checkout-cta", u), a?.variant_key ?? null];
    });
    assert.deepEqual(got, [
      ["user-1", 0.7964, null],
      ["user-2", 0.7308, "blue"],
      ["user-3", 0.0646, "control"],
      ["42", 0.2038, "green"],
      ["alice", 0.3652, null],
      ["bob", 0.3226, "green"],
      ["carol", 0.5954, "blue"],
      ["dave", 0.3658, null],
    ]);
  });

  it("assigns nobody without an id", () => {
    assert.equal(assignVariant(experiment([0.5, 0.5]), ""), null);
  });

  it("uses the seed when one is given instead of the key", () => {
    const seeded = { ...experiment([0.5, 0.5]), seed: "feature" };
    assert.equal(assignVariant(seeded, "123")?.bucket, 0.5231);
  });

  it(`splits ${POPULATION} users 50/50 within 1% of each weight`, () => {
    const { variants, unassigned } = shares(experiment([0.5, 0.5]));
    variants.forEach((s, i) => assertWithinRelative(s, 0.5, 0.01, `variant ${i}`));
    assert.equal(unassigned, 0);
  });

  it(`splits ${POPULATION} users 20/30/50 within 1% of each weight`, () => {
    const weights = [0.2, 0.3, 0.5];
    const { variants, unassigned } = shares(experiment(weights, 1, "search-ranker"));
    variants.forEach((s, i) => assertWithinRelative(s, weights[i]!, 0.01, `variant ${i}`));
    assert.equal(unassigned, 0);
  });

  it("lets about 30% of users in at traffic 0.3, split by the weights", () => {
    const { variants, unassigned } = shares(experiment([0.5, 0.5], 0.3));
    assertWithinRelative(1 - unassigned, 0.3, 0.01, "assigned share");
    variants.forEach((s, i) => assertWithinRelative(s, 0.15, 0.01, `variant ${i}`));
  });

  it("never moves an assigned user when traffic grows (0.1 → 0.3 → 1)", () => {
    const population = 200_000;
    const at = (traffic: number) => {
      const assign = createAssigner(experiment([0.2, 0.3, 0.5], traffic));
      return Array.from({ length: population }, (_, i) => assign(userId(i))?.variant_key ?? null);
    };
    const steps = [at(0.1), at(0.3), at(1)];
    for (let s = 1; s < steps.length; s++) {
      let kept = 0;
      for (let i = 0; i < population; i++) {
        const before = steps[s - 1]![i];
        if (before === null) continue;
        assert.equal(steps[s]![i], before, `user ${userId(i)} moved from ${before} to ${steps[s]![i]}`);
        kept++;
      }
      assert.ok(kept > 0);
    }
    assert.equal(steps[2]!.filter((v) => v === null).length, 0);
  });

  it("keeps two experiments independent: being in v0 of one says nothing about the other", () => {
    const population = 200_000;
    const a = createAssigner(experiment([0.5, 0.5], 1, "checkout-cta"));
    const b = createAssigner(experiment([0.5, 0.5], 1, "search-ranker"));
    let both = 0;
    for (let i = 0; i < population; i++) {
      if (a(userId(i))?.variant_index === 0 && b(userId(i))?.variant_index === 0) both++;
    }
    assertWithinRelative(both / population, 0.25, 0.01, "share in v0 of both");
  });
});
