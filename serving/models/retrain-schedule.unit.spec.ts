import { test } from "node:test";
import assert from "node:assert/strict";
import { shouldActivate } from "./retrain-schedule.ts";

const m = (auc: number) => ({ auc, group_accuracy: 0.5 });

test("a retrained model replaces the active one only when it ranks the held-out slice better", () => {
  assert.equal(shouldActivate({ new: m(0.71) }), true, "nothing active yet");
  assert.equal(shouldActivate({ new: m(0.71), active: { ...m(0.7), version: 3 } }), true);
  assert.equal(
    shouldActivate({ new: m(0.7), active: { ...m(0.7), version: 3 } }),
    false,
    "a tie keeps the active",
  );
  assert.equal(shouldActivate({ new: m(0.69), active: { ...m(0.7), version: 3 } }), false);
  assert.equal(shouldActivate({ new: m(Number.NaN) }), false, "an unevaluable model is never activated");
  assert.equal(shouldActivate({ new: m(0.6), active: { ...m(Number.NaN), version: 2 } }), true);
});

test("a retrained model must also beat the heuristic that ranks when no model is active", () => {
  assert.equal(shouldActivate({ new: m(0.71), heuristic: m(0.75) }), false);
  assert.equal(shouldActivate({ new: m(0.76), heuristic: m(0.75) }), true);
  assert.equal(
    shouldActivate({ new: m(0.76), heuristic: m(0.75), active: { ...m(0.8), version: 4 } }),
    false,
  );
});
