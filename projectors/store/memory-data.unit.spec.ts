import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { addInteger, compareMembers, formatScore, parseScore, rankRange, SortedSet } from "./memory-data.ts";

describe("in-process store data types", () => {
  test("scores format as Redis 7.0 replies with them (%.17g)", () => {
    // Each expected string is what Redis 7.0.15 answered for ZADD/ZINCRBY of the same value.
    assert.equal(formatScore(0.1 + 0.2), "0.30000000000000004");
    assert.equal(formatScore(0.1), "0.10000000000000001");
    assert.equal(formatScore(1e-7), "9.9999999999999995e-08");
    assert.equal(formatScore(1.2345678901234568e17), "1.2345678901234568e+17");
    assert.equal(formatScore(1e21), "1e+21");
    assert.equal(formatScore(1700000000000), "1700000000000");
    assert.equal(formatScore(-3), "-3");
    assert.equal(formatScore(2.5), "2.5");
    assert.equal(formatScore(Number.POSITIVE_INFINITY), "inf");
  });

  test("score arguments parse as Redis parses them, and a bad one names the value", () => {
    assert.equal(parseScore("+inf"), Number.POSITIVE_INFINITY);
    assert.equal(parseScore("-1.5"), -1.5);
    assert.throws(() => parseScore("abc"), /score is not a valid float: "abc"/);
    assert.throws(() => parseScore(""), /not a valid float/);
  });

  test("integer increments are 64-bit, as HINCRBY's", () => {
    assert.equal(addInteger(undefined, "5"), "5");
    assert.equal(addInteger("9007199254740991", "2"), "9007199254740993");
    assert.equal(addInteger("-4", "1"), "-3");
    assert.throws(() => addInteger("9223372036854775807", "1"), /would overflow/);
    assert.throws(() => addInteger("1.5", "1"), /not an integer or out of range: "1.5"/);
  });

  test("members of equal score rank by UTF-8 bytes", () => {
    assert.ok(compareMembers("a", "b") < 0);
    assert.ok(compareMembers("ab", "a") > 0);
    // U+FF5E (3 UTF-8 bytes, EF BD 9E) sorts before U+1F600 (F0 9F 98 80), unlike their UTF-16 code units.
    assert.ok(compareMembers("\uff5e", "\u{1f600}") < 0);
    const set = new SortedSet();
    for (const [m, s] of [
      ["b", 1],
      ["a", 1],
      ["c", 0],
      ["d", 2],
    ] as const)
      set.set(m, s);
    assert.deepEqual(set.ascending(), ["c", "a", "b", "d"]);
    set.trim(2);
    assert.deepEqual(set.ascending(), ["b", "d"]);
    set.addGreater("b", 0.5);
    assert.equal(set.scores.get("b"), 1, "ZADD GT never lowers");
    set.addGreater("b", 3);
    assert.deepEqual(set.ascending(), ["d", "b"]);
    // One or two over the cap with no sorted order at hand (a scan for the lowest): the same members go.
    set.set("a", 2);
    set.set("e", 2);
    set.trim(2);
    assert.deepEqual(set.ascending(), ["e", "b"]);
  });

  test("rank ranges follow ZRANGE's index rules", () => {
    assert.deepEqual(rankRange(5, 0, -1), [0, 4]);
    assert.deepEqual(rankRange(5, 1, 99), [1, 4]);
    assert.deepEqual(rankRange(5, -2, -1), [3, 4]);
    assert.equal(rankRange(5, 4, 2), undefined);
    assert.equal(rankRange(0, 0, -1), undefined);
  });
});
