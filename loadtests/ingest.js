// k6 scenario: batches of 100–500 events to POST /v1/events.
// Env: BASE_URL, WRITE_KEY, MODE=max|rate, DURATION (e.g. 30s), VUS, RATE (batches/s for MODE=rate), BATCH (fixed size).
import http from "k6/http";
import { check } from "k6";

const mode = __ENV.MODE || "max";
const duration = __ENV.DURATION || "30s";

export const options = {
  discardResponseBodies: false,
  scenarios:
    mode === "rate"
      ? {
          ingest: {
            executor: "constant-arrival-rate",
            rate: Number(__ENV.RATE || 10),
            timeUnit: "1s",
            duration,
            preAllocatedVUs: Number(__ENV.VUS || 16),
            maxVUs: Number(__ENV.VUS || 16) * 4,
          },
        }
      : { ingest: { executor: "constant-vus", vus: Number(__ENV.VUS || 8), duration } },
  summaryTrendStats: ["avg", "min", "med", "p(90)", "p(99)", "max"],
};

const TYPES = ["view", "view", "view", "click", "add_to_cart", "purchase"];

function uuid() {
  const h = "0123456789abcdef";
  let s = "";
  for (let i = 0; i < 32; i++) s += h[(Math.random() * 16) | 0];
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-a${s.slice(17, 20)}-${s.slice(20, 32)}`;
}

export default function () {
  const size = __ENV.BATCH ? Number(__ENV.BATCH) : 100 + Math.floor(Math.random() * 401);
  const now = new Date().toISOString();
  const events = [];
  for (let i = 0; i < size; i++) {
    const type = TYPES[(Math.random() * TYPES.length) | 0];
    events.push({
      event_id: uuid(),
      type,
      user_id: `u${(Math.random() * 50000) | 0}`,
      item_id: `i${(Math.random() * 5000) | 0}`,
      timestamp: now,
      ...(type === "purchase" ? { value: Math.round(Math.random() * 10000) / 100 } : {}),
      context: { device: "web", country: "DE" },
    });
  }
  const res = http.post(`${__ENV.BASE_URL}/v1/events`, JSON.stringify({ events }), {
    headers: { "content-type": "application/json", authorization: `Bearer ${__ENV.WRITE_KEY}` },
  });
  check(res, { 200: (r) => r.status === 200 });
  if (res.status === 200) acceptedEvents.add(JSON.parse(res.body).accepted);
}

import { Counter } from "k6/metrics";
const acceptedEvents = new Counter("accepted_events");
