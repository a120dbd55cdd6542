import { test } from "node:test";
import assert from "node:assert/strict";
import { Gcra } from "./gcra.ts";

test("a fresh key takes the whole limit at once, then one unit per emission interval", () => {
  const bucket = new Gcra({ limit: 4, windowMs: 1000 }); // one unit every 250 ms
  assert.deepEqual(bucket.take("k", 0), { allowed: true, remaining: 3 });
  assert.deepEqual(bucket.take("k", 0), { allowed: true, remaining: 2 });
  assert.deepEqual(bucket.take("k", 0), { allowed: true, remaining: 1 });
  assert.deepEqual(bucket.take("k", 0), { allowed: true, remaining: 0 });
  assert.deepEqual(bucket.take("k", 0), { allowed: false, remaining: 0, retryAfterMs: 250, resetMs: 1000 });
  assert.deepEqual(bucket.take("k", 249), { allowed: false, remaining: 0, retryAfterMs: 1, resetMs: 751 });
  assert.deepEqual(bucket.take("k", 250), { allowed: true, remaining: 0 });
  // Half a second later, two units came back.
  assert.deepEqual(bucket.take("k", 750), { allowed: true, remaining: 1 });
});

test("a cost takes that many units; a refused take costs nothing", () => {
  const bucket = new Gcra({ limit: 1000, windowMs: 1000 });
  assert.deepEqual(bucket.take("k", 0, 600), { allowed: true, remaining: 400 });
  assert.deepEqual(bucket.take("k", 0, 500), {
    allowed: false,
    remaining: 400,
    retryAfterMs: 100,
    resetMs: 600,
  });
  assert.deepEqual(bucket.take("k", 0, 400), { allowed: true, remaining: 0 });
  assert.deepEqual(bucket.take("k", 500, 500), { allowed: true, remaining: 0 });
});

test("a cost above the limit can never fit: retry after Infinity", () => {
  const bucket = new Gcra({ limit: 10, windowMs: 1000 });
  assert.deepEqual(bucket.take("k", 0, 11), {
    allowed: false,
    remaining: 10,
    retryAfterMs: Infinity,
    resetMs: 0,
  });
});

test("keys are independent, and a limit whose interval is not a whole number of ms is exact", () => {
  const bucket = new Gcra({ limit: 3, windowMs: 1000 });
  for (let i = 0; i < 3; i++) assert.equal(bucket.take("a", 0).allowed, true, `take ${i}`);
  assert.equal(bucket.take("a", 0).allowed, false);
  assert.equal(bucket.take("b", 0).allowed, true);
  // 1000 / 3 ms later exactly one unit is back.
  assert.equal(bucket.take("a", 1000 / 3).allowed, true);
  assert.equal(bucket.take("a", 1000 / 3).allowed, false);
});

test("peek answers as take would, without taking", () => {
  const bucket = new Gcra({ limit: 2, windowMs: 60_000 });
  assert.deepEqual(bucket.peek("s", 0), { allowed: true, remaining: 1 });
  bucket.take("s", 0);
  bucket.take("s", 0);
  assert.deepEqual(bucket.peek("s", 0), {
    allowed: false,
    remaining: 0,
    retryAfterMs: 30_000,
    resetMs: 60_000,
  });
  assert.deepEqual(bucket.peek("s", 0), {
    allowed: false,
    remaining: 0,
    retryAfterMs: 30_000,
    resetMs: 60_000,
  });
});

test("past maxKeys, keys whose bucket is full again go first, then the oldest", () => {
  const bucket = new Gcra({ limit: 1, windowMs: 1000 }, 10);
  for (let i = 0; i < 10; i++) bucket.take(`k${i}`, i * 100); // k0 full again at 1000, k5 at 1500 ...
  assert.equal(bucket.size, 10);
  bucket.take("new", 1500); // k0..k5 are full again: dropped
  assert.equal(bucket.size, 5);
  assert.equal(bucket.peek("k6", 1500).allowed, false, "k6 is still mid-window and kept");
  for (let i = 0; i < 5; i++) bucket.take(`m${i}`, 1500);
  assert.equal(bucket.size, 10);
  // Every key is mid-window now: the map shrinks to 90 % (9) by dropping the oldest, k6, then takes "last".
  bucket.take("last", 1500);
  assert.equal(bucket.size, 10);
  assert.equal(bucket.peek("k6", 1500).allowed, true, "k6, the oldest, was forgotten");
  assert.equal(bucket.peek("k7", 1500).allowed, false, "k7 was kept");
  assert.equal(bucket.peek("last", 1500).allowed, false);
});
