import client from "prom-client";

/** One Prometheus registry per process; every role registers its metrics here. */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: "reckon_process_" });

export const httpRequests = new client.Counter({
  name: "reckon_http_requests_total",
  help: "HTTP requests by route, method and status code",
  labelNames: ["route", "method", "status"] as const,
  registers: [registry],
});

export const httpLatency = new client.Histogram({
  name: "reckon_http_request_duration_seconds",
  help: "HTTP request latency by route and method",
  labelNames: ["route", "method"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

export const eventsIngested = new client.Counter({
  name: "reckon_events_total",
  help: "Events received by ingest, by outcome (accepted, duplicate, rejected)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const relayPublished = new client.Counter({
  name: "reckon_relay_published_total",
  help: "Events the relay has published to Kafka",
  registers: [registry],
});

export const relayLag = new client.Gauge({
  name: "reckon_relay_lag_events",
  help: "Committed events not yet published to Kafka (as of the relay's last read)",
  registers: [registry],
});

export const projectorLag = new client.Gauge({
  name: "reckon_projector_lag_events",
  help: "Events in the log not yet projected, per projector",
  labelNames: ["projector"] as const,
  registers: [registry],
});

export const projectorPosition = new client.Gauge({
  name: "reckon_projector_position",
  help: "The log position each projector has passed (the position part of its token)",
  labelNames: ["projector"] as const,
  registers: [registry],
});

export const logHeadPosition = new client.Gauge({
  name: "reckon_log_head_position",
  help: "The newest committed log position visible to readers",
  registers: [registry],
});

export const recommendationsLogged = new client.Counter({
  name: "reckon_recommendations_logged_total",
  help: "Recommendation answers serving recorded in the event log (stored), or dropped because the buffer was full while the log could not be written (dropped)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const recommendationsLogBuffered = new client.Gauge({
  name: "reckon_recommendations_log_buffered",
  help: "Recommendation answers waiting in serving's buffer for their batched write to the event log",
  registers: [registry],
});
