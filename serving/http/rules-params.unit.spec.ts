import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRecommendationParams } from "./params.ts";

const parse = (query: Record<string, unknown>) => parseRecommendationParams(query);

test("pins, boosts and buries parse into directives; a bury's factor is the boost's inverse", () => {
  const parsed = parse({
    n: "5",
    pin: ["sku@1@2", "b@5"],
    pin_category: "sale items@1",
    boost: "x^3,y",
    boost_category: "books^1.5",
    bury: "z",
    bury_category: "horror^4",
  });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.params.merchandising, {
    pins: [
      { target: { item: "sku@1" }, position: 2 },
      { target: { item: "b" }, position: 5 },
      { target: { category: "sale items" }, position: 1 },
    ],
    weights: [
      { target: { item: "x" }, factor: 3 },
      { target: { item: "y" }, factor: 2 },
      { target: { category: "books" }, factor: 1.5 },
      { target: { item: "z" }, factor: 0.5 },
      { target: { category: "horror" }, factor: 0.25 },
    ],
  });
  const none = parse({});
  assert.ok(none.ok);
  assert.deepEqual(none.params.merchandising, { pins: [], weights: [] });
});

test("malformed rule parameters are refused naming the field, the rule and the value", () => {
  const parsed = parse({
    pin: ["a@0", "b", "c@201"],
    boost: ["x^1", "y^101", "z^0.5"],
    bury_category: "^2",
  });
  assert.equal(parsed.ok, false);
  if (parsed.ok) return;
  assert.deepEqual(
    parsed.errors.map((e) => [e.field, e.received]),
    [
      ["pin", "a@0"],
      ["pin", "b"],
      ["pin", "c@201"],
      ["boost", "x^1"],
      ["boost", "y^101"],
      ["boost", "z^0.5"],
      ["bury_category", "^2"],
    ],
  );
  assert.equal(
    parsed.errors[0]!.rule,
    "must be ITEM@POSITION (an item id without ',', POSITION an integer from 1 to 200)",
  );
});

test("at most 50 directives per request", () => {
  const parsed = parse({ boost: Array.from({ length: 51 }, (_, i) => `i${i}`) });
  assert.equal(parsed.ok, false);
  if (parsed.ok) return;
  assert.deepEqual(parsed.errors, [
    { field: "boost", rule: "at most 50 pins, boosts and buries per request", received: 51 },
  ]);
});
