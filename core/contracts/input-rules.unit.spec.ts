import assert from "node:assert/strict";
import { test } from "node:test";
import { checkId, ID_RULE, isValidId } from "./id.ts";
import { isStorableText, TimestampSchema, TIMESTAMP_RULE } from "./text.ts";

test("the id rule counts code points and refuses whitespace, control characters and lone surrogates", () => {
  assert.deepEqual(
    [
      "u_42",
      "ä-ö",
      "😀".repeat(256),
      "😀".repeat(257),
      "x".repeat(257),
      "",
      "a b",
      "a\u0085",
      "\ud800",
      "a\u2028",
    ].map(isValidId),
    [true, true, true, false, false, false, false, false, false, false],
  );
  assert.equal(checkId("userId", "ok"), undefined);
  assert.deepEqual(checkId("itemId", "a b"), { field: "itemId", rule: ID_RULE, received: "a b" });
});

test("storable text has no NUL and no lone surrogate", () => {
  assert.deepEqual(["plain", "😀", "a\u0000", "\ud800", "x\udc00", "\ud83d\ude00"].map(isStorableText), [
    true,
    true,
    false,
    false,
    false,
    true,
  ]);
});

test("timestamps: offsets within ±14:00, years 1900 to 2299", () => {
  const ok = (s: string) => TimestampSchema.safeParse(s).success;
  assert.deepEqual(
    [
      "2026-11-22T11:59:00Z",
      "2026-11-22T11:59:00+14:00",
      "2026-11-22T11:59:00-12:00",
      "2026-11-22T11:59:00+23:59",
      "2026-11-22T11:59:00-14:01",
      "0000-01-01T00:00:00Z",
      "1899-12-31T23:59:59Z",
      "1900-01-01T00:00:00Z",
      "2299-12-31T23:59:59Z",
      "2300-01-01T00:00:00Z",
    ].map(ok),
    [true, true, true, false, false, false, false, true, true, false],
  );
  assert.equal(TimestampSchema.safeParse("yesterday").error?.issues[0]?.message, TIMESTAMP_RULE);
});
