// k6 scenario: GET /v1/search at a fixed rate. TARGET=search (words only), personal (with user_id) or lookup
// (the baseline: GET /v1/items/:id, one primary-key lookup in the same app and database).
// Env: BASE_URL, READ_KEY, TARGET, RATE (req/s), DURATION, QUERIES_FILE (JSON: { queries: [], items: [] }),
// USERS (seeded users u0..), VUS.
import http from "k6/http";

const target = __ENV.TARGET || "search";
const users = Number(__ENV.USERS || 1000);
const data = JSON.parse(open(__ENV.QUERIES_FILE));

export const options = {
  discardResponseBodies: true,
  scenarios: {
    search: {
      executor: "constant-arrival-rate",
      rate: Number(__ENV.RATE || 50),
      timeUnit: "1s",
      duration: __ENV.DURATION || "10s",
      preAllocatedVUs: Number(__ENV.VUS || 30),
      maxVUs: Number(__ENV.VUS || 30) * 4,
    },
  },
  summaryTrendStats: ["avg", "med", "p(90)", "p(99)", "max"],
};

http.setResponseCallback(http.expectedStatuses(200));

const params = { headers: { authorization: `Bearer ${__ENV.READ_KEY}` }, tags: { name: target } };

export default function () {
  const i = (Math.random() * data.queries.length) | 0;
  const q = encodeURIComponent(data.queries[i]);
  let url;
  if (target === "lookup") url = `${__ENV.BASE_URL}/v1/items/${data.items[i % data.items.length]}`;
  else if (target === "personal")
    url = `${__ENV.BASE_URL}/v1/search?q=${q}&n=10&user_id=u${(Math.random() * users) | 0}`;
  else url = `${__ENV.BASE_URL}/v1/search?q=${q}&n=10`;
  http.get(url, params);
}
