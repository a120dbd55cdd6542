import client from "prom-client";
import { registry } from "../../core/metrics.ts";

export const projectorMessages = new client.Counter({
  name: "reckon_projector_messages_total",
  help: "Messages handled by projectors, by outcome (ok, drop, dead_letter, rejected, invalid, erased)",
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

export const projectorIsolations = new client.Counter({
  name: "reckon_projector_isolations_total",
  help: "Batches that kept failing while the store was healthy and were bisected to find the rejected message",
  labelNames: ["projector"] as const,
  registers: [registry],
});

export const projectorRejected = new client.Counter({
  name: "reckon_projector_rejected_total",
  help: "Messages a healthy store kept rejecting, dead-lettered by isolation",
  labelNames: ["projector"] as const,
  registers: [registry],
});

export const projectorStoreUnhealthy = new client.Counter({
  name: "reckon_projector_store_unhealthy_total",
  help: "Health checks after repeated apply failures that found the store down (retried, nothing dead-lettered)",
  labelNames: ["projector"] as const,
  registers: [registry],
});

export const projectorScriptSeconds = new client.Histogram({
  name: "reckon_projector_redis_script_seconds",
  help: "Time one batch script held a single Redis (measured by Redis itself), per projector; kept near RECKON_REDIS_SCRIPT_BUDGET_MS when set",
  labelNames: ["projector"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5],
  registers: [registry],
});

export const projectorStateLosses = new client.Counter({
  name: "reckon_projector_state_losses_total",
  help: "Times a projection's store was found holding an older position than its consumer committed (then rebuilt)",
  labelNames: ["projector"] as const,
  registers: [registry],
});

export const projectorRebuilding = new client.Gauge({
  name: "reckon_projector_rebuilding",
  help: "1 while a projection rebuilds itself from the log after its store lost state",
  labelNames: ["projector"] as const,
  registers: [registry],
});
