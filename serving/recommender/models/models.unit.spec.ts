import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildInteractionMatrix, type Interaction } from "../interactions.ts";
import { easeRows, popularityScale, trainEase } from "./ease.ts";
import { trainModel } from "./index.ts";
import { trainJaccard } from "./jaccard.ts";
import { popularItems } from "./popular.ts";

const close = (actual: number | undefined, expected: number, tol = 1e-12) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < tol, `expected ${expected}, got ${actual}`);

// Four users, three items:  u1 {a, b}  u2 {b, c}  u3 {a, b, c}  u4 {a}
function tiny() {
  const pairs: [string, string][] = [
    ["u1", "a"],
    ["u1", "b"],
    ["u2", "b"],
    ["u2", "c"],
    ["u3", "a"],
    ["u3", "b"],
    ["u3", "c"],
    ["u4", "a"],
  ];
  const rows: Interaction[] = pairs.map(([userId, itemId], t) => ({ userId, itemId, timestamp: t }));
  return buildInteractionMatrix(rows);
}

function bRow(
  data: ReturnType<typeof tiny>,
  solver: "primal" | "dual",
  lambda: number,
  dropout = 0,
  popularityExponent = 0,
) {
  const { columns, rowOfB } = easeRows(data, { lambda, solver, dropout, popularityExponent });
  const out: Record<string, Record<string, number>> = {};
  const row = new Float64Array(columns.length);
  columns.forEach((i, c) => {
    rowOfB(c, row);
    const from = data.itemIds[i]!;
    out[from] = {};
    columns.forEach((j, d) => {
      if (d !== c) out[from]![data.itemIds[j]!] = row[d]!;
    });
  });
  return out;
}

describe("EASE", () => {
  // XᵀX = [[3,2,1],[2,3,2],[1,2,2]] (order a, b, c); λ = 1 → G = [[4,2,1],[2,4,2],[1,2,3]], det G = 24.
  // P = G⁻¹ = adj(G)/24 = [[8,-4,0],[-4,11,-6],[0,-6,12]]/24, so diag(P) = (1/3, 11/24, 1/2).
  // B_ij = −P_ij/P_jj:  B_ab = (4/24)/(11/24) = 4/11   B_ac = 0
  //                     B_ba = (4/24)/(8/24)  = 1/2    B_bc = (6/24)/(12/24) = 1/2
  //                     B_ca = 0                       B_cb = (6/24)/(11/24) = 6/11
  const expected = { a: { b: 4 / 11, c: 0 }, b: { a: 1 / 2, c: 1 / 2 }, c: { a: 0, b: 6 / 11 } };

  for (const solver of ["primal", "dual"] as const) {
    it(`matches the closed form by hand (${solver} solver)`, () => {
      const b = bRow(tiny(), solver, 1);
      for (const [from, row] of Object.entries(expected)) {
        for (const [to, value] of Object.entries(row)) close(b[from]![to], value);
      }
    });
  }

  it("gives the same B from both solvers with a popularity-dependent penalty", () => {
    const data = tiny();
    const primal = bRow(data, "primal", 2, 0.4);
    const dual = bRow(data, "dual", 2, 0.4);
    for (const from of Object.keys(primal)) {
      for (const to of Object.keys(primal[from]!)) close(dual[from]![to], primal[from]![to]!);
    }
  });

  // λ = 2 → G = [[5,2,1],[2,5,2],[1,2,4]], det G = 67, P = [[16,-6,-1],[-6,19,-8],[-1,-8,21]]/67.
  // B: a→b 6/19, a→c 1/21;  b→a 6/16 = 3/8, b→c 8/21;  c→a 1/16, c→b 8/19  (no ties, so k = 1 is unambiguous).
  it("keeps the top-K of each row as the neighbour list", () => {
    const { neighbours, itemBias } = trainEase(tiny(), {
      lambda: 2,
      k: 1,
      solver: "primal",
      biasCorrection: false,
    });
    assert.equal(itemBias.size, 0);
    const pairs = [...neighbours].map(([id, list]) => [id, list.map((n) => n.item_id)]);
    assert.deepEqual(pairs, [
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["b"]],
    ]);
    close(neighbours.get("a")![0]!.score, 6 / 19);
    close(neighbours.get("b")![0]!.score, 8 / 21);
    close(neighbours.get("c")![0]!.score, 8 / 19);
  });

  it("estimates truncated entries by a popularity-weighted column mean", () => {
    // k = 1 keeps a→b, b→c, c→b. Row weights are item counts: a 3, b 3, c 2; a row never counts for its own column.
    // Column a: dropped from rows b (3/8) and c (1/16) → r_a = (3·3/8 + 2·1/16) / (3 + 2) = 1/4
    // Column b: kept by both other rows                → no estimate (r_b = 0)
    // Column c: dropped from row a (1/21)              → r_c = (3·1/21) / 3 = 1/21
    const { neighbours, itemBias } = trainEase(tiny(), { lambda: 2, k: 1, solver: "dual" });
    close(itemBias.get("a"), 1 / 4);
    close(itemBias.get("b") ?? 0, 0);
    close(itemBias.get("c"), 1 / 21);
    // Stored weights are B_ij − r_j.
    close(neighbours.get("a")![0]!.score, 6 / 19);
    close(neighbours.get("b")![0]!.score, 8 / 21 - 1 / 21);
    close(neighbours.get("c")![0]!.score, 8 / 19);
  });
});

