import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { choleskyInPlace, spdInverse } from "./linalg.ts";

describe("choleskyInPlace", () => {
  it("factors a 3×3 matrix exactly", () => {
    // [[4,2,2],[2,5,3],[2,3,6]] = L·Lᵀ with L = [[2,0,0],[1,2,0],[1,1,2]]
    const a = Float64Array.from([4, 2, 2, 2, 5, 3, 2, 3, 6]);
    choleskyInPlace(a, 3, 2);
    assert.deepEqual([a[0], a[3], a[4], a[6], a[7], a[8]], [2, 1, 2, 1, 1, 2]);
  });

  it("rejects a matrix that is not positive definite", () => {
    assert.throws(() => choleskyInPlace(Float64Array.from([1, 2, 2, 1]), 2), /not positive definite/);
  });
});

describe("spdInverse", () => {
  it("inverts across block boundaries (odd size, small blocks)", () => {
    // A = MᵀM + I for a fixed integer M: SPD and dense.
    const n = 7;
    const m = Array.from({ length: n * n }, (_, k) => ((k * 37) % 11) - 5);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = i === j ? 1 : 0;
        for (let p = 0; p < n; p++) s += m[p * n + i]! * m[p * n + j]!;
        a[i * n + j] = s;
      }
    for (const block of [1, 2, 3, 64]) {
      const inv = spdInverse(a, n, block);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < n; p++) s += a[i * n + p]! * inv[p * n + j]!;
          assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-9, `block ${block}: (A·A⁻¹)[${i}][${j}] = ${s}`);
        }
    }
  });
});
