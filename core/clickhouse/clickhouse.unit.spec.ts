import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clickHouseErrorBody, clickHouseErrorFromText, httpStatusForError } from "./errors.ts";
import { assertTableName, encodeJsonRow, formatQueryParam } from "./params.ts";
import { countResultRows, isInsertAwaitingData, trailingFormat } from "./sql-text.ts";

describe("formatQueryParam (the text @clickhouse/client sends as param_<name>)", () => {
  it("escapes top-level strings TSV-style and quotes nested ones", () => {
    assert.equal(formatQueryParam("a'b\\c\td\ne\r"), "a\\'b\\\\c\\td\\ne\\r");
    assert.equal(formatQueryParam(["it's", null, true]), "['it\\'s',NULL,TRUE]");
    assert.equal(formatQueryParam({ k: 1 }), "{'k':1}");
  });
  it("formats scalars and Dates as unix seconds with milliseconds", () => {
    assert.equal(formatQueryParam(null), "\\N");
    assert.equal(formatQueryParam(true), "1");
    assert.equal(formatQueryParam(2n ** 64n - 1n), "18446744073709551615");
    assert.equal(formatQueryParam(Number.NaN), "nan");
    assert.equal(formatQueryParam(new Date("2023-11-14T22:13:20.123Z")), "1700000000.123");
    assert.equal(formatQueryParam(new Date("2023-11-14T22:13:20.000Z")), "1700000000");
  });
});

describe("row encoding and table names", () => {
  it("writes bigints as exact strings and Dates as ISO", () => {
    assert.equal(
      encodeJsonRow({ a: 2n ** 63n, d: new Date(0) }),
      '{"a":"9223372036854775808","d":"1970-01-01T00:00:00.000Z"}',
    );
  });
  it("accepts table and db.table only", () => {
    assert.equal(assertTableName("db.events_v1"), "db.events_v1");
    assert.throws(() => assertTableName("t; DROP TABLE x"), TypeError);
    assert.throws(() => assertTableName("a.b.c"), TypeError);
  });
});

describe("ClickHouse error text", () => {
  it("parses code, message and name, and rebuilds the server body", () => {
    const error = clickHouseErrorFromText(
      "Code: 60. DB::Exception: Unknown table expression identifier 'x'. (UNKNOWN_TABLE)",
    );
    assert.equal(error.code, 60);
    assert.equal(error.type, "UNKNOWN_TABLE");
    assert.equal(error.message, "Unknown table expression identifier 'x'");
    assert.equal(
      clickHouseErrorBody(error, "26.7"),
      "Code: 60. DB::Exception: Unknown table expression identifier 'x'. (UNKNOWN_TABLE) (version 26.7)\n",
    );
    assert.equal(
      clickHouseErrorFromText("Query failed: Code: 62. DB::Exception: Syntax error (at 1). (SYNTAX_ERROR)")
        .code,
      62,
    );
    assert.equal(clickHouseErrorFromText("socket hang up").type, "STD_EXCEPTION");
  });
  it("maps names to a server's HTTP statuses", () => {
    assert.equal(httpStatusForError("SYNTAX_ERROR"), 400);
    assert.equal(httpStatusForError("UNKNOWN_TABLE"), 404);
    assert.equal(httpStatusForError("AUTHENTICATION_FAILED"), 403);
    assert.equal(httpStatusForError("TABLE_ALREADY_EXISTS"), 500);
  });
});

describe("sql-text", () => {
  it("finds a trailing FORMAT clause but not in INSERTs", () => {
    assert.equal(trailingFormat("SELECT 1 \nFORMAT JSONEachRow"), "JSONEachRow");
    assert.equal(trailingFormat("SELECT 1 FORMAT CSV SETTINGS max_threads = 1;"), "CSV");
    assert.equal(trailingFormat("SELECT 'FORMAT JSON'"), undefined);
    assert.equal(trailingFormat("INSERT INTO t FORMAT JSONEachRow"), undefined);
  });
  it("recognises an INSERT whose data follows", () => {
    assert.equal(isInsertAwaitingData("INSERT INTO db.t (a, b) FORMAT JSONEachRow"), true);
    assert.equal(isInsertAwaitingData("insert into t settings async_insert=1 format CSV\n"), true);
    assert.equal(isInsertAwaitingData("INSERT INTO t VALUES"), true);
    assert.equal(isInsertAwaitingData("INSERT INTO t VALUES (1)"), false);
    assert.equal(isInsertAwaitingData("INSERT INTO t SELECT 1"), false);
  });
  it("counts rows of line-per-row formats only", () => {
    assert.equal(countResultRows("JSONEachRow", Buffer.from('{"a":1}\n{"a":2}\n')), 2);
    assert.equal(countResultRows("JSON", Buffer.from("{\n}\n")), undefined);
  });
});