describe("EASE user candidates", () => {
  // λ = 2 (B above): u4 {a} scores b 6/19, c 1/21; u2 {b, c} scores a 3/8 + 1/16 = 7/16;
  // u1 {a, b} scores c 1/21 + 8/21 = 3/7; u3 has every item, so an empty list.
  const expected: Record<string, [string, number][]> = {
    u1: [["c", 3 / 7]],
    u2: [["a", 7 / 16]],
    u3: [],
    u4: [
      ["b", 6 / 19],
      ["c", 1 / 21],
    ],
  };
  const check = (candidates: Map<string, { item_id: string; score: number }[]>) => {
    assert.deepEqual([...candidates.keys()].sort(), ["u1", "u2", "u3", "u4"]);
    for (const [user, list] of Object.entries(expected)) {
      const got = candidates.get(user)!;
      assert.deepEqual(
        got.map((x) => x.item_id),
        list.map(([id]) => id),
        user,
      );
      // Scores are accumulated in Float32: exact to single precision.
      list.forEach(([, score], q) => close(got[q]!.score, score, 1e-6));
    }
  };

  it("scores each user by the untruncated x_u·B, training items left out", () => {
    // k = 1 truncates the rows; the user lists still use every entry of B.
    check(trainEase(tiny(), { lambda: 2, k: 1, solver: "dual", userTopM: 5 }).userCandidates);
  });

  it("gives the same lists when the users are scored in several passes over the rows", () => {
    // 3 cells per pass and 3 items: one user per pass.
    check(
      trainEase(tiny(), { lambda: 2, k: 1, solver: "primal", userTopM: 5, userScoreCells: 3 }).userCandidates,
    );
  });

  it("falls back to the truncated rows beyond the cost budget (exact here: K keeps every entry)", () => {
    const { userCandidates } = trainEase(tiny(), { lambda: 2, k: 3, userTopM: 5, userScoreBudget: 0 });
    check(userCandidates);
  });

  it("beyond the budget with truncated rows, scores as serving does for a user without a list", () => {
    // k = 1 keeps a→b (6/19), b→c (stored 8/21 − r_c), c→b (8/19); r_c = 1/21 (see above), r_b = 0.
    // Candidates come from the kept lists only. u4 {a}: b 6/19. u1 {a, b}: c = (8/21 − 1/21) + 2·(1/21) = 3/7,
    // which the bias estimate makes equal to the exact 1/21 + 8/21. u2 {b, c}: both lists point inside: empty.
    const { userCandidates } = trainEase(tiny(), { lambda: 2, k: 1, userTopM: 5, userScoreBudget: 0 });
    const ids = (u: string) => userCandidates.get(u)!.map((x) => x.item_id);
    assert.deepEqual([ids("u4"), ids("u1"), ids("u2")], [["b"], ["c"], []]);
    close(userCandidates.get("u4")![0]!.score, 6 / 19);
    close(userCandidates.get("u1")![0]!.score, 3 / 7);
  });

  it("keeps only the top M", () => {
    const { userCandidates } = trainEase(tiny(), { lambda: 2, k: 1, userTopM: 1 });
    assert.deepEqual(
      userCandidates.get("u4")!.map((x) => x.item_id),
      ["b"],
    );
  });
});

