import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Interaction } from "../recommender/interactions.ts";
import { compareIds, mulberry32, splitPerUser, splitPerUserTemporal } from "./split.ts";

function sample(): Interaction[] {
  const rows: Interaction[] = [];
  for (let u = 1; u <= 5; u++) {
    for (let i = 1; i <= 4 * u; i++) rows.push({ userId: String(u), itemId: String(i * 7), timestamp: i });
  }
  return rows;
}

const key = (r: Interaction) => `${r.userId}:${r.itemId}`;

describe("mulberry32", () => {
  it("is a pure function of the seed", () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = [a(), a(), a()];
    assert.deepEqual([b(), b(), b()], xs);
    assert.notDeepEqual([c(), c(), c()], xs);
    for (const x of xs) assert.ok(x >= 0 && x < 1);
  });
});

describe("splitPerUser", () => {
  it("gives the same split for the same seed, whatever the input order", () => {
    const rows = sample();
    const first = splitPerUser(rows, { seed: 7 });
    const again = splitPerUser([...rows].reverse(), { seed: 7 });
    assert.deepEqual(first.test.map(key).sort(), again.test.map(key).sort());
    assert.deepEqual(first.train.map(key).sort(), again.train.map(key).sort());
  });

  it("gives a different split for another seed", () => {
    const rows = sample();
    assert.notDeepEqual(
      splitPerUser(rows, { seed: 7 }).test.map(key).sort(),
      splitPerUser(rows, { seed: 8 }).test.map(key).sort(),
    );
  });

  it("holds out round(25%) of each user's items, disjoint from training", () => {
    const { train, test } = splitPerUser(sample(), { seed: 1 });
    for (let u = 1; u <= 5; u++) {
      // user u has 4u items → exactly u held out
      assert.equal(test.filter((r) => r.userId === String(u)).length, u);
      assert.equal(train.filter((r) => r.userId === String(u)).length, 3 * u);
    }
    const trainKeys = new Set(train.map(key));
    for (const r of test) assert.ok(!trainKeys.has(key(r)));
  });

  it("keeps repeated rows of one item on the same side", () => {
    const rows: Interaction[] = [];
    for (let i = 0; i < 8; i++) rows.push({ userId: "u", itemId: `i${i}`, timestamp: i });
    rows.push({ userId: "u", itemId: "i3", timestamp: 99 });
    const { train, test } = splitPerUser(rows, { seed: 3 });
    const sides = [train, test].map((side) => side.filter((r) => r.itemId === "i3").length);
    assert.ok(sides.includes(2) && sides.includes(0));
    assert.equal(test.length, 2 + (sides[1] === 2 ? 1 : 0)); // round(8 · 0.25) = 2 distinct items
  });

  it("orders numeric ids numerically", () => {
    assert.deepEqual(["10", "9", "a", "100"].sort(compareIds), ["9", "10", "100", "a"]);
  });
});

it("the temporal split holds out each user's latest quarter of items, by first interaction time", () => {
  const row = (userId: string, itemId: string, timestamp: number) => ({ userId, itemId, timestamp });
  const rows = [
    row("u1", "a", 5),
    row("u1", "b", 1),
    row("u1", "c", 3),
    row("u1", "d", 9),
    row("u1", "b", 10), // a repeat follows its item (first seen at 1: training)
    row("u2", "x", 2),
    row("u2", "y", 2), // a tie in time: by id
    row("u2", "z", 1),
    row("u2", "w", 4),
    row("u2", "v", 3),
    row("u2", "t", 7),
    row("u2", "s", 8),
    row("u2", "r", 6),
  ];
  const { train, test: held } = splitPerUserTemporal(rows);
  const pairs = (list: readonly { userId: string; itemId: string }[]) =>
    list.map((r) => `${r.userId}:${r.itemId}`);
  // u1: 4 items, round(1) held out: d (first seen at 9). u2: 8 items, 2 held out: t (7) and s (8).
  assert.deepEqual(pairs(held), ["u1:d", "u2:t", "u2:s"]);
  assert.deepEqual(pairs(train), [
    "u1:b",
    "u1:b",
    "u1:c",
    "u1:a",
    "u2:z",
    "u2:x",
    "u2:y",
    "u2:v",
    "u2:w",
    "u2:r",
  ]);
});
