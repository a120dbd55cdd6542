import { test } from "node:test";
import assert from "node:assert/strict";
import { TEXT_RULE } from "../../core/contracts/text.ts";
import { parseSearchParams } from "./params.ts";

test("text Postgres cannot store (U+0000, a lone surrogate) is refused in q, category and attr.KEY=VALUE", () => {
  const parsed = parseSearchParams({
    q: "lamp\u0000",
    category: ["ok", "bad\u0000"],
    "attr.colour": "\ud800red",
    "attr.si\u0000ze": "m",
  });
  assert.deepEqual(parsed, {
    ok: false,
    errors: [
      { field: "attr.colour", rule: TEXT_RULE, received: "\ud800red" },
      { field: "attr.si\u0000ze", rule: TEXT_RULE, received: "attr.si\u0000ze" },
      { field: "q", rule: TEXT_RULE, received: "lamp\u0000" },
      { field: "category", rule: TEXT_RULE, received: "bad\u0000" },
    ],
  });
});

test("well-formed text passes: categories split on commas, attributes kept as pairs", () => {
  const parsed = parseSearchParams({ q: "lámpara", category: "home, garden", "attr.colour": "red" });
  assert.deepEqual(parsed, {
    ok: true,
    params: {
      q: "lámpara",
      categories: ["home", "garden"],
      attributes: [["colour", "red"]],
      available: true,
      n: 10,
    },
  });
});
