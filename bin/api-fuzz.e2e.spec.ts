import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createKafka } from "../core/kafka/kafka.ts";
import { REPO_ROOT } from "../core/runtime/local-env.ts";
import { TEST_KEYS } from "../core/testing/http.ts";
import { createTestDatabase, stackEnv, uniqueName, type TestDatabase } from "../core/testing/stack.ts";
import { deleteMatching } from "../serving/ranking/testing.ts";
import { Redis } from "ioredis";

/**
 * Schemathesis fuzzes the whole platform from its own /openapi.json: every operation gets generated requests,
 * valid and invalid, and the run fails on any 5xx and on any answer the document does not describe (status
 * code, content type, headers, body schema), on invalid input accepted, on valid input refused, and on an
 * operation answering without its key. The platform runs as `reckon start` (every role) in its own process,
 * on its own port, database, topics, Redis prefix and ClickHouse directory, with a key for each scope.
 *
 * The examples per operation and the seed are fixed, so a run is repeatable and stays within a few minutes;
 * a failure prints schemathesis's report with a curl command reproducing each case.
 */
const MAX_EXAMPLES = 25;
const SEED = 1;

const prefix = uniqueName("rkfuzz");
const topics = { events: `${prefix}.events`, dlq: `${prefix}.dlq` };
let db: TestDatabase;
let clickhouseDir: string;
let platform: ChildProcess | undefined;
let platformOutput = "";
let base: string;

before(async () => {
  db = await createTestDatabase();
  clickhouseDir = mkdtempSync(path.join(tmpdir(), "reckon-fuzz-ch-"));
  const stack = stackEnv();
  platform = spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "bin/reckon.ts"), "start"], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: "info",
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: db.url,
      KAFKA_BROKERS: stack.KAFKA_BROKERS.join(","),
      REDIS_URL: stack.REDIS_URL,
      KAFKA_EVENTS_TOPIC: topics.events,
      KAFKA_DLQ_TOPIC: topics.dlq,
      RECKON_REDIS_PREFIX: prefix,
      RECKON_PROJECTOR_GROUP_PREFIX: prefix,
      CLICKHOUSE_URL: `chdb://${clickhouseDir}`,
      CLICKHOUSE_HTTP_PORT: "0",
      RECKON_TRAIN_INTERVAL_MINUTES: "0",
      RECKON_READ_KEYS: TEST_KEYS.read,
      RECKON_WRITE_KEYS: TEST_KEYS.write,
      RECKON_ADMIN_KEYS: TEST_KEYS.admin,
      // The fuzzer is one source that sends wrong keys on purpose (to check every operation refuses them);
      // the wrong-key limit would soon answer it 429 everywhere. That limit has its own specs.
      RECKON_AUTH_FAILURE_LIMIT: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  platform.stdout!.setEncoding("utf8");
  platform.stderr!.setEncoding("utf8");
  platform.stderr!.on("data", (chunk: string) => (platformOutput += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the platform did not listen in 120 s:\n${platformOutput}`)),
      120_000,
    );
    platform!.once("exit", (code) => reject(new Error(`the platform exited (${code}):\n${platformOutput}`)));
    platform!.stdout!.on("data", (chunk: string) => {
      platformOutput += chunk;
      const listening = /"port":(\d+)[^\n]*"msg":"reckon HTTP API listening"/.exec(platformOutput);
      if (listening) {
        clearTimeout(timer);
        resolve(Number(listening[1]));
      }
    });
  });
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  if (platform && platform.exitCode === null) {
    const exited = new Promise((resolve) => platform!.once("exit", resolve));
    platform.kill("SIGTERM");
    await exited;
  }
  const redis = new Redis(stackEnv().REDIS_URL);
  await deleteMatching(redis, `${prefix}*`);
  redis.disconnect();
  const admin = createKafka(stackEnv().KAFKA_BROKERS).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topics.events, topics.dlq] }).catch(() => undefined);
  await admin.disconnect();
  await db?.drop();
  rmSync(clickhouseDir, { recursive: true, force: true });
});

test(`schemathesis: ${MAX_EXAMPLES} examples per operation, every check, no 5xx and no undocumented answer`, async () => {
  const st = execFileSync("bash", [path.join(REPO_ROOT, "scripts/fuzz/install.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  const reportDir = mkdtempSync(path.join(tmpdir(), "reckon-fuzz-report-"));
  const args = [
    "--config-file",
    path.join(REPO_ROOT, "scripts/fuzz/schemathesis.toml"),
    "run",
    `${base}/openapi.json`,
    "--checks",
    "all",
    "--max-examples",
    String(MAX_EXAMPLES),
    "--seed",
    String(SEED),
    "--generation-database",
    "none",
    "--header",
    `Authorization: Bearer ${TEST_KEYS.admin}`,
    "--request-timeout",
    "30",
    "--no-color",
  ];
  const started = Date.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(st, args, { cwd: reportDir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.on("exit", (exitCode) => resolve({ code: exitCode, output: out }));
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  // The summary's count, e.g. "2362 generated, 16 skipped": the figure a run reports beside its time.
  const cases = /Test cases:\s*\n\s*(.+)/.exec(output)?.[1]?.trim() ?? "count not found";
  console.log(`schemathesis: ${cases}, in ${seconds} s`);
  rmSync(reportDir, { recursive: true, force: true });
  assert.equal(
    code,
    0,
    `schemathesis found failures:\n${output}\n--- platform log (tail) ---\n${platformOutput.slice(-20_000)}`,
  );
});
