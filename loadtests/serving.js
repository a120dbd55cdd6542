// k6 scenario: GET /v1/recommendations/:user (TARGET=recs) or the static GET /v1/ping (TARGET=ping) at a fixed rate.
// Env: BASE_URL, READ_KEY, TARGET=recs|ping, RATE (req/s), DURATION (e.g. 10s), USERS (seeded users), VUS.
import http from "k6/http";
import { check } from "k6";

const target = __ENV.TARGET || "recs";
const users = Number(__ENV.USERS || 1000);

export const options = {
  discardResponseBodies: true,
  scenarios: {
    serving: {
      executor: "constant-arrival-rate",
      rate: Number(__ENV.RATE || 100),
      timeUnit: "1s",
      duration: __ENV.DURATION || "10s",
      preAllocatedVUs: Number(__ENV.VUS || 50),
      maxVUs: Number(__ENV.VUS || 50) * 4,
    },
  },
  summaryTrendStats: ["avg", "med", "p(90)", "p(99)", "p(99.9)", "max"],
};

const params = { headers: { authorization: `Bearer ${__ENV.READ_KEY}` } };

export default function () {
  // One request in ten is for a user Reckon has never seen (cold start path).
  const user = Math.random() < 0.1 ? `new${(Math.random() * 1e6) | 0}` : `u${(Math.random() * users) | 0}`;
  const url =
    target === "ping" ? `${__ENV.BASE_URL}/v1/ping` : `${__ENV.BASE_URL}/v1/recommendations/${user}?n=10`;
  const res = http.get(url, params);
  check(res, { "status 200": (r) => r.status === 200 });
}
