// The analyst's door as Reckon serves it (read-only, credentials required), tried the way an attacker would:
// every request here carries valid credentials unless the test is about them.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ChdbClickHouseStore } from "../clickhouse/chdb-adapter.ts";
import { startClickHouseHttpEndpoint, type ClickHouseHttpEndpoint } from "./server.ts";

const auth = { user: "analyst", password: "a-long-analyst-password" };
const basic = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}`;

describe("ClickHouse endpoint: the analyst's read-only door", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-chdb-analyst-"));
  const outDir = mkdtempSync(path.join(tmpdir(), "reckon-chdb-analyst-out-"));
  let store: ChdbClickHouseStore;
  let endpoint: ClickHouseHttpEndpoint;

  before(async () => {
    store = await ChdbClickHouseStore.open({ dataDir });
    await store.command("CREATE TABLE facts (id UInt32, name String) ENGINE = MergeTree ORDER BY id");
    await store.insert("facts", [
      { id: 1, name: "one" },
      { id: 2, name: "two" },
    ]);
    endpoint = await startClickHouseHttpEndpoint({ store, port: 0, auth });
  });
  after(async () => {
    await endpoint.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  });

  const post = (sql: string, query = "", headers: Record<string, string> = {}) =>
    fetch(`${endpoint.url}/${query}`, {
      method: "POST",
      headers: { Authorization: basic, ...headers },
      body: sql,
    });
  const get = (sql: string, extra = "") =>
    fetch(`${endpoint.url}/?query=${encodeURIComponent(sql)}${extra}`, { headers: { Authorization: basic } });

  async function assertRefused(response: Response, code: string, mention: RegExp): Promise<void> {
    const body = await response.text();
    assert.equal(response.status, code === "164" ? 500 : 403, body);
    assert.equal(response.headers.get("x-clickhouse-exception-code"), code, body);
    assert.match(body, mention);
  }

  it("answers SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN", async () => {
    assert.equal(await (await post("SELECT name FROM facts ORDER BY id")).text(), "one\ntwo\n");
    assert.equal(await (await post("WITH 2 AS k SELECT name FROM facts WHERE id = k")).text(), "two\n");
    assert.equal(await (await get("select count() from facts")).text(), "2\n");
    assert.equal(await (await post("SHOW TABLES")).text(), "facts\n");
    assert.match(await (await post("DESCRIBE TABLE facts")).text(), /^id\tUInt32/);
    assert.equal(await (await post("EXISTS TABLE facts")).text(), "1\n");
    assert.match(await (await post("EXPLAIN SELECT 1")).text(), /ReadFromSystemOne/);
    assert.equal(await (await post("SELECT sum(number) FROM numbers(4);")).text(), "6\n");
    assert.equal(
      await (
        await post("SELECT {n:UInt8} + 1", "?param_n=41&output_format_json_quote_64bit_integers=1")
      ).text(),
      "42\n",
    );
  });

  it("requires the credentials, however they are sent", async () => {
    const anonymous = await fetch(`${endpoint.url}/?query=SELECT%201`);
    await assertRefused(anonymous, "516", /Authentication failed/);
    const wrong = await fetch(`${endpoint.url}/?query=SELECT%201&user=analyst&password=guess`);
    await assertRefused(wrong, "516", /Authentication failed/);
    const prefix = await fetch(`${endpoint.url}/?query=SELECT%201`, {
      headers: { "X-ClickHouse-User": auth.user, "X-ClickHouse-Key": auth.password.slice(0, -1) },
    });
    await assertRefused(prefix, "516", /Authentication failed/);
    const byHeaders = await fetch(`${endpoint.url}/?query=SELECT%201`, {
      headers: { "X-ClickHouse-User": auth.user, "X-ClickHouse-Key": auth.password },
    });
    assert.equal(await byHeaders.text(), "1\n");
    const byParams = await fetch(
      `${endpoint.url}/?query=SELECT%201&user=${auth.user}&password=${encodeURIComponent(auth.password)}`,
    );
    assert.equal(await byParams.text(), "1\n");
  });

  it("never reads files: file() as table or scalar function, however written", async () => {
    for (const sql of [
      "SELECT * FROM file('/proc/self/environ', 'RawBLOB')",
      "SELECT * FROM file('/etc/passwd')",
      "select * from FILE('/etc/passwd', 'LineAsString')",
      "SELECT file('/etc/passwd')",
      "SELECT 1 FROM facts, file('/etc/passwd', 'LineAsString')",
      "SELECT/**/*/**/FROM/**/file('/etc/passwd')",
      "SELECT * FROM -- a comment\n file('/etc/passwd')",
      "DESCRIBE TABLE file('/etc/passwd', 'LineAsString')",
      "SELECT * FROM fileCluster('c', '/etc/passwd')",
      "EXPLAIN PIPELINE SELECT * FROM file('/etc/passwd')",
    ]) {
      await assertRefused(await post(sql), "497", /file(Cluster)?\(\) is not allowed/i);
    }
    await assertRefused(await post("SELECT * FROM `file`('/etc/passwd')"), "497", /quoted name/);
  });

  it("never reaches URLs or other servers", async () => {
    for (const [sql, name] of [
      ["SELECT * FROM url('http://127.0.0.1:5432/', 'RawBLOB')", "url"],
      ["SELECT * FROM s3('http://127.0.0.1:9000/b/k', 'CSV')", "s3"],
      ["SELECT * FROM remote('127.0.0.1:9000', system.one)", "remote"],
      ["SELECT * FROM remoteSecure('127.0.0.1:9440', system.one)", "remoteSecure"],
      ["SELECT * FROM mysql('127.0.0.1:3306', 'd', 't', 'u', 'p')", "mysql"],
      ["SELECT * FROM postgresql('127.0.0.1:5432', 'd', 't', 'u', 'p')", "postgresql"],
      ["SELECT * FROM hdfs('hdfs://h:9000/f', 'CSV')", "hdfs"],
      ["SELECT * FROM jdbc('jdbc:x', 't')", "jdbc"],
      ["SELECT * FROM odbc('DSN=x', 't')", "odbc"],
      ["SELECT * FROM executable('x.sh', 'CSV', 'a String')", "executable"],
      ["SELECT * FROM azureBlobStorage('http://a', 'c', 'b')", "azureBlobStorage"],
      ["SELECT * FROM facts JOIN url('http://x/', 'CSV') AS u ON 1", "url"],
    ] as const) {
      await assertRefused(await post(sql), "497", new RegExp(`${name}\\(\\) is not allowed`));
    }
    await assertRefused(
      await post("SELECT * FROM someOtherTableFunction(1)"),
      "497",
      /table function someOtherTableFunction\(\) is not allowed: only numbers/,
    );
  });

  it("refuses every writing statement, INTO OUTFILE and multi-statements", async () => {
    const outfile = path.join(outDir, "out.txt");
    for (const [sql, mention] of [
      ["INSERT INTO FUNCTION file('x.csv', 'CSV') SELECT 1", /INSERT statements are not allowed/],
      ["CREATE TABLE t (x UInt8) ENGINE = Memory", /CREATE statements are not allowed/],
      ["INSERT INTO facts VALUES (3, 'three')", /INSERT statements are not allowed/],
      ["DELETE FROM facts WHERE 1", /DELETE statements are not allowed/],
      ["ALTER TABLE facts DELETE WHERE 1", /ALTER statements are not allowed/],
      ["DROP TABLE facts", /DROP statements are not allowed/],
      ["TRUNCATE TABLE facts", /TRUNCATE statements are not allowed/],
      ["SET readonly = 0", /SET statements are not allowed/],
      ["SYSTEM SHUTDOWN", /SYSTEM statements are not allowed/],
      [`SELECT 1 INTO OUTFILE '${outfile}'`, /INTO is not allowed/],
      ["SELECT 1; DROP TABLE facts", /only one statement/],
      ["SELECT 1;/* */ DROP TABLE facts", /only one statement/],
      ["SELECT ';' ; DROP TABLE facts", /only one statement/],
      ["/* SELECT */ DROP TABLE facts", /DROP statements are not allowed/],
      ["(DROP TABLE facts)", /DROP statements are not allowed/],
      ["EXPLAIN AST DROP TABLE facts", /EXPLAIN is allowed only for SELECT/],
      ["SELECT 1 /* /* */ , file('/etc/passwd') */", /could not be read safely/],
      ["SELECT $$x$$", /could not be read safely/],
      ["SELECT 1 #x", /could not be read safely/],
    ] as const) {
      await assertRefused(await post(sql), "497", mention);
    }
    assert.equal(existsSync(outfile), false);
    const insertWithData = await post(
      "1,one\n",
      `?query=${encodeURIComponent("INSERT INTO facts FORMAT CSV")}`,
    );
    await assertRefused(insertWithData, "164", /read-only/);
    assert.equal(await (await post("SELECT count() FROM facts")).text(), "2\n");
  });

  it("lets no client lift read-only: URL settings, SETTINGS clauses or GET ?readonly=0", async () => {
    await assertRefused(await get("SELECT 1", "&readonly=0"), "164", /Cannot modify 'readonly'/);
    await assertRefused(await get("SELECT 1", "&readonly=2"), "164", /Cannot modify 'readonly'/);
    await assertRefused(await post("SELECT 1", "?allow_ddl=1"), "164", /Cannot modify 'allow_ddl'/);
    await assertRefused(await post("SELECT 1", "?max_execution_time=100000"), "164", /max_execution_time/);
    await assertRefused(
      await post("SELECT 1 SETTINGS readonly = 0"),
      "497",
      /SETTINGS clause is not allowed/,
    );
    await assertRefused(await post("SELECT 1 settings max_threads = 1"), "497", /SETTINGS clause/);
    assert.equal(
      await (await get("SELECT name FROM system.settings WHERE name = 'readonly'")).text(),
      "readonly\n",
    );
    assert.equal(await (await get("SELECT getSetting('readonly')")).text(), "1\n");
    assert.equal(await (await get("SELECT getSetting('readonly')", "&database=system")).text(), "1\n");
  });

  it("refuses browser requests from other origins and sends no CORS header", async () => {
    const crossOrigin = await fetch(`${endpoint.url}/`, {
      method: "POST",
      headers: { "Content-Type": "text/plain", Origin: "https://evil.example" },
      body: "SELECT 1",
    });
    await assertRefused(crossOrigin, "497", /origin 'https:\/\/evil\.example' are not allowed/);
    assert.equal(crossOrigin.headers.get("access-control-allow-origin"), null);
    const withCredentials = await post("SELECT 1", "", { "Content-Type": "text/plain", Origin: "null" });
    await assertRefused(withCredentials, "497", /origin 'null'/);
    const ok = await post("SELECT 1");
    assert.equal(ok.headers.get("access-control-allow-origin"), null);
  });

  it("leaves Reckon's own writes (through the in-process adapter) working", async () => {
    await store.insert("facts", [{ id: 3, name: "three" }]);
    assert.equal(await (await post("SELECT count() FROM facts")).text(), "3\n");
  });
});
