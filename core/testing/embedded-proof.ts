import { randomUUID } from "node:crypto";
import { startReckonProcess, type ReckonProcess } from "./reckon-process.ts";
import { readScenario, writeScenario, type PlatformTarget } from "./platform-scenario.ts";

/**
 * The embedded platform's proof, run as a script where nothing but Node is available (the e2e spec runs it in a
 * network namespace with only loopback): start `reckon start` on a fresh data directory, drive the scenario
 * (catalog, events, a read with min_position, recommendations, an experiment and its results, a ClickHouse
 * endpoint query), send one more batch and SIGKILL the process right after it is acknowledged, start again on
 * the same directory and look for every acknowledged event. Prints one JSON object of facts on stdout.
 *
 *   node --import tsx core/testing/embedded-proof.ts DATA_DIR
 */
const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: embedded-proof.ts DATA_DIR");

const keys = {
  read: `rk_read_${randomUUID()}`,
  write: `rk_write_${randomUUID()}`,
  admin: `rk_admin_${randomUUID()}`,
};
const password = `ch_${randomUUID()}`;
const env = {
  RECKON_DATA_DIR: dataDir,
  PORT: "0",
  HOST: "127.0.0.1",
  CLICKHOUSE_HTTP_PORT: "0",
  CLICKHOUSE_HTTP_PASSWORD: password,
  RECKON_WRITE_KEYS: keys.write,
  RECKON_READ_KEYS: keys.read,
  RECKON_ADMIN_KEYS: keys.admin,
  RECKON_TRAIN_INTERVAL_MINUTES: "0",
  LOG_LEVEL: "info",
  // The caller's temp directory, passed on like HOME: the platform's temp files (tsx's compile cache) go there.
  ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
};
const targetOf = (p: ReckonProcess): PlatformTarget => ({
  api: p.api,
  keys,
  clickhouse: { url: p.clickhouse!, user: "analyst", password },
});

async function countInClickHouse(target: PlatformTarget, ids: readonly string[]): Promise<number> {
  const list = ids.map((id) => `'${id}'`).join(",");
  // Plain count(): a batch the projection applies again after the kill must not leave a second row.
  const sql = `SELECT count() AS n FROM reckon.events WHERE toString(event_id) IN (${list}) FORMAT JSONEachRow`;
  const res = await fetch(`${target.clickhouse!.url}/`, {
    method: "POST",
    body: sql,
    headers: {
      authorization: `Basic ${Buffer.from(`analyst:${password}`).toString("base64")}`,
    },
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`ClickHouse endpoint: HTTP ${res.status} ${text}`);
  return Number((JSON.parse(text) as { n: string | number }).n);
}

/** Views by users outside the scenario's read set, acknowledged just before the kill. */
async function lateBatch(target: PlatformTarget): Promise<string[]> {
  const now = Date.now();
  const events = Array.from({ length: 200 }, (_, i) => ({
    event_id: randomUUID(),
    type: "view",
    user_id: `late-user-${i % 20}`,
    item_id: `item-${i % 30}`,
    timestamp: new Date(now + i).toISOString(),
  }));
  const res = await fetch(`${target.api}/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${keys.write}`, "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
  const body = (await res.json()) as { results: { event_id: string; status: string }[] };
  if (res.status !== 200) throw new Error(`late batch: HTTP ${res.status}`);
  return body.results.filter((r) => r.status === "accepted").map((r) => r.event_id);
}

const first = await startReckonProcess({ env });
const printed = first.output();
let written: Awaited<ReturnType<typeof writeScenario>>;
let before: Awaited<ReturnType<typeof readScenario>>;
let late: string[];
try {
  written = await writeScenario(targetOf(first), "", 1);
  before = await readScenario(targetOf(first), "", written);
  late = await lateBatch(targetOf(first));
} finally {
  // On success the kill under test; on a failure no process may outlive the proof.
  first.child.kill("SIGKILL");
}
const killed = await first.exited;

const restartStarted = Date.now();
const second = await startReckonProcess({ env });
const restartMs = Date.now() - restartStarted;
try {
  const after = await readScenario(targetOf(second), "", written);
  const acknowledged = [...written.acknowledged, ...late];
  // The late batch was acknowledged but maybe not projected before the kill: wait for the projections to
  // reach it from the log (bounded), then count every acknowledged id.
  let found = 0;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    found = await countInClickHouse(targetOf(second), acknowledged);
    if (found === acknowledged.length) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  process.stdout.write(
    `${JSON.stringify({
      printedStores: printed.split("\n").filter((l) => !l.startsWith("{")),
      killedBy: killed.signal,
      acknowledged: acknowledged.length,
      foundAfterRestart: found,
      restartMs,
      before,
      after,
    })}\n`,
  );
} finally {
  await second.stop();
}
