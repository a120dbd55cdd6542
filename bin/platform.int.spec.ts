import assert from "node:assert/strict";
import { test } from "node:test";
import { loadEnv } from "../core/config/env.ts";
import { createTestDatabase, stackEnv, uniqueName } from "../core/testing/stack.ts";
import { openResources, startPlatform } from "./platform.ts";

/**
 * A process running only a role without routes (here the relay) still serves health, readiness and metrics on
 * PORT: container health checks, Kubernetes probes and Prometheus scrapes reach every process the same way.
 */
test("a relay-only process answers /healthz, /readyz and /metrics", async () => {
  const tdb = await createTestDatabase();
  const env = loadEnv({
    DATABASE_URL: tdb.url,
    KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
    KAFKA_EVENTS_TOPIC: uniqueName("platform_events"),
    PORT: "0",
    HOST: "127.0.0.1",
  });
  const resources = await openResources(env);
  try {
    const platform = await startPlatform(resources, ["relay"]);
    try {
      const base = `http://127.0.0.1:${platform.port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^# TYPE reckon_relay_\w+/m);
      assert.equal((await fetch(`${base}/v1/events`, { method: "POST" })).status, 404);
    } finally {
      await platform.stop();
    }
  } finally {
    await resources.close();
    await tdb.drop();
  }
});
