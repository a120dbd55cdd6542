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
// Load generation must stay cheap: k6's JavaScript engine shares the 2 cores with the server under test, so
// event ids are unique counters formatted as UUIDs and bodies are assembled as strings, not objects.
const RUN = Math.floor(Math.random() * 0xffffffff)
  .toString(16)
  .padStart(8, "0");
let sequence = 0;
function uuid() {
  sequence++;
  const vu = (__VU % 0x10000).toString(16).padStart(4, "0");
  return `${RUN}-${vu}-4000-8000-${sequence.toString(16).padStart(12, "0")}`;
}

export default function () {
  const size = __ENV.BATCH ? Number(__ENV.BATCH) : 100 + Math.floor(Math.random() * 401);
  const now = new Date().toISOString();
  const parts = new Array(size);
  for (let i = 0; i < size; i++) {
    const type = TYPES[(Math.random() * TYPES.length) | 0];
    const value = type === "purchase" ? `,"value":${Math.round(Math.random() * 10000) / 100}` : "";
    parts[i] =
      `{"event_id":"${uuid()}","type":"${type}","user_id":"u${(Math.random() * 50000) | 0}",` +
      `"item_id":"i${(Math.random() * 5000) | 0}","timestamp":"${now}"${value},` +
      `"context":{"device":"web","country":"DE"}}`;
  }
  const res = http.post(`${__ENV.BASE_URL}/v1/events`, `{"events":[${parts.join(",")}]}`, {
    headers: { "content-type": "application/json", authorization: `Bearer ${__ENV.WRITE_KEY}` },
  });
  check(res, { 200: (r) => r.status === 200 });
  // The answer lists every event; reading only the count keeps the generator's CPU for the server.
  const accepted = res.status === 200 ? /"accepted":(\d+)/.exec(res.body) : null;
  if (accepted) acceptedEvents.add(Number(accepted[1]));
}

import { Counter } from "k6/metrics";
const acceptedEvents = new Counter("accepted_events");
