import { test } from "node:test";
import assert from "node:assert/strict";
import { servingConfigFromEnv } from "./config.ts";

test("the fast path is on unless RECKON_HTTP_FAST_PATH=0; user lists kept default to 10,000", () => {
  const defaults = servingConfigFromEnv({});
  assert.equal(defaults.httpFastPath, true);
  assert.equal(defaults.userListCacheEntries, 10_000);
  assert.equal(servingConfigFromEnv({ RECKON_HTTP_FAST_PATH: "0" }).httpFastPath, false);
  assert.equal(servingConfigFromEnv({ RECKON_HTTP_FAST_PATH: "1" }).httpFastPath, true);
  assert.equal(servingConfigFromEnv({ RECKON_SERVING_USER_LISTS: "0" }).userListCacheEntries, 0);
  assert.throws(
    () => servingConfigFromEnv({ RECKON_SERVING_USER_LISTS: "-1" }),
    /RECKON_SERVING_USER_LISTS: must be a number ≥ 0 \(received "-1"\)/,
  );
});
