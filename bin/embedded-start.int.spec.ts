import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { TEST_KEYS } from "../core/testing/http.ts";
import { startReckonProcess, startRefused } from "../core/testing/reckon-process.ts";

/**
 * `reckon start` with no store URL: every role in one process on the embedded stores under the data directory,
 * one process per directory, and the combinations an embedded store cannot serve refused before anything opens.
 * Nothing here reaches a server (the refusals name an unreachable Postgres on purpose).
 */
const root = mkdtempSync(path.join(tmpdir(), "reckon-embedded-start-"));
after(() => rmSync(root, { recursive: true, force: true }));

const embeddedEnv = (dataDir: string): Record<string, string> => ({
  RECKON_DATA_DIR: dataDir,
  PORT: "0",
  HOST: "127.0.0.1",
  CLICKHOUSE_HTTP_PORT: "0",
  CLICKHOUSE_HTTP_PASSWORD: "embedded-start-password",
  RECKON_WRITE_KEYS: TEST_KEYS.write,
  RECKON_READ_KEYS: TEST_KEYS.read,
  RECKON_ADMIN_KEYS: TEST_KEYS.admin,
  RECKON_TRAIN_INTERVAL_MINUTES: "0",
  LOG_LEVEL: "info",
});

describe("embedded start", () => {
  it("starts on the embedded stores, says so, and refuses a second process on the same data directory", async () => {
    const dataDir = path.join(root, "one");
    const first = await startReckonProcess({ env: embeddedEnv(dataDir) });
    try {
      const printed = first.output();
      assert.match(printed, new RegExp(`Reckon stores \\(embedded data directory: ${dataDir}\\)`));
      assert.match(
        printed,
        new RegExp(`Postgres +embedded PGlite in this process, data in ${dataDir}/postgres`),
      );
      assert.match(printed, /Log transport +Postgres tail/);
      assert.match(
        printed,
        new RegExp(`Projection store +in-process store, journal and snapshot in ${dataDir}/projections`),
      );
      assert.match(
        printed,
        new RegExp(
          `ClickHouse +in-process chdb, data in ${dataDir}/clickhouse; SQL endpoint on 127.0.0.1, a free port`,
        ),
      );
      assert.equal(readFileSync(path.join(dataDir, "reckon.lock"), "utf8"), String(first.pid));
      assert.equal((await fetch(`${first.api}/healthz`)).status, 200);

      const second = await startRefused({ env: { ...embeddedEnv(dataDir) } });
      assert.equal(second.code, 1);
      assert.ok(
        second.output.includes(
          `data directory ${dataDir} is in use by process ${first.pid}: one Reckon process per data directory`,
        ),
        second.output,
      );
    } finally {
      await first.stop();
    }
    // A graceful stop releases the lock.
    assert.equal(existsSync(path.join(dataDir, "reckon.lock")), false);
  });

  const refusals: { name: string; args: string[]; env: Record<string, string>; message: string }[] = [
    {
      name: "several workers on PGlite",
      args: ["--workers", "2", "--roles", "serving,ingest"],
      env: {},
      message: "--workers 2: the embedded database (PGlite, pglite://",
    },
    {
      name: "a role subset on PGlite",
      args: ["--roles", "ingest,relay"],
      env: {},
      message: "so projectors, serving, analytics could not run anywhere else",
    },
    {
      name: "serving without projectors on the in-process projection store",
      args: ["--roles", "serving"],
      env: { DATABASE_URL: "postgres://reckon:reckon@127.0.0.1:1/unreachable" },
      message: "--roles serving: the in-process projection store (memory://",
    },
    {
      name: "a subset of projections on the in-process projection store",
      args: [],
      env: { RECKON_PROJECTIONS: "features" },
      message: "RECKON_PROJECTIONS=features: with the in-process projection store",
    },
    {
      name: "the Kafka transport without brokers",
      args: [],
      env: { RECKON_LOG_TRANSPORT: "kafka" },
      message: "RECKON_LOG_TRANSPORT=kafka: no KAFKA_BROKERS configured",
    },
  ];
  for (const refusal of refusals)
    it(`refuses ${refusal.name}, saying why, before opening any store`, async () => {
      const dataDir = path.join(root, refusal.name.replaceAll(" ", "-"));
      const { code, output } = await startRefused({
        env: { ...embeddedEnv(dataDir), ...refusal.env },
        args: refusal.args,
      });
      assert.equal(code, 1);
      assert.ok(output.includes(refusal.message), output);
      assert.equal(existsSync(dataDir), false, "nothing was created");
    });
});
