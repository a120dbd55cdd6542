// Correction scopes from events to results: the same users exposed to six three-arm experiments that
// differ only in `correction` (holm, bh) and `analysis.correction_scope` (all, metric, variant). The
// adjusted p-values the results API shows are checked against Holm and Benjamini–Hochberg computed
// here, by a plain implementation, over the families each scope defines, from the unadjusted
// p-values of the same response.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertClose } from "../stats/testing/assert-close.ts";
import {
  createAndStart,
  openExperimentStack,
  postEvents,
  pumpLogIntoClickHouse,
  purchase,
  T0,
  uuid,
} from "./testing.ts";

type Stack = Awaited<ReturnType<typeof openExperimentStack>>;
type Correction = "holm" | "bh";
type Scope = "all" | "metric" | "variant";

const HOUR = 3_600_000;
const USERS = 600;
const ARMS = ["control", "t1", "t2"] as const;
const NON_GUARDRAIL = ["purchase-rate", "revenue", "view-rate"] as const;

const experiments: { key: string; correction: Correction; scope: Scope }[] = (
  ["holm", "bh"] as const
).flatMap((correction) =>
  (["all", "metric", "variant"] as const).map((scope) => ({
    key: `scope-${correction}-${scope}`,
    correction,
    scope,
  })),
);

const definition = (key: string, correction: Correction, scope: Scope) => ({
  key,
  name: `Correction ${correction} over ${scope}`,
  variants: [
    { key: "control", weight: 0.34 },
    { key: "t1", weight: 0.33 },
    { key: "t2", weight: 0.33 },
  ],
  control: "control",
  correction,
  analysis: { correction_scope: scope },
  metrics: [
    { key: "purchase-rate", type: "conversion", event_type: "purchase" },
    { key: "revenue", type: "mean", event_type: "purchase" },
    { key: "view-rate", type: "conversion", event_type: "view" },
    // A guardrail is read on its own: it stays out of every family and keeps its raw p-value.
    { key: "revenue-guard", type: "mean", event_type: "purchase", guardrail: true },
  ],
});

let stack: Stack;
before(async () => {
  stack = await openExperimentStack();
  for (const e of experiments)
    await createAndStart(stack.api, definition(e.key, e.correction, e.scope), e.key);
  // User i is in arm i mod 3 of every experiment. Purchases: control 1 in 5, t1 1 in 3, t2 1 in 4;
  // views: control 1 in 2, t1 1 in 2, t2 3 in 5. Different strengths, so the p-values differ.
  const events: unknown[] = [];
  const every: Record<(typeof ARMS)[number], [number, number]> = { control: [5, 2], t1: [3, 2], t2: [4, 5] };
  for (let i = 0; i < USERS; i++) {
    const arm = ARMS[i % 3]!;
    const user = `cs-user-${i}`;
    const k = Math.floor(i / 3);
    experiments.forEach((e, n) =>
      events.push({
        event_id: uuid(700_000 + n * 10_000 + i),
        type: "exposure",
        user_id: user,
        timestamp: new Date(T0).toISOString(),
        experiment: { key: e.key, variant: arm },
      }),
    );
    const [purchaseEvery, viewEvery] = every[arm];
    if (k % purchaseEvery === 0) events.push(purchase(user, 800_000 + i, 10 + (k % 9)));
    const views = arm === "t2" ? k % 5 < 3 : k % viewEvery === 0;
    if (views) {
      events.push({
        event_id: uuid(900_000 + i),
        type: "view",
        user_id: user,
        item_id: "item-1",
        timestamp: new Date(T0 + HOUR).toISOString(),
      });
    }
  }
  stack.setClock(T0 + 2 * HOUR);
  await postEvents(stack.api, events);
  await pumpLogIntoClickHouse(stack.db, stack.clickhouse);
  stack.setClock(T0 + 48 * HOUR);
});
after(async () => {
  await stack?.close();
});

interface Decision {
  p_value: number;
  adjusted_p_value: number;
}
interface ResultsBody {
  analysis: { correction_scope: Scope };
  correction: Correction;
  metrics: {
    key: string;
    variants: { variant: string; relative: { p_value: number }; decision: Decision }[];
  }[];
}

