// The shared express app under stress from outside: unbounded paths must not grow /metrics, and a store that
// is down (a real Postgres address nothing listens on) answers 503 without telling where the store lives.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createHttpApp, listen } from "../core/http/app.ts";
import { ApiKeys } from "../core/http/auth.ts";
import { openDatabase, type Database } from "../core/postgres/database.ts";
import { createKafka } from "../core/kafka/kafka.ts";
import { TEST_KEYS } from "../core/testing/http.ts";
import { eventsRouter } from "../ingest/http/events-router.ts";
import { statusRouter } from "../projectors/status/router.ts";
import { ProjectionStatus } from "../projectors/status/status.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on response fields directly
const json = async (response: Response): Promise<any> => response.json();

// Port 1 on loopback: nothing listens there, so every connection is refused, as during an outage.
const DOWN_URL = "postgres://reckon:secret@127.0.0.1:1/reckon";
let down: Database;
let server: Awaited<ReturnType<typeof listen>>;
let base: string;

before(async () => {
  down = openDatabase(DOWN_URL, { maxConnections: 2 });
  const keys = new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] });
  const status = new ProjectionStatus({
    db: down,
    kafka: createKafka(["127.0.0.1:1"]),
    topic: "reckon.events.unreachable",
    projections: [],
  });
  const app = createHttpApp({
    routers: [
      eventsRouter({ db: down, keys, maxEventAgeMs: 3_600_000, maxClockSkewMs: 300_000 }),
      statusRouter(status, keys),
    ],
    readiness: [{ name: "postgres", check: async () => void (await down.query("SELECT 1")) }],
  });
  server = await listen(app, 0, "127.0.0.1");
  base = `http://127.0.0.1:${server.port}`;
});
after(async () => {
  await server.close();
  await down.close();
});

const auth = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });

describe("a store that is down (issue 16 item 10)", () => {
  test("ingest answers 503 with Retry-After, not 500", async () => {
    const event = {
      event_id: randomUUID(),
      type: "view",
      user_id: "u1",
      item_id: "i1",
      timestamp: new Date().toISOString(),
    };
    const response = await fetch(`${base}/v1/events`, {
      method: "POST",
      headers: auth(TEST_KEYS.write),
      body: JSON.stringify(event),
    });
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("retry-after"), "5");
    assert.deepEqual(await json(response), {
      error: "unavailable",
      message: "a store this request needs is unavailable; retry later",
    });
  });

  test("/v1/status answers 503, not 500", async () => {
    const response = await fetch(`${base}/v1/status`, { headers: auth(TEST_KEYS.read) });
    assert.equal(response.status, 503);
    assert.equal((await json(response)).error, "unavailable");
  });

  test("/readyz names the dependency and keeps its address to the log", async () => {
    const response = await fetch(`${base}/readyz`);
    assert.equal(response.status, 503);
    const text = await response.text();
    assert.deepEqual(JSON.parse(text), {
      status: "not ready",
      checks: [{ name: "postgres", ok: false, error: "postgres is unavailable" }],
    });
    assert.doesNotMatch(text, /127\.0\.0\.1|ECONNREFUSED|5432|:1\b/);
  });
});

describe("/metrics label sets (issue 16 item 8)", () => {
  test("unknown paths, however many, share one route label", async () => {
    for (let i = 0; i < 40; i++) {
      await fetch(`${base}/no/such/path/${randomUUID()}`);
      await fetch(`${base}/also-unknown-${i}`, {
        method: "POST",
        headers: auth(TEST_KEYS.write),
        body: "{not json",
      });
    }
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const routes = new Set(
      [...metrics.matchAll(/^reckon_http_requests_total\{[^}]*route="([^"]*)"/gm)].map((m) => m[1]),
    );
    assert.deepEqual([...routes].sort(), ["/readyz", "/v1/events", "/v1/status", "unmatched"]);
  });
});
