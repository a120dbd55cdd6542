// The undo ops of the projection-store port (zincrby_drop, incrby_drop, hincrby_drop, zreplace, hreplace; see
// core/projection-store/port.ts) give the same state on every adapter, with exact values: a score, count or field
// taken to 0 or below is no entry, a new neighbour is trimmed to the cap, a replaced set or hash holds only its
// new members, an empty one no key.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Op, OpsMessage } from "../../core/projection-store/port.ts";
import { APPLIED_KEY } from "../../core/read-models/keys.ts";
import { dumpVersion } from "../runtime/testing.ts";
import { PROJECTION_STORES, storeForSuite } from "./testing.ts";

const batches: Op[][] = [
  [
    ["zincrby_drop", "{i:a}:nbrs", "3", "x", "2"],
    ["zincrby_drop", "{i:a}:nbrs", "1", "y", "2"],
    // New, over the cap of 2: the lowest (y) goes.
    ["zincrby_drop", "{i:a}:nbrs", "2", "z", "2"],
    ["incrby_drop", "{i:a}:cnt", "5"],
    ["zreplace", "{u:u}:h", "1", "p", "2", "q"],
    ["pexpire", "{u:u}:h", "60000"],
    ["hincrby_drop", "{i:a}:n", "view", "3"],
    ["hincrby_drop", "{i:a}:n", "click", "1"],
    ["hreplace", "{u:u}:p", "last", "9", "n:view", "2"],
  ],
  [
    ["zincrby_drop", "{i:a}:nbrs", "-2", "z", "2"],
    ["zincrby_drop", "{i:a}:nbrs", "-1", "w", "2"],
    ["incrby_drop", "{i:a}:cnt", "-5"],
    ["zreplace", "{u:u}:h", "5", "r"],
    ["zreplace", "{u:v}:h"],
    ["hincrby_drop", "{i:a}:n", "view", "-1"],
    ["hincrby_drop", "{i:a}:n", "click", "-2"],
    ["hreplace", "{u:u}:p", "n:click", "1"],
    ["hreplace", "{u:v}:p"],
  ],
  [
    ["zincrby_drop", "{i:a}:nbrs", "-3", "x", "2"],
    ["zreplace", "{u:u}:h"],
    ["hincrby_drop", "{i:a}:n", "view", "-2"],
    ["hreplace", "{u:u}:p"],
  ],
];

const expected: Record<string, unknown>[] = [
  {
    "{i:a}:cnt": "5",
    "{i:a}:nbrs": ["z", "2", "x", "3"],
    "{u:u}:h": ["p", "1", "q", "2"],
    "{i:a}:n": { click: "1", view: "3" },
    "{u:u}:p": { last: "9", "n:view": "2" },
  },
  {
    "{i:a}:nbrs": ["x", "3"],
    "{u:u}:h": ["r", "5"],
    "{i:a}:n": { view: "2" },
    "{u:u}:p": { "n:click": "1" },
  },
  {},
];

for (const backend of PROJECTION_STORES)
  describe(`undo ops on ${backend.name}`, () => {
    const suite = storeForSuite(backend);
    after(() => suite.cleanUp());

    test("take back, trim, drop and replace with the same exact results", async () => {
      const store = await suite.store();
      const target = { prefix: suite.prefix("rk_undo_ops"), ns: "r", projection: "recommendations" };
      for (const [n, ops] of batches.entries()) {
        const message: OpsMessage = { position: { transactionId: 7n, position: n + 1 }, ops };
        await store.applyOps(target, "t:0", [message], (part) => [...part]);
        const { [APPLIED_KEY]: _applied, ...dump } = await dumpVersion(store, target.prefix, "r", 1);
        assert.deepEqual(dump, expected[n], `after batch ${n + 1}`);
      }
      // A redelivery of the first batch is skipped by the position guard.
      await store.applyOps(
        target,
        "t:0",
        [{ position: { transactionId: 7n, position: 1 }, ops: batches[0]! }],
        (p) => [...p],
      );
      const { [APPLIED_KEY]: _applied, ...dump } = await dumpVersion(store, target.prefix, "r", 1);
      assert.deepEqual(dump, {});
    });
  });
