import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import { itemsRouter } from "./items-router.ts";

const NOW = new Date("2026-11-22T12:00:00Z");
let t: TestDatabase;
let api: Awaited<ReturnType<typeof serveForTest>>;

before(async () => {
  t = await createTestDatabase();
  const keys = new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] });
  api = await serveForTest([itemsRouter({ db: t.db, keys, now: () => NOW })]);
});
after(async () => {
  await api.close();
  await t.drop();
});

async function catalogEvents(itemId: string) {
  const { rows } = await t.db.query<{ type: string; payload: { item: { version: number } } }>(
    "SELECT type, payload FROM events WHERE kind = 'catalog' AND item_id = $1 ORDER BY position",
    [itemId],
  );
  return rows;
}

describe("catalog commands", () => {
  test("create, read, update with If-Match; each change is an item_changed event", async () => {
    const created = await api.call("PUT", "/v1/items/m1", {
      scope: "write",
      body: { title: "Heat", categories: ["crime", "thriller"], attributes: { year: 1995 } },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.status, "created");
    assert.equal(created.body.item.version, 1);
    assert.equal(created.headers.get("etag"), '"1"');
    assert.match(created.body.position, /^\d+\.\d+$/);

    const read = await api.call("GET", "/v1/items/m1", { scope: "read" });
    assert.deepEqual(read.body, {
      item_id: "m1",
      version: 1,
      title: "Heat",
      categories: ["crime", "thriller"],
      attributes: { year: 1995 },
      available: true,
      updated_at: NOW.toISOString(),
    });

    const updated = await api.call("PUT", "/v1/items/m1", {
      scope: "write",
      headers: { "if-match": '"1"' },
      body: { title: "Heat", categories: ["crime"], available: false },
    });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.item.version, 2);

    const events = await catalogEvents("m1");
    assert.deepEqual(
      events.map((e) => [e.type, e.payload.item.version]),
      [
        ["item_changed", 1],
        ["item_changed", 2],
      ],
    );
  });

  test("a stale version is refused with 409 and the current version", async () => {
    await api.call("PUT", "/v1/items/m2", { scope: "write", body: { title: "A" } });
    await api.call("PUT", "/v1/items/m2", { scope: "write", body: { title: "B" } });
    const stale = await api.call("PUT", "/v1/items/m2", {
      scope: "write",
      body: { title: "C", expected_version: 1 },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.current_version, 2);
    assert.equal(stale.body.expected_version, 1);
    const read = await api.call("GET", "/v1/items/m2", { scope: "read" });
    assert.equal(read.body.title, "B");
  });

  test("writing the same content again changes nothing and logs nothing", async () => {
    const body = { title: "Same", categories: ["x"], attributes: { a: 1, b: "two" } };
    await api.call("PUT", "/v1/items/m3", { scope: "write", body });
    const again = await api.call("PUT", "/v1/items/m3", { scope: "write", body });
    assert.equal(again.body.status, "unchanged");
    assert.equal((await catalogEvents("m3")).length, 1);
  });

  test("batch writes report each item; invalid entries are rejected by field", async () => {
    const res = await api.call("PUT", "/v1/items", {
      scope: "write",
      body: {
        items: [
          { item_id: "b1", title: "One", categories: ["c"] },
          { item_id: "b2", available: "yes" },
          { item_id: "b3", title: "Three" },
        ],
      },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.results.map((r: { status: string }) => r.status),
      ["created", "rejected", "created"],
    );
    assert.equal(res.body.results[1].errors[0].field, "items.1.available");
    assert.equal(res.body.results[1].errors[0].received, "yes");
  });

  test("unknown item is 404; write needs the write scope", async () => {
    assert.equal((await api.call("GET", "/v1/items/nope", { scope: "read" })).status, 404);
    const forbidden = await api.call("PUT", "/v1/items/x", { scope: "read", body: {} });
    assert.equal(forbidden.status, 403);
  });
});
