// A small hand-built experiment whose every sufficient statistic is worked out by hand in
// experiment-stats.int.spec.ts. Shared by the query, SQL-file and projection tests.
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { ExperimentDefinitionSchema, type ExperimentDefinition } from "../../ingest/experiments/index.ts";

const HOUR = 3_600_000;
/** Exposures start at T0; the analysis runs at T0 + 216 h (2024-03-10T00:00Z). */
export const T0 = Date.parse("2024-03-01T00:00:00.000Z");
export const NOW = new Date(T0 + 216 * HOUR);

export const FIXTURE_EXPERIMENT: ExperimentDefinition = ExperimentDefinitionSchema.parse({
  key: "checkout-test",
  name: "Checkout test",
  variants: [
    { key: "control", weight: 0.5 },
    { key: "treatment", weight: 0.5 },
  ],
  control: "control",
  metrics: [
    { key: "converted", type: "conversion", event_type: "purchase", window_hours: 24 },
    { key: "revenue", type: "mean", event_type: "purchase", capping: { type: "absolute", value: 50 } },
    {
      key: "ctr",
      type: "ratio",
      numerator: { event_type: "click", value: "count" },
      denominator: { event_type: "view", value: "count" },
      window_hours: 48,
    },
    {
      key: "revenue_p50",
      type: "mean",
      event_type: "purchase",
      window_hours: 24,
      capping: { type: "percentile", value: 0.5 },
    },
  ],
});

let sequence = 0;

function id(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

interface Spec {
  user: string;
  type: string;
  hours: number;
  value?: number;
  variant?: string;
  experiment?: string;
  device?: string;
}

function event(spec: Spec): InteractionEvent {
  sequence += 1;
  const e: InteractionEvent = {
    event_id: id(sequence),
    type: spec.type,
    user_id: spec.user,
    timestamp: new Date(T0 + spec.hours * HOUR).toISOString(),
  };
  if (spec.type !== "exposure") e.item_id = "item-1";
  if (spec.value !== undefined) e.value = spec.value;
  if (spec.variant !== undefined)
    e.experiment = { key: spec.experiment ?? FIXTURE_EXPERIMENT.key, variant: spec.variant };
  if (spec.device !== undefined) e.context = { device: spec.device };
  return e;
}

/**
 * Two batches: the second carries u6's earlier exposure (6 h) after its later one (8 h), and u1's later
 * exposure to the other variant, so first-exposure logic is tested against out-of-order delivery.
 */
export function fixtureEvents(): InteractionEvent[][] {
  sequence = 0;
  const first: Spec[] = [
    // control
    { user: "u1", type: "exposure", hours: 1, variant: "control", device: "mobile" },
    { user: "u1", type: "purchase", hours: 2, value: 30 },
    { user: "u1", type: "purchase", hours: 30, value: 100 },
    { user: "u1", type: "purchase", hours: -5, value: 10 },
    { user: "u1", type: "click", hours: 3 },
    { user: "u1", type: "click", hours: 3.5 },
    { user: "u1", type: "view", hours: 2 },
    { user: "u1", type: "view", hours: 2.1 },
    { user: "u1", type: "view", hours: 2.2 },
    { user: "u2", type: "exposure", hours: 2, variant: "control", device: "desktop" },
    { user: "u3", type: "exposure", hours: 10, variant: "control", device: "mobile" },
    { user: "u3", type: "purchase", hours: 40, value: 20 },
    { user: "u3", type: "purchase", hours: 9, value: 5 },
    { user: "u3", type: "view", hours: 11 },
    // treatment
    { user: "u4", type: "exposure", hours: 1, variant: "treatment", device: "mobile" },
    { user: "u4", type: "purchase", hours: 1, value: 60 },
    { user: "u4", type: "purchase", hours: 20, value: 70 },
    { user: "u4", type: "purchase", hours: 300, value: 999 },
    { user: "u4", type: "view", hours: 2 },
    { user: "u4", type: "view", hours: 2.5 },
    { user: "u4", type: "click", hours: 2 },
    { user: "u5", type: "exposure", hours: 5, variant: "treatment", device: "desktop" },
    { user: "u5", type: "purchase", hours: 4, value: 15 },
    { user: "u5", type: "click", hours: 100 },
    { user: "u5", type: "view", hours: 6 },
    { user: "u6", type: "exposure", hours: 8, variant: "treatment", device: "mobile" },
    { user: "u6", type: "purchase", hours: 7, value: 40 },
    // another experiment: must not leak in
    { user: "u7", type: "exposure", hours: 1, variant: "control", experiment: "other-test" },
    { user: "u7", type: "purchase", hours: 2, value: 500 },
  ];
  const second: Spec[] = [
    { user: "u6", type: "exposure", hours: 6, variant: "treatment", device: "tablet" },
    { user: "u1", type: "exposure", hours: 3, variant: "treatment", device: "desktop" },
  ];
  return [first.map(event), second.map(event)];
}

/** The fixture as log messages in batches, positions in log order. */
export function fixtureLogMessages(): LogMessage[][] {
  let position = 0;
  return fixtureEvents().map((batch) =>
    batch.map((e) => {
      position += 1;
      return {
        kind: "interaction" as const,
        position,
        transaction_id: String(1000 + position),
        received_at: new Date(T0 + 400 * HOUR).toISOString(),
        event: e,
      };
    }),
  );
}