async function results(key: string): Promise<ResultsBody> {
  const res = await stack.api.call("GET", `/v1/experiments/${key}/results?cumulative=false`, {
    scope: "read",
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as ResultsBody;
}

/** metric key → variant key → the decision's raw and adjusted p-values. */
function decisions(body: ResultsBody): Map<string, Map<string, Decision>> {
  return new Map(
    body.metrics.map((m) => [m.key, new Map(m.variants.map((v) => [v.variant, v.decision]))] as const),
  );
}

// Plain implementations, written from the definitions rather than the library's running max/min:
// Holm: the i-th smallest p (1-based) times (m − i + 1), then the largest such value among the first
// i, capped at 1. BH: the i-th smallest times m / i, then the smallest such value among ranks ≥ i.
function holm(ps: readonly number[]): number[] {
  const m = ps.length;
  const sorted = [...ps].sort((a, b) => a - b);
  const scaled = sorted.map((p, i) => Math.min(1, p * (m - i)));
  return ps.map((p) => {
    const rank = sorted.indexOf(p);
    return Math.max(...scaled.slice(0, rank + 1));
  });
}
function benjaminiHochberg(ps: readonly number[]): number[] {
  const m = ps.length;
  const sorted = [...ps].sort((a, b) => a - b);
  const scaled = sorted.map((p, i) => Math.min(1, (p * m) / (i + 1)));
  return ps.map((p) => {
    const rank = sorted.lastIndexOf(p);
    return Math.min(...scaled.slice(rank));
  });
}

/** The families a scope defines over the non-guardrail metric × treatment pairs, as [metric, variant] lists. */
function families(scope: Scope): [string, string][][] {
  const pairs = NON_GUARDRAIL.flatMap((m) => (["t1", "t2"] as const).map((v) => [m, v] as [string, string]));
  if (scope === "all") return [pairs];
  if (scope === "metric") return NON_GUARDRAIL.map((m) => pairs.filter(([pm]) => pm === m));
  return (["t1", "t2"] as const).map((v) => pairs.filter(([, pv]) => pv === v));
}

describe("correction scopes end to end", () => {
  it("every experiment sees the same unadjusted p-values, all distinct, from the same users", async () => {
    const bodies = await Promise.all(experiments.map((e) => results(e.key)));
    const raw = (body: ResultsBody) =>
      body.metrics.flatMap((m) => m.variants.map((v) => `${m.key}/${v.variant}=${v.decision.p_value}`));
    for (const body of bodies.slice(1)) assert.deepEqual(raw(body), raw(bodies[0]!));
    // Fixed-horizon two-sided: the decision's p is the relative Welch test's.
    for (const m of bodies[0]!.metrics)
      for (const v of m.variants) assert.equal(v.decision.p_value, v.relative.p_value);
    const ps = bodies[0]!.metrics
      .filter((m) => m.key !== "revenue-guard")
      .flatMap((m) => m.variants.map((v) => v.decision.p_value));
    assert.equal(new Set(ps).size, 6, `six distinct p-values: ${ps.join(", ")}`);
  });

  for (const e of experiments) {
    it(`${e.correction} over scope ${e.scope}: adjusted p-values are the family's correction`, async () => {
      const body = await results(e.key);
      assert.equal(body.correction, e.correction);
      assert.equal(body.analysis.correction_scope, e.scope);
      const byMetric = decisions(body);
      const adjust = e.correction === "holm" ? holm : benjaminiHochberg;
      for (const family of families(e.scope)) {
        const members = family.map(([m, v]) => byMetric.get(m)!.get(v)!);
        const expected = adjust(members.map((d) => d.p_value));
        members.forEach((d, i) =>
          assertClose(d.adjusted_p_value, expected[i]!, `${family[i]!.join("/")}`, 1e-12),
        );
      }
      for (const d of byMetric.get("revenue-guard")!.values()) assert.equal(d.adjusted_p_value, d.p_value);
    });
  }

  it("worked by hand: Holm per metric is 2·min and max(2·min, max) within each metric's two variants", async () => {
    const byMetric = decisions(await results("scope-holm-metric"));
    for (const metric of NON_GUARDRAIL) {
      const t1 = byMetric.get(metric)!.get("t1")!;
      const t2 = byMetric.get(metric)!.get("t2")!;
      const [low, high] = t1.p_value <= t2.p_value ? [t1, t2] : [t2, t1];
      // m = 2: the smaller p is doubled; the larger keeps its value unless the doubled smaller exceeds it.
      assertClose(low.adjusted_p_value, Math.min(1, 2 * low.p_value), `${metric} smaller`, 1e-12);
      assertClose(
        high.adjusted_p_value,
        Math.max(Math.min(1, 2 * low.p_value), high.p_value),
        `${metric} larger`,
        1e-12,
      );
    }
  });

  it("worked by hand: BH per variant over three metrics is p₍₃₎, min(p₍₃₎, 3/2·p₍₂₎), min(that, 3·p₍₁₎)", async () => {
    const byMetric = decisions(await results("scope-bh-variant"));
    for (const variant of ["t1", "t2"]) {
      const [p1, p2, p3] = NON_GUARDRAIL.map((m) => byMetric.get(m)!.get(variant)!).sort(
        (a, b) => a.p_value - b.p_value,
      );
      const third = p3!.p_value;
      const second = Math.min(third, 1.5 * p2!.p_value);
      const first = Math.min(second, 3 * p1!.p_value);
      assertClose(p3!.adjusted_p_value, third, `${variant} largest`, 1e-12);
      assertClose(p2!.adjusted_p_value, second, `${variant} middle`, 1e-12);
      assertClose(p1!.adjusted_p_value, first, `${variant} smallest`, 1e-12);
    }
  });

  // Holm's multiplier m − i + 1 counts the family's larger p-values, so a sub-family never adjusts more;
  // BH has no such order (its m / i can grow in a sub-family), so only the difference is asserted there.
  it("the scopes differ from scope all; under Holm a smaller family never adjusts more than the whole", async () => {
    for (const correction of ["holm", "bh"] as const) {
      const all = decisions(await results(`scope-${correction}-all`));
      for (const scope of ["metric", "variant"] as const) {
        const scoped = decisions(await results(`scope-${correction}-${scope}`));
        let differ = 0;
        for (const m of NON_GUARDRAIL) {
          for (const v of ["t1", "t2"]) {
            const a = all.get(m)!.get(v)!.adjusted_p_value;
            const s = scoped.get(m)!.get(v)!.adjusted_p_value;
            if (correction === "holm")
              assert.ok(s <= a + 1e-15, `${correction}/${scope} ${m}/${v}: ${s} > ${a}`);
            if (Math.abs(s - a) > 1e-12) differ += 1;
          }
        }
        assert.ok(differ > 0, `${correction}/${scope} adjusts some p-value differently from scope all`);
      }
    }
  });
});
