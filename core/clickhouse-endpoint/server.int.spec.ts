import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import {
  ClickHouseError,
  ClickHouseLogLevel,
  createClient,
  type ClickHouseClient,
  type ClickHouseSettings,
} from "@clickhouse/client";
import { ChdbClickHouseStore } from "../clickhouse/chdb-adapter.ts";
import { startClickHouseHttpEndpoint, type ClickHouseHttpEndpoint } from "./server.ts";

const quiet = { level: ClickHouseLogLevel.OFF };
// This suite drives the endpoint as a stand-in for a full ClickHouse server (read-write); the analyst's
// read-only door has its own suite (analyst-access.int.spec.ts).
const credentials = { user: "reckon", password: "s3cret" };
const login = { username: credentials.user, password: credentials.password };
const auth = { Authorization: `Basic ${Buffer.from("reckon:s3cret").toString("base64")}` };

async function text(stream: AsyncIterable<Buffer | string>): Promise<string> {
  let out = "";
  for await (const chunk of stream) out += chunk.toString();
  return out;
}

describe("ClickHouse HTTP endpoint over chdb, driven by @clickhouse/client", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-chdb-endpoint-"));
  let store: ChdbClickHouseStore;
  let endpoint: ClickHouseHttpEndpoint;
  let secured: ClickHouseHttpEndpoint;
  let client: ClickHouseClient;

  before(async () => {
    store = await ChdbClickHouseStore.open({ dataDir });
    endpoint = await startClickHouseHttpEndpoint({ store, port: 0, auth: credentials, access: "read-write" });
    secured = await startClickHouseHttpEndpoint({ store, port: 0, auth: credentials, access: "read-write" });
    client = createClient({ url: endpoint.url, ...login, log: quiet });
  });
  after(async () => {
    await client.close();
    await secured.close();
    await endpoint.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers ping, and GET / with Ok.", async () => {
    assert.deepEqual(await client.ping(), { success: true });
    const response = await fetch(`${endpoint.url}/`, { headers: auth });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "Ok.\n");
  });

  it("runs command, insert and a parameterised JSONEachRow query", async () => {
    await client.command({
      query:
        "CREATE TABLE ep_events (id UInt32, name String, ts DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY id",
    });
    const inserted = await client.insert({
      table: "ep_events",
      values: [
        { id: 1, name: "a'b\\c", ts: "2024-01-01 00:00:00.001" },
        { id: 2, name: "tab\there", ts: "2024-01-01 00:00:00.002" },
        { id: 3, name: "plain", ts: "2024-01-01 00:00:00.003" },
      ],
      format: "JSONEachRow",
    });
    assert.equal(inserted.summary?.written_rows, "3");
    const result = await client.query({
      query:
        "SELECT id, name FROM ep_events WHERE id >= {min:UInt32} AND name != {skip:String} AND ts > {after:DateTime64(3)} ORDER BY id",
      query_params: { min: 1, skip: "plain", after: new Date("2024-01-01T00:00:00.000Z") },
      format: "JSONEachRow",
    });
    assert.equal(result.response_headers["x-clickhouse-format"], "JSONEachRow");
    assert.deepEqual(await result.json(), [
      { id: 1, name: "a'b\\c" },
      { id: 2, name: "tab\there" },
    ]);
  });

  it("returns JSON with meta, CSV and TabSeparated", async () => {
    const json = await client.query({
      query: "SELECT count() AS n, toUInt8(7) AS k FROM ep_events",
      format: "JSON",
    });
    const doc = await json.json<{ n: number; k: number }>();
    assert.deepEqual(doc.meta, [
      { name: "n", type: "UInt64" },
      { name: "k", type: "UInt8" },
    ]);
    assert.deepEqual(doc.data, [{ n: 3, k: 7 }]);
    const csv = await client.query({
      query: "SELECT id, name FROM ep_events WHERE id = 3",
      format: "CSVWithNames",
    });
    assert.equal(await csv.text(), '"id","name"\n3,"plain"\n');
    const tsv = await client.exec({
      query: "SELECT id, name FROM ep_events WHERE id = 2 FORMAT TabSeparated",
    });
    assert.equal(await text(tsv.stream), "2\ttab\\there\n");
  });

  it("surfaces errors as ClickHouseError with the code, and keeps serving", async () => {
    await assert.rejects(client.query({ query: "SELECT * FROM ep_missing" }), (error: unknown) => {
      assert.ok(error instanceof ClickHouseError);
      assert.equal(error.code, "60");
      assert.equal(error.type, "UNKNOWN_TABLE");
      return true;
    });
    await assert.rejects(
      client.command({ query: "CREATE TABLE (" }),
      (error: unknown) => error instanceof ClickHouseError && error.code === "62",
    );
    await assert.rejects(
      client.insert({ table: "ep_events", values: [{ id: "x" }], format: "JSONEachRow" }),
      (error: unknown) =>
        error instanceof ClickHouseError && error.type === "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
    );
    const raw = await fetch(`${endpoint.url}/?query=${encodeURIComponent("SELECT * FROM ep_missing")}`, {
      headers: auth,
    });
    assert.equal(raw.status, 404);
    assert.equal(raw.headers.get("x-clickhouse-exception-code"), "60");
    assert.match(await raw.text(), /^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\) \(version [\d.]+\)\n$/s);
    const lz4 = await fetch(`${endpoint.url}/?compress=1&query=SELECT%201`, { headers: auth });
    assert.equal(lz4.status, 501);
    assert.equal(lz4.headers.get("x-clickhouse-exception-code"), "48");
    assert.deepEqual(await client.ping(), { success: true });
  });

  it("compresses responses and accepts compressed requests when the client asks", async () => {
    const gz = createClient({
      url: endpoint.url,
      ...login,
      compression: { request: true, response: true },
      log: quiet,
    });
    try {
      await gz.insert({
        table: "ep_events",
        values: [{ id: 4, name: "zipped", ts: "2024-01-01 00:00:00.004" }],
        format: "JSONEachRow",
      });
      const result = await gz.query({
        query: "SELECT name FROM ep_events WHERE id = {id:UInt32}",
        query_params: { id: 4 },
        format: "JSONEachRow",
      });
      assert.equal(result.response_headers["content-encoding"], "gzip");
      assert.deepEqual(await result.json(), [{ name: "zipped" }]);
    } finally {
      await gz.close();
    }
    const response = await fetch(
      `${endpoint.url}/?query=${encodeURIComponent("INSERT INTO ep_events FORMAT CSV")}`,
      {
        method: "POST",
        headers: { ...auth, "Content-Encoding": "gzip" },
        body: gzipSync('5,"from curl","2024-01-01 00:00:00.005"\n'),
      },
    );
    assert.equal(response.status, 200);
    assert.equal(JSON.parse(response.headers.get("x-clickhouse-summary") ?? "{}").written_rows, "1");
  });

  it("applies settings, database and multipart parameters per request", async () => {
    await client.command({ query: "CREATE DATABASE IF NOT EXISTS ep_db" });
    await client.command({ query: "CREATE TABLE ep_db.things (x UInt64) ENGINE = Memory" });
    const inDb = createClient({
      url: endpoint.url,
      ...login,
      database: "ep_db",
      use_multipart_params: true,
      log: quiet,
    });
    try {
      await inDb.insert({ table: "things", values: [{ x: "18446744073709551615" }], format: "JSONEachRow" });
      const quoted = await inDb.query({
        query: "SELECT x, {s:String} AS s FROM things",
        query_params: { s: "multi'part" },
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      });
      assert.deepEqual(await quoted.json(), [{ x: "18446744073709551615", s: "multi'part" }]);
      await assert.rejects(
        inDb.query({
          query: "SELECT 1",
          clickhouse_settings: { no_such_setting_at_all: 1 } as unknown as ClickHouseSettings,
        }),
        (error: unknown) => error instanceof ClickHouseError && error.code === "115",
      );
    } finally {
      await inDb.close();
    }
  });

  it("keeps SET and temporary tables within a session_id", async () => {
    const sessionId = "ep-session-1";
    await client.command({ query: "CREATE TEMPORARY TABLE tmp_ep (x UInt8)", session_id: sessionId });
    await client.command({ query: "INSERT INTO tmp_ep VALUES (42)", session_id: sessionId });
    const rows = await client.query({
      query: "SELECT x FROM tmp_ep",
      format: "JSONEachRow",
      session_id: sessionId,
    });
    assert.deepEqual(await rows.json(), [{ x: 42 }]);
    await assert.rejects(
      client.query({ query: "SELECT x FROM tmp_ep", format: "JSONEachRow" }),
      (error: unknown) => error instanceof ClickHouseError && error.code === "60",
    );
  });

  it("treats GET queries as read-only", async () => {
    const response = await fetch(
      `${endpoint.url}/?query=${encodeURIComponent("CREATE TABLE ep_get (x UInt8) ENGINE = Memory")}`,
      { headers: auth },
    );
    assert.equal(response.status, 500);
    assert.equal(response.headers.get("x-clickhouse-exception-code"), "164");
    const select = await fetch(`${endpoint.url}/?query=${encodeURIComponent("SELECT 1 + 1")}`, {
      headers: auth,
    });
    assert.equal(await select.text(), "2\n");
  });

  it("checks credentials", async () => {
    const anonymous = createClient({ url: secured.url, log: quiet });
    const wrong = createClient({ url: secured.url, username: "reckon", password: "nope", log: quiet });
    const right = createClient({ url: secured.url, username: "reckon", password: "s3cret", log: quiet });
    try {
      await assert.rejects(
        anonymous.query({ query: "SELECT 1" }),
        (error: unknown) => error instanceof ClickHouseError && error.code === "516",
      );
      await assert.rejects(
        wrong.query({ query: "SELECT 1" }),
        (error: unknown) => error instanceof ClickHouseError && error.code === "516",
      );
      const ok = await right.query({ query: "SELECT 1 AS one", format: "JSONEachRow" });
      assert.deepEqual(await ok.json(), [{ one: 1 }]);
      const headerAuth = await fetch(`${secured.url}/?query=SELECT%202`, {
        headers: { "X-ClickHouse-User": "reckon", "X-ClickHouse-Key": "s3cret" },
      });
      assert.equal(await headerAuth.text(), "2\n");
    } finally {
      await Promise.all([anonymous.close(), wrong.close(), right.close()]);
    }
  });
});
