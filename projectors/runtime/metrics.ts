import client from "prom-client";
import { registry } from "../../core/metrics.ts";

export const projectorMessages = new client.Counter({
  name: "reckon_projector_messages_total",
  help: "Messages handled by projectors, by outcome (ok, drop, dead_letter, invalid)",
  labelNames: ["projector", "outcome"] as const,
  registers: [registry],
});

export const projectorApplyRetries = new client.Counter({
  name: "reckon_projector_apply_retries_total",
  help: "Batches whose apply failed (store unavailable) and was retried",
  labelNames: ["projector"] as const,
  registers: [registry],
});

export const projectorBatchSeconds = new client.Histogram({
  name: "reckon_projector_batch_duration_seconds",
  help: "Time to apply one partition batch, per projector",
  labelNames: ["projector"] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});
