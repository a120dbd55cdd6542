import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { TEST_KEYS } from "../core/testing/http.ts";
import { createTestDatabase, stackEnv, uniqueName } from "../core/testing/stack.ts";
import {
  readScenario,
  writeScenario,
  type Answers,
  type PlatformTarget,
} from "../core/testing/platform-scenario.ts";
import { startReckonProcess, type ReckonProcess } from "../core/testing/reckon-process.ts";

/**
 * The same input gives the same answers on the embedded stores (PGlite, the Postgres tail, memory://, chdb) and on
 * the servers (Postgres, Kafka, Redis; chdb in both): experiment statistics, ClickHouse counts, recommendation
 * lists (warm and cold users: items, order and scores), similar items, decayed affinities and item popularity.
 * One scenario, driven through the HTTP API into two `reckon start` processes one after the other, both with
 * business time fixed at the same instant (RECKON_FIXED_CLOCK), since decayed scores depend on when they are read.
 */
const work = mkdtempSync(path.join(tmpdir(), "reckon-modes-agree-"));
after(() => rmSync(work, { recursive: true, force: true }));

const PASSWORD = "modes-agree-clickhouse-password";
// Business time of both runs (the scenario's events precede it by up to about 30 hours).
const CLOCK_MS = Math.floor(Date.now() / 1000) * 1000;
const common = {
  RECKON_FIXED_CLOCK: new Date(CLOCK_MS).toISOString(),
  PORT: "0",
  HOST: "127.0.0.1",
  CLICKHOUSE_HTTP_PORT: "0",
  CLICKHOUSE_HTTP_PASSWORD: PASSWORD,
  RECKON_WRITE_KEYS: TEST_KEYS.write,
  RECKON_READ_KEYS: TEST_KEYS.read,
  RECKON_ADMIN_KEYS: TEST_KEYS.admin,
  RECKON_TRAIN_INTERVAL_MINUTES: "0",
  // The first read waits for the last write's position: on a loaded machine the Kafka consumer groups may take
  // longer than the default 2 s to join and catch up after the writes.
  RECKON_MIN_POSITION_WAIT_MS: "30000",
  LOG_LEVEL: "info",
};

async function runScenario(p: ReckonProcess): Promise<Answers> {
  const target: PlatformTarget = {
    api: p.api,
    keys: TEST_KEYS,
    clickhouse: { url: p.clickhouse!, user: "analyst", password: PASSWORD },
  };
  const written = await writeScenario(target, "", 7, { fixedClockMs: CLOCK_MS });
  return readScenario(target, "", written);
}

test("experiment statistics and recommendation answers agree exactly between embedded and server stores", async () => {
  const embedded = await startReckonProcess({
    env: { ...common, RECKON_DATA_DIR: path.join(work, "embedded") },
  });
  let onEmbedded: Answers;
  try {
    onEmbedded = await runScenario(embedded);
  } finally {
    await embedded.stop();
  }

  const stack = stackEnv();
  const tdb = await createTestDatabase({ migrated: false });
  let onServers: Answers;
  try {
    const servers = await startReckonProcess({
      env: {
        ...common,
        DATABASE_URL: tdb.url,
        KAFKA_BROKERS: stack.KAFKA_BROKERS.join(","),
        REDIS_URL: stack.REDIS_URL,
        RECKON_REDIS_PREFIX: uniqueName("agree"),
        KAFKA_EVENTS_TOPIC: uniqueName("agree_events"),
        KAFKA_DLQ_TOPIC: uniqueName("agree_dlq"),
        RECKON_PROJECTOR_GROUP_PREFIX: `${uniqueName("agree")}.`,
        CLICKHOUSE_URL: `chdb://${path.join(work, "servers-clickhouse")}`,
      },
    });
    try {
      onServers = await runScenario(servers);
    } finally {
      await servers.stop();
    }
  } finally {
    await tdb.drop();
  }

  assert.equal(onEmbedded.positionReached, "true");
  assert.equal(onServers.positionReached, "true");
  assert.deepEqual(onEmbedded.experiment, onServers.experiment);
  assert.deepEqual(onEmbedded.experiment.users, { control: 30, treatment: 30 });
  // Exact: the same events give the same integer window counters in both projection stores, and both modes
  // evaluate the same formulas in the same order at the same instant, so not even the last bit of a score differs.
  assert.deepEqual(onEmbedded.recommendations, onServers.recommendations);
  assert.deepEqual(onEmbedded.similar, onServers.similar);
  assert.deepEqual(onEmbedded.affinities, onServers.affinities);
  assert.deepEqual(onEmbedded.itemStats, onServers.itemStats);
  // What is compared is a real answer: full lists for every asked user and item, affinities for the warm users.
  for (const [user, list] of Object.entries(onEmbedded.recommendations))
    assert.equal(new Set(list.map((i) => i.item)).size, 5, `${user}: five distinct items`);
  for (const [item, list] of Object.entries(onEmbedded.similar))
    assert.ok(list.length > 0, `${item}: similar items`);
  assert.ok(onEmbedded.affinities["user-0"]!.length > 0, "user-0 has affinities");
  assert.deepEqual(onEmbedded.affinities["cold-user-1"], []);
  assert.deepEqual(onEmbedded.clickhouseEventsByType, onServers.clickhouseEventsByType);
});
