import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { loadEnv } from "../core/config/env.ts";
import { createKafka } from "../core/kafka/kafka.ts";
import { createTestDatabase, stackEnv, uniqueName } from "../core/testing/stack.ts";
import { TEST_KEYS } from "../core/testing/http.ts";
import { openResources, startPlatform } from "./platform.ts";

/**
 * The projectors role on RECKON_LOG_TRANSPORT=postgres: events ingested in the same process reach the read
 * models through the Postgres tail, /v1/status reports the write's position, and Kafka is never touched (the
 * events topic is not created).
 */
test("the projectors role projects through the Postgres tail when RECKON_LOG_TRANSPORT=postgres", async () => {
  const tdb = await createTestDatabase();
  const storeDir = mkdtempSync(path.join(os.tmpdir(), "reckon-tail-role-"));
  const topic = uniqueName("tail_role_events");
  const env = loadEnv({
    DATABASE_URL: tdb.url,
    KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
    KAFKA_EVENTS_TOPIC: topic,
    RECKON_LOG_TRANSPORT: "postgres",
    REDIS_URL: `memory://${storeDir}`,
    RECKON_PROJECTIONS: "features,recommendations",
    RECKON_READ_KEYS: TEST_KEYS.read,
    RECKON_WRITE_KEYS: TEST_KEYS.write,
    PORT: "0",
    HOST: "127.0.0.1",
  });
  const resources = await openResources(env);
  try {
    assert.equal(resources.logTransport().kind, "postgres");
    const platform = await startPlatform(resources, ["ingest", "projectors"]);
    try {
      const base = `http://127.0.0.1:${platform.port}`;
      const written = await fetch(`${base}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_KEYS.write}`, "content-type": "application/json" },
        body: JSON.stringify({
          event_id: randomUUID(),
          type: "view",
          user_id: "u1",
          item_id: "i1",
          timestamp: new Date().toISOString(),
        }),
      });
      assert.equal(written.status, 200);
      const { position } = (await written.json()) as { position: string };
      const deadline = Date.now() + 60_000;
      for (;;) {
        const response = await fetch(`${base}/v1/status`, {
          headers: { authorization: `Bearer ${TEST_KEYS.read}` },
        });
        assert.equal(response.status, 200);
        const status = (await response.json()) as {
          head: string;
          projectors: { name: string; position: string }[];
        };
        if (status.projectors.every((p) => p.position === position)) {
          assert.equal(status.head, position);
          assert.deepEqual(status.projectors.map((p) => p.name).sort(), ["features", "recommendations"]);
          break;
        }
        if (Date.now() > deadline)
          throw new Error(`projectors never reached ${position}: ${JSON.stringify(status)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
    } finally {
      await platform.stop();
    }
    const admin = createKafka(stackEnv().KAFKA_BROKERS, "tail-role-test").admin();
    await admin.connect();
    try {
      assert.equal(
        (await admin.listTopics()).includes(topic),
        false,
        "the tail never creates the Kafka topic",
      );
    } finally {
      await admin.disconnect();
    }
  } finally {
    await resources.close();
    await tdb.drop();
    rmSync(storeDir, { recursive: true, force: true });
  }
});
