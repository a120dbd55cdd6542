import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkAnalystSettings, checkAnalystStatement } from "./statement-policy.ts";
import { lexSql } from "./sql-lexer.ts";

const allowed = { allowed: true };

describe("sql lexer", () => {
  it("drops comments and keeps strings and quoted names whole", () => {
    assert.deepEqual(lexSql("SELECT 'a;b''c' -- x\n, `q``n` /* y */ # z\n;"), [
      { kind: "word", text: "SELECT" },
      { kind: "string", text: "a;b'c" },
      { kind: "punct", text: "," },
      { kind: "quoted-name", text: "q`n" },
      { kind: "punct", text: ";" },
    ]);
  });
});

describe("analyst statement policy", () => {
  it("allows reading statements, with comments, case and one trailing semicolon", () => {
    for (const sql of [
      "SELECT 1",
      "  select\n count()\tfrom t ;",
      "WITH x AS (SELECT 1) SELECT * FROM x",
      "(SELECT 1) UNION ALL (SELECT 2)",
      "SHOW TABLES",
      "DESC t",
      "EXISTS TABLE t",
      "EXPLAIN PLAN header = 1 SELECT 1",
      "SELECT * FROM numbers(10) AS a, generateRandom('x UInt8') AS b LIMIT 1",
      "SELECT arrayJoin([1]) FROM t ARRAY JOIN arr AS a",
      "SELECT name FROM system.settings",
      "SELECT 'file(''/etc/passwd'')', \"into\" FROM t",
      "SELECT {p:String}",
    ]) {
      assert.deepEqual(checkAnalystStatement(sql), allowed, sql);
    }
  });

  it("names the rule a refused statement broke", () => {
    assert.deepEqual(checkAnalystStatement("drop table t"), {
      allowed: false,
      reason: "DROP statements are not allowed: only SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN",
    });
    assert.deepEqual(checkAnalystStatement("SELECT * FROM t, File('/x')"), {
      allowed: false,
      reason: "function File() is not allowed: it reaches files, URLs or other servers",
    });
    assert.deepEqual(checkAnalystStatement("SELECT * FROM t JOIN s3Cluster('c', 'u')"), {
      allowed: false,
      reason: "function s3Cluster() is not allowed: it reaches files, URLs or other servers",
    });
    assert.deepEqual(checkAnalystStatement("SELECT 1 FROM t SETTINGS readonly = 0"), {
      allowed: false,
      reason: "a SETTINGS clause is not allowed: settings are fixed by the server",
    });
    assert.deepEqual(checkAnalystStatement("SELECT 1 ;; SELECT 2"), {
      allowed: false,
      reason: "only one statement per request is allowed",
    });
    assert.deepEqual(checkAnalystStatement("-- only a comment"), {
      allowed: false,
      reason: "the request holds no statement",
    });
    assert.deepEqual(checkAnalystStatement("SELECT 'unterminated"), {
      allowed: false,
      reason: "the statement could not be read safely (unterminated '-quoted text at offset 7)",
    });
  });

  it("leaves no character that ClickHouse reads differently to hide a name", () => {
    for (const sql of ["SELECT \u200Bfile('/etc/passwd')", "SELECT x\u180Efile('/etc/passwd')", "SELECT é"]) {
      assert.match(
        String((checkAnalystStatement(sql) as { reason?: string }).reason),
        /could not be read safely/,
        sql,
      );
    }
    for (const sql of ["SELECT\u00A0file('/etc/passwd')", "SELECT\u3000file('/x')", "SELECT 1e-file('/x')"]) {
      assert.deepEqual(
        checkAnalystStatement(sql),
        { allowed: false, reason: "function file() is not allowed: it reaches files, URLs or other servers" },
        sql,
      );
    }
    assert.deepEqual(checkAnalystStatement("SELECT 1e-5, 0x1F, 1_000, 'é'"), allowed);
  });

  it("treats a function after FROM, JOIN or a FROM-list comma as a table function", () => {
    assert.equal(checkAnalystStatement("SELECT a, lower(b) FROM t").allowed, true);
    assert.equal(
      checkAnalystStatement("SELECT x FROM (SELECT lower(b) AS x FROM t), numbers(2)").allowed,
      true,
    );
    assert.deepEqual(checkAnalystStatement("SELECT x FROM t, loop(t)"), {
      allowed: false,
      reason:
        "table function loop() is not allowed: only numbers, numbers_mt, zeros, zeros_mt, values, generaterandom, generate_series, generateseries, null, view, merge, format",
    });
  });
});

describe("analyst settings", () => {
  it("allows output formatting and readonly=1 only", () => {
    assert.deepEqual(
      checkAnalystSettings({ output_format_json_quote_64bit_integers: "1", readonly: "1" }),
      allowed,
    );
    assert.deepEqual(checkAnalystSettings({ readonly: "0" }), {
      allowed: false,
      reason: "Cannot modify 'readonly' setting in readonly mode",
    });
    assert.deepEqual(checkAnalystSettings({ output_format_schema: "/tmp/x" }), {
      allowed: false,
      reason: "Cannot modify 'output_format_schema' setting in readonly mode",
    });
  });
});
