import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { meanMetrics, userMetrics } from "./metrics.ts";

const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `expected ${expected}, got ${actual}`);

describe("ranking metrics", () => {
  // User A: ranked [a, b, c, d, e], relevant {a, c, x}, k = 5 → hits at ranks 1 and 3.
  //   P@5   = 2/5 = 0.4
  //   R@5   = 2/3
  //   DCG   = 1/log2(2) + 1/log2(4) = 1 + 0.5 = 1.5
  //   IDCG  = 1/log2(2) + 1/log2(3) + 1/log2(4) = 1 + 0.6309297535714575 + 0.5 = 2.1309297535714575
  //   nDCG  = 1.5 / 2.1309297535714575 = 0.7039180890341348
  //   AP@5  = (1/1 + 2/3) / min(3, 5) = (5/3) / 3 = 5/9
  const a = userMetrics(["a", "b", "c", "d", "e"], new Set(["a", "c", "x"]), 5);
  // User B: a short list [x, y], relevant {y}, k = 5 → one hit at rank 2.
  //   P@5 = 1/5 (a short list is still divided by k), R@5 = 1/1
  //   nDCG = (1/log2(3)) / (1/log2(2)) = 0.6309297535714575
  //   AP@5 = (1/2) / min(1, 5) = 0.5
  const b = userMetrics(["x", "y"], new Set(["y"]), 5);

  it("scores one user exactly", () => {
    close(a.precision, 0.4);
    close(a.recall, 2 / 3);
    close(a.ndcg, 0.7039180890341348);
    close(a.map, 5 / 9);
    close(b.precision, 0.2);
    close(b.recall, 1);
    close(b.ndcg, 0.6309297535714575);
    close(b.map, 0.5);
  });

  it("averages users with equal weight", () => {
    const mean = meanMetrics([a, b]);
    assert.equal(mean.users, 2);
    close(mean.precision, (0.4 + 0.2) / 2); // 0.3
    close(mean.recall, (2 / 3 + 1) / 2); // 5/6
    close(mean.ndcg, (0.7039180890341348 + 0.6309297535714575) / 2); // 0.6674239213027961
    close(mean.map, (5 / 9 + 0.5) / 2); // 19/36
  });

  it("caps the ideal DCG and the AP denominator at k", () => {
    // 12 relevant items, the first 2 ranked are hits, k = 2: perfect at this cut-off.
    const relevant = new Set(Array.from({ length: 12 }, (_, i) => `i${i}`));
    const m = userMetrics(["i0", "i1"], relevant, 2);
    close(m.ndcg, 1);
    close(m.map, 1);
    close(m.recall, 2 / 12);
  });

  it("refuses a user without relevant items", () => {
    assert.throws(() => userMetrics(["a"], new Set(), 10), /no relevant items/);
  });
});
