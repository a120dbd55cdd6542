import { test } from "node:test";
import assert from "node:assert/strict";
import { outcomeOfStatus } from "./audit-command.ts";
import { chooseRequestId } from "../http/request-id.ts";

test("an answer's status says how the command ended", () => {
  assert.deepEqual([200, 201, 304, 400, 404, 409, 429, 499, 500, 503].map(outcomeOfStatus), [
    "ok",
    "ok",
    "ok",
    "refused",
    "refused",
    "refused",
    "refused",
    "refused",
    "failed",
    "failed",
  ]);
});

test("a caller's request id is kept when well formed, else a UUID is generated", () => {
  assert.equal(chooseRequestId("abc-123_X.y:z"), "abc-123_X.y:z");
  assert.equal(chooseRequestId("x".repeat(128)), "x".repeat(128));
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  for (const bad of [undefined, "", "two words", "x".repeat(129), "line\nbreak", "é"])
    assert.match(chooseRequestId(bad), uuid, String(bad));
});
