// The analytics role as `reckon start` runs it with the in-process engine: the ClickHouse-compatible endpoint is
// served only with a password, on loopback, read-only, and only to callers holding the credentials.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { loadEnv } from "../core/config/env.ts";
import { createTestDatabase, stackEnv, type TestDatabase } from "../core/testing/stack.ts";
import { TEST_KEYS } from "../core/testing/http.ts";
import { openResources, startPlatform } from "./platform.ts";
import type { Resources } from "../core/runtime/role.ts";

const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-analytics-role-"));
let tdb: TestDatabase;
let resources: Resources | undefined;
before(async () => {
  tdb = await createTestDatabase();
});
after(async () => {
  await resources?.close();
  await tdb.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const settings = (extra: Record<string, string>) =>
  loadEnv({
    DATABASE_URL: tdb.url,
    KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
    CLICKHOUSE_URL: `chdb://${dataDir}`,
    PORT: "0",
    HOST: "127.0.0.1",
    RECKON_READ_KEYS: TEST_KEYS.read,
    ...extra,
  });

test("the analytics role serves the ClickHouse endpoint read-only, on loopback, behind its credentials", async () => {
  const port = await freePort();
  const password = "role-test-password-0123";
  resources = await openResources(
    settings({ CLICKHOUSE_HTTP_PORT: String(port), CLICKHOUSE_HTTP_PASSWORD: password }),
  );
  const platform = await startPlatform(resources, ["analytics"]);
  try {
    const url = `http://127.0.0.1:${port}`;
    const anonymous = await fetch(`${url}/?query=SELECT%201`);
    assert.equal(anonymous.status, 403);
    const basic = `Basic ${Buffer.from(`analyst:${password}`).toString("base64")}`;
    const select = await fetch(`${url}/?query=SELECT%201`, { headers: { Authorization: basic } });
    assert.equal(await select.text(), "1\n");
    const file = await fetch(url, {
      method: "POST",
      headers: { Authorization: basic },
      body: "SELECT * FROM file('/proc/self/environ', 'RawBLOB')",
    });
    assert.equal(file.status, 403);
    const create = await fetch(url, {
      method: "POST",
      headers: { Authorization: basic },
      body: "CREATE TABLE t (x UInt8) ENGINE = Memory",
    });
    assert.equal(create.status, 403);
  } finally {
    await platform.stop();
  }
});

test("without a password the endpoint is not served at all", async () => {
  const port = await freePort();
  await resources?.close();
  resources = await openResources(settings({ CLICKHOUSE_HTTP_PORT: String(port) }));
  const platform = await startPlatform(resources, ["analytics"]);
  try {
    await assert.rejects(fetch(`http://127.0.0.1:${port}/ping`), /fetch failed/);
  } finally {
    await platform.stop();
  }
});
