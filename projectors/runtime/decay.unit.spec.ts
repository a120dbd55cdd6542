import { test } from "node:test";
import assert from "node:assert/strict";
import { decayedValue, readWindows, SCALE, windowIncrement, windowIndex, windowTtlMs } from "./decay.ts";
import { versionBase, versionPointerKey, appliedField } from "../../core/read-models/keys.ts";

const HOUR = 3_600_000;
const h = { name: "s", ms: HOUR };

test("an event adds 2^((t − window start)/h) in fixed point to its window", () => {
  assert.equal(windowIndex(h, 9 * HOUR), 2);
  assert.equal(windowIncrement(h, 8 * HOUR), SCALE);
  assert.equal(windowIncrement(h, 9 * HOUR), 2 * SCALE);
  assert.equal(windowIncrement(h, 10 * HOUR, 3), 12 * SCALE);
  assert.equal(windowIncrement(h, 8 * HOUR + HOUR / 2), Math.round(Math.SQRT2 * SCALE));
});

test("decayed value halves every half-life and combines windows exactly", () => {
  const counters = new Map([[2, windowIncrement(h, 9 * HOUR)]]);
  assert.equal(decayedValue(h, counters, 9 * HOUR), 1);
  assert.equal(decayedValue(h, counters, 10 * HOUR), 0.5);
  assert.equal(decayedValue(h, counters, 12 * HOUR), 0.125);
  // One event per window: at 13h, the 5h event weighs 2^-8 and the 13h event 1.
  const two = new Map([
    [1, windowIncrement(h, 5 * HOUR)],
    [3, windowIncrement(h, 13 * HOUR)],
  ]);
  assert.equal(decayedValue(h, two, 13 * HOUR), 1 + 2 ** -8);
});

test("increments are integers, so any order of addition gives the same counter", () => {
  const times = [8 * HOUR + 1, 9 * HOUR + 12345, 11 * HOUR + 999_999, 10 * HOUR + 7];
  const incs = times.map((t) => windowIncrement(h, t, 2));
  for (const v of incs) assert.ok(Number.isInteger(v));
  assert.equal(
    incs.reduce((a, b) => a + b),
    [...incs].reverse().reduce((a, b) => a + b),
  );
});

test("readers combine the current and two older windows; windows live until no longer read", () => {
  assert.deepEqual(readWindows(h, 13 * HOUR), [3, 2, 1]);
  assert.equal(windowTtlMs(h, 3, 13 * HOUR, 1000), 24 * HOUR - 13 * HOUR);
  assert.equal(windowTtlMs(h, 0, 100 * HOUR, 1000), 1000);
});

test("key names carry prefix, namespace, version and a hash tag", () => {
  assert.equal(versionBase("rk", "f", 3) + "{u:42}:recent", "rk:f:v3:{u:42}:recent");
  assert.equal(versionPointerKey("rk", "features"), "rk:projection:features:version");
  assert.equal(appliedField("reckon.events.v1", 2), "reckon.events.v1:2");
});