describe("EASE with popularity debiasing (column j of B divided by count_j^β)", () => {
  it("computes count^−β, counting an unseen item as 1", () => {
    assert.deepEqual([...popularityScale([1, 4, 16, 0], 0.5)], [1, 0.5, 0.25, 1]);
    assert.deepEqual([...popularityScale([3, 7], 0)], [1, 1]);
  });

  // Counts a 3, b 3, c 2; β = 1 divides the λ = 1 matrix above by them, column by column:
  // B_ab = (4/11)/3 = 4/33  B_ac = 0  B_ba = (1/2)/3 = 1/6  B_bc = (1/2)/2 = 1/4  B_ca = 0  B_cb = (6/11)/3 = 2/11
  const expected = { a: { b: 4 / 33, c: 0 }, b: { a: 1 / 6, c: 1 / 4 }, c: { a: 0, b: 2 / 11 } };
  for (const solver of ["primal", "dual"] as const) {
    it(`scales the closed-form B by hand (${solver} solver)`, () => {
      const b = bRow(tiny(), solver, 1, 0, 1);
      for (const [from, row] of Object.entries(expected)) {
        for (const [to, value] of Object.entries(row)) close(b[from]![to], value);
      }
    });
  }

  it("serves user lists from the scaled matrix", () => {
    // λ = 2 (B above), β = 1: u1 {a, b} scores c (1/21 + 8/21)/2 = 3/14; u2 {b, c} scores a (3/8 + 1/16)/3 = 7/48;
    // u4 {a} scores b (6/19)/3 = 2/19 and c (1/21)/2 = 1/42.
    const { userCandidates } = trainEase(tiny(), { lambda: 2, k: 1, userTopM: 5, popularityExponent: 1 });
    const got = (u: string) => userCandidates.get(u)!.map((x) => [x.item_id, x.score] as const);
    const expectedLists: Record<string, [string, number][]> = {
      u1: [["c", 3 / 14]],
      u2: [["a", 7 / 48]],
      u4: [
        ["b", 2 / 19],
        ["c", 1 / 42],
      ],
    };
    for (const [user, list] of Object.entries(expectedLists)) {
      const actual = got(user);
      assert.deepEqual(
        actual.map(([id]) => id),
        list.map(([id]) => id),
        user,
      );
      // Float32 accumulation: exact to single precision.
      list.forEach(([, score], q) => close(actual[q]![1], score, 1e-6));
    }
  });

  it("is a training option recorded in the artifact's params, and rejects a negative exponent", () => {
    const artifact = trainModel("ease", tiny(), { lambda: 2, k: 1, popularityExponent: 1 });
    assert.equal(artifact.params.popularityExponent, 1);
    close(artifact.neighbours.get("a")![0]!.score, 2 / 19);
    assert.throws(() => easeRows(tiny(), { lambda: 1, popularityExponent: -0.1 }), RangeError);
  });
});

describe("Jaccard", () => {
  // users: a {u1,u3,u4}  b {u1,u2,u3}  c {u2,u3}
  // J(a,b) = |{u1,u3}| / |{u1,u2,u3,u4}| = 2/4;  J(a,c) = 1/4;  J(b,c) = |{u2,u3}| / |{u1,u2,u3}| = 2/3
  it("scores co-occurrence by intersection over union", () => {
    const neighbours = trainJaccard(tiny(), { k: 10 });
    const asPairs = (id: string) => neighbours.get(id)!.map((n) => [n.item_id, n.score]);
    assert.deepEqual(asPairs("a"), [
      ["b", 2 / 4],
      ["c", 1 / 4],
    ]);
    assert.deepEqual(asPairs("b"), [
      ["c", 2 / 3],
      ["a", 2 / 4],
    ]);
    assert.deepEqual(asPairs("c"), [
      ["b", 2 / 3],
      ["a", 1 / 4],
    ]);
  });

  it("keeps only k neighbours", () => {
    assert.deepEqual(
      trainJaccard(tiny(), { k: 1 })
        .get("a")!
        .map((n) => n.item_id),
      ["b"],
    );
  });
});

describe("popular", () => {
  it("ranks by distinct users, ties by id", () => {
    assert.deepEqual(popularItems(tiny()), [
      { item_id: "a", score: 3 },
      { item_id: "b", score: 3 },
      { item_id: "c", score: 2 },
    ]);
  });
});
