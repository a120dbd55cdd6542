// buildPower on fixed statistics. The numbers are those of analytics/stats/power.unit.spec.ts
// (printed by Python's statistics.NormalDist): a 10 % rate, 10,000 users per arm.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExperimentDefinitionSchema } from "../../ingest/experiments/index.ts";
import { assertClose } from "../stats/testing/assert-close.ts";
import { buildPower } from "./power.ts";

const definition = ExperimentDefinitionSchema.parse({
  key: "cta",
  name: "CTA",
  variants: [
    { key: "control", weight: 0.5 },
    { key: "green", weight: 0.5 },
  ],
  control: "control",
  metrics: [{ key: "buy", type: "conversion", event_type: "purchase" }],
});
const statistics = {
  users: { control: 10000, green: 10000 },
  metrics: {
    buy: {
      control: { kind: "proportion" as const, n: 10000, sum: 1000 },
      green: { kind: "proportion" as const, n: 10000, sum: 1100 },
    },
  },
};
// Ten days of traffic: 2,000 users a day.
const window = { from: "2026-01-01T00:00:00.000Z", to: "2026-01-11T00:00:00.000Z" };

describe("buildPower", () => {
  it("MDE at the current users; power, users and days for a planned 5 % lift", () => {
    const p = buildPower(definition, statistics, { window, effect: 0.05 });
    assert.equal(p.users, 20000);
    assert.equal(p.days_observed, 10);
    assert.equal(p.users_per_day, 2000);
    assert.deepEqual([p.alpha, p.sides, p.power, p.effect], [0.05, 2, 0.8, 0.05]);
    const v = p.metrics[0]!.variants[0]!;
    assert.deepEqual(v.users, { control: 10000, variant: 10000 });
    assertClose(v.baseline_mean, 0.1, "baseline");
    assertClose(v.variance, 0.09, "variance p(1 − p)");
    assertClose(v.mde!, 0.12660945998957338, "mde");
    assertClose(v.power_at_effect!, 0.2097526895312274, "power at 5 %");
    assertClose(v.users_needed!, 118816.34141857641, "users needed");
    assertClose(v.days_needed!, (118816.34141857641 - 20000) / 2000, "days needed");
  });

  it("no effect asked: only the MDE", () => {
    const v = buildPower(definition, statistics, { window }).metrics[0]!.variants[0]!;
    assert.deepEqual([v.power_at_effect, v.users_needed, v.days_needed], [null, null, null]);
  });

  it("an arm without users has no MDE rather than NaN", () => {
    const empty = { users: { control: 0, green: 0 }, metrics: {} };
    const v = buildPower(definition, empty, { window, effect: 0.05 }).metrics[0]!.variants[0]!;
    assert.deepEqual([v.mde, v.users_needed, v.days_needed], [null, null, null]);
  });
});
