import assert from "node:assert/strict";
import { test } from "node:test";
import { toFieldErrors } from "../../core/contracts/validation.ts";
import { HoldoutDefinitionSchema } from "./definition-schema.ts";

const holdout = {
  key: "h-2026",
  name: "Everything shipped in 2026",
  share: 0.05,
  experiments: ["checkout-button"],
  metrics: [{ key: "purchase-rate", type: "conversion", event_type: "purchase" }],
};

test("a holdout refuses a non-inferiority margin on a metric that is not a guardrail, as an experiment does", () => {
  const input = { ...holdout, metrics: [{ ...holdout.metrics[0], non_inferiority_margin: 0.02 }] };
  const parsed = HoldoutDefinitionSchema.safeParse(input);
  assert.equal(parsed.success, false);
  assert.deepEqual(
    toFieldErrors(parsed.error!, input).map((e) => [e.field, e.rule, e.received]),
    [
      [
        "metrics.0.non_inferiority_margin",
        "non_inferiority_margin applies to guardrail metrics only (set guardrail: true)",
        0.02,
      ],
    ],
  );
  assert.equal(
    HoldoutDefinitionSchema.safeParse({
      ...holdout,
      metrics: [{ ...holdout.metrics[0], guardrail: true, non_inferiority_margin: 0.02 }],
    }).success,
    true,
  );
});

test("a holdout refuses text Postgres cannot store (U+0000), naming the field", () => {
  const input = { ...holdout, metrics: [{ ...holdout.metrics[0], event_type: "pur\u0000chase" }] };
  const parsed = HoldoutDefinitionSchema.safeParse(input);
  assert.equal(parsed.success, false);
  assert.deepEqual(
    toFieldErrors(parsed.error!, input).map((e) => e.field),
    ["metrics.0.event_type"],
  );
});
