import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ClickHouseStoreError, type ClickHouseStore } from "./port.ts";

/**
 * The behaviour every ClickHouseStore adapter must share (Gorse's baseTestSuite idea): the
 * in-process chdb adapter and the HTTP adapter both register these tests. Tables get a random
 * suffix so the suite can also run against a shared ClickHouse server.
 */
export function registerClickHouseStoreConformance(name: string, open: () => Promise<ClickHouseStore>): void {
  describe(`ClickHouseStore conformance: ${name}`, () => {
    let store: ClickHouseStore;
    const suffix = randomBytes(4).toString("hex");
    const events = `conf_events_${suffix}`;
    const latest = `conf_latest_${suffix}`;

    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.command(`DROP TABLE IF EXISTS ${events}`);
      await store.command(`DROP TABLE IF EXISTS ${latest}`);
      await store.close();
    });

    it("answers ping", async () => {
      assert.equal(await store.ping(), true);
    });

    it("creates a MergeTree table and inserts a batch", async () => {
      await store.command(
        `CREATE TABLE ${events} (id UInt32, user String, amount Float64, ts DateTime64(3, 'UTC'), big UInt64)
         ENGINE = MergeTree ORDER BY id`,
      );
      const rows = Array.from({ length: 1000 }, (_, i) => ({
        id: i,
        user: `u${i % 10}`,
        amount: i / 4,
        ts: new Date(Date.UTC(2024, 0, 1) + i * 1000),
        big: 18446744073709551615n - BigInt(i),
      }));
      await store.insert(events, rows);
      await store.insert(events, []);
      assert.deepEqual(await store.query(`SELECT count() AS n FROM ${events}`), [{ n: "1000" }]);
    });

    it("runs concurrent inserts and queries (as projections of several partitions do), losing nothing", async () => {
      const concurrent = `conf_concurrent_${suffix}`;
      await store.command(
        `CREATE TABLE ${concurrent} (w UInt32, i UInt32) ENGINE = MergeTree ORDER BY (w, i)`,
      );
      try {
        // More concurrent operations than any adapter's connection pool, inserts interleaved with reads.
        await Promise.all(
          Array.from({ length: 12 }, async (_, w) => {
            for (let batch = 0; batch < 3; batch++) {
              await store.insert(
                concurrent,
                Array.from({ length: 100 }, (_, i) => ({ w, i: batch * 100 + i })),
              );
              await store.query(`SELECT count() AS n FROM ${concurrent} WHERE w = {w:UInt32}`, { w });
            }
          }),
        );
        assert.deepEqual(
          await store.query(`SELECT count() AS n, uniqExact(w, i) AS distinct_rows FROM ${concurrent}`),
          [{ n: "3600", distinct_rows: "3600" }],
        );
      } finally {
        await store.command(`DROP TABLE IF EXISTS ${concurrent}`);
      }
    });

    it("keeps Dates, bigints and awkward strings exact through insert and select", async () => {
      await store.insert(events, [
        {
          id: 5000,
          user: "quote ' backslash \\ tab \t newline \n unicode é ☃",
          amount: 0.1,
          ts: new Date("2024-02-03T04:05:06.789Z"),
          big: 2n ** 63n,
        },
      ]);
      const rows = await store.query(
        `SELECT user, amount, toUnixTimestamp64Milli(ts) AS ms, big FROM ${events} WHERE id = 5000`,
      );
      assert.deepEqual(rows, [
        {
          user: "quote ' backslash \\ tab \t newline \n unicode é ☃",
          amount: 0.1,
          ms: String(Date.parse("2024-02-03T04:05:06.789Z")),
          big: "9223372036854775808",
        },
      ]);
      assert.deepEqual(await store.query(`SELECT big FROM ${events} WHERE id = 0`), [
        { big: "18446744073709551615" },
      ]);
    });

    it("binds {x:UInt32}, {s:String}, {d:DateTime64(3)} and {a:Array(String)} parameters", async () => {
      const rows = await store.query<{ id: number; user: string }>(
        `SELECT id, user FROM ${events}
         WHERE id < {x:UInt32} AND user = {s:String} AND ts >= {d:DateTime64(3)} AND user IN {a:Array(String)}
         ORDER BY id`,
        { x: 40, s: "u3", d: new Date(Date.UTC(2024, 0, 1, 0, 0, 13)), a: ["u3", "it's \\ odd"] },
      );
      assert.deepEqual(rows, [
        { id: 13, user: "u3" },
        { id: 23, user: "u3" },
        { id: 33, user: "u3" },
      ]);
      const echoed = await store.query(
        `SELECT {s:String} AS s, {n:Nullable(String)} AS n, {b:Bool} AS b, {i:Int64} AS i`,
        {
          s: "a'b\\c\td\ne",
          n: null,
          b: true,
          i: -9007199254740993n,
        },
      );
      assert.deepEqual(echoed, [{ s: "a'b\\c\td\ne", n: null, b: true, i: "-9007199254740993" }]);
    });

    it("computes aggregates", async () => {
      const rows = await store.query(
        `SELECT user, count() AS n, sum(amount) AS total, min(id) AS first
         FROM ${events} WHERE id < 1000 GROUP BY user HAVING user IN ('u0', 'u9') ORDER BY user`,
      );
      // u0: ids 0,10,...,990 → sum(id)/4 = 49500/4; u9: ids 9,19,...,999 → 50400/4.
      assert.deepEqual(rows, [
        { user: "u0", n: "100", total: 12375, first: 0 },
        { user: "u9", n: "100", total: 12600, first: 9 },
      ]);
      assert.deepEqual(
        await store.query(
          `SELECT uniqExact(user) AS users, round(avg(amount), 3) AS mean FROM ${events} WHERE id < 1000`,
        ),
        [{ users: "10", mean: 124.875 }],
      );
    });

    it("deduplicates a ReplacingMergeTree with FINAL", async () => {
      await store.command(
        `CREATE TABLE ${latest} (event_id String, version UInt32, value String) ENGINE = ReplacingMergeTree(version) ORDER BY event_id`,
      );
      await store.insert(latest, [
        { event_id: "a", version: 1, value: "old" },
        { event_id: "b", version: 1, value: "only" },
      ]);
      await store.insert(latest, [
        { event_id: "a", version: 2, value: "new" },
        { event_id: "a", version: 2, value: "new" },
      ]);
      assert.deepEqual(
        await store.query(`SELECT event_id, version, value FROM ${latest} FINAL ORDER BY event_id`),
        [
          { event_id: "a", version: 2, value: "new" },
          { event_id: "b", version: 1, value: "only" },
        ],
      );
      // optimize_on_insert (on by default) already collapses the duplicate inside the second block.
      assert.deepEqual(await store.query(`SELECT count() AS n FROM ${latest}`), [{ n: "3" }]);
    });

    it("runs a parameterised command", async () => {
      await store.command(`INSERT INTO ${latest} SELECT {id:String}, 9, 'from command'`, { id: "c" });
      assert.deepEqual(
        await store.query(`SELECT value FROM ${latest} FINAL WHERE event_id = {id:String}`, { id: "c" }),
        [{ value: "from command" }],
      );
    });

    it("rejects with the ClickHouse error code", async () => {
      await assert.rejects(store.query("SELECT * FROM conf_no_such_table"), isError(60, "UNKNOWN_TABLE"));
      await assert.rejects(store.query("SELEC 1"), isError(62, "SYNTAX_ERROR"));
      await assert.rejects(
        store.query("SELECT {x:UInt32} AS x", { x: "not a number" }),
        isError(457, "BAD_QUERY_PARAMETER"),
      );
      await assert.rejects(
        store.command(`CREATE TABLE ${latest} (x UInt8) ENGINE = Memory`),
        isError(57, "TABLE_ALREADY_EXISTS"),
      );
      await assert.rejects(store.insert("conf_no_such_table", [{ x: 1 }]), isError(60, "UNKNOWN_TABLE"));
      await assert.rejects(
        store.insert(events, [{ id: "not a number" }]),
        (error: unknown) => error instanceof ClickHouseStoreError && error.code > 0,
      );
      await assert.rejects(store.insert("bad name; DROP", [{ x: 1 }]), TypeError);
      assert.equal(await store.ping(), true, "a failed query leaves the store usable");
    });
  });
}

function isError(code: number, type: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof ClickHouseStoreError, `expected ClickHouseStoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.type, type);
    return true;
  };
}
