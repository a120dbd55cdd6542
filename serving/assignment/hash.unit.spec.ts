import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignmentHash, fnv1a32 } from "./hash.ts";

describe("fnv1a32", () => {
  it("matches the FNV-1a 32-bit reference values", () => {
    assert.equal(fnv1a32(""), 0x811c9dc5);
    assert.equal(fnv1a32("a"), 0xe40c292c);
    assert.equal(fnv1a32("foobar"), 0xbf9cf968);
  });

  // GrowthBook's version-1 cases from packages/sdk-js/test/cases.json ([seed, value, 1, expected]);
  // version 1 is (fnv1a32(value + seed) % 1000) / 1000, so they test fnv1a32 on more inputs.
  const v1Cases: [string, string, number][] = [
    ["", "a", 0.22],
    ["", "b", 0.077],
    ["b", "a", 0.946],
    ["ef", "d", 0.652],
    ["asdf", "8952klfjas09ujk", 0.549],
    ["", "123", 0.011],
    ["", '___)((*":&', 0.563],
  ];
  for (const [seed, value, expected] of v1Cases) {
    it(`reproduces GrowthBook v1 case (${JSON.stringify(seed)}, ${JSON.stringify(value)}) = ${expected}`, () => {
      assert.equal((fnv1a32(value + seed) % 1000) / 1000, expected);
    });
  }
});

describe("assignmentHash (GrowthBook hash version 2)", () => {
  // Verbatim from GrowthBook's cases.json, "hash" section, version-2 rows.
  const v2Cases: [string, string, number][] = [
    ["seed", "a", 0.0505],
    ["seed", "b", 0.2696],
    ["foo", "ab", 0.2575],
    ["foo", "def", 0.2019],
    ["89123klj", "8952klfjas09ujkasdf", 0.124],
    ["90850943850283058242805", "123", 0.7516],
    ["()**(%$##$%#$#", '___)((*":&', 0.0128],
  ];
  for (const [seed, value, expected] of v2Cases) {
    it(`hash(${JSON.stringify(seed)}, ${JSON.stringify(value)}) = ${expected}`, () => {
      assert.equal(assignmentHash(seed, value), expected);
    });
  }

  it("equals the plain string form fnv1a32(String(fnv1a32(seed + id))) for ids of every digit count", () => {
    const ids = [
      "",
      "a",
      "user-42",
      "émile",
      "0",
      "9".repeat(40),
      ...Array.from({ length: 2000 }, (_, i) => `u${i * 7919}`),
    ];
    for (const id of ids) {
      const plain = (fnv1a32(String(fnv1a32("seed" + id))) % 10_000) / 10_000;
      assert.equal(assignmentHash("seed", id), plain, `id ${JSON.stringify(id)}`);
    }
  });

  it("is a pure function of its inputs", () => {
    const first = Array.from({ length: 1000 }, (_, i) => assignmentHash("exp", `u${i}`));
    const again = Array.from({ length: 1000 }, (_, i) => assignmentHash("exp", `u${i}`));
    assert.deepEqual(again, first);
  });

  it("stays in [0, 1) on a 1/10000 grid", () => {
    for (let i = 0; i < 10_000; i++) {
      const h = assignmentHash("grid", String(i));
      assert.ok(h >= 0 && h < 1, `hash ${h} out of range`);
      assert.equal(Math.round(h * 10_000) / 10_000, h);
    }
  });
});
