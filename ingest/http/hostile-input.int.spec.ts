// Bad input as an attacker or a broken client sends it, on the write API over a real Postgres: every case is a
// 4xx naming the body or the field (never a 500), and the valid events of a batch are still stored.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import { experimentsRouter } from "../../analytics/experiments/router.ts";
import { eventsRouter } from "./events-router.ts";
import { itemsRouter } from "./items-router.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on response fields directly
const json = async (response: Response): Promise<any> => response.json();

const NOW = new Date("2026-11-22T12:00:00Z");
let t: TestDatabase;
let api: Awaited<ReturnType<typeof serveForTest>>;

before(async () => {
  t = await createTestDatabase();
  const keys = new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] });
  api = await serveForTest([
    eventsRouter({ db: t.db, keys, maxEventAgeMs: 72 * 3_600_000, maxClockSkewMs: 300_000, now: () => NOW }),
    itemsRouter({ db: t.db, keys, now: () => NOW }),
    experimentsRouter({ db: t.db, keys, now: () => NOW }),
  ]);
});
after(async () => {
  await api.close();
  await t.drop();
});

const view = (over: Record<string, unknown> = {}) => ({
  event_id: randomUUID(),
  type: "view",
  user_id: "u1",
  item_id: "i1",
  timestamp: "2026-11-22T11:59:00Z",
  ...over,
});

async function stored(eventIds: string[]): Promise<number> {
  const { rows } = await t.db.query<{ n: string }>(
    "SELECT count(*) AS n FROM events WHERE event_id = ANY($1::uuid[])",
    [eventIds],
  );
  return Number(rows[0]!.n);
}

/** Sends raw bytes (JSON text written by hand, so escapes like \u0000 and \ud800 reach the server as sent). */
function raw(method: string, path: string, body: string | Buffer, contentType = "application/json") {
  return fetch(api.base + path, {
    method,
    headers: { authorization: `Bearer ${TEST_KEYS.admin}`, "content-type": contentType },
    body,
  });
}

describe("PUT /v1/items/:id without a JSON object body (issue 16 item 4)", () => {
  test("text/plain, empty and null bodies are refused and the item keeps its fields", async () => {
    const created = await api.call("PUT", "/v1/items/keep-me", {
      scope: "write",
      body: { title: "Heat", categories: ["crime"], attributes: { year: 1995 } },
    });
    assert.equal(created.status, 201);

    const plain = await raw("PUT", "/v1/items/keep-me", '{"title":"x"}', "text/plain");
    assert.equal(plain.status, 415);
    assert.deepEqual((await json(plain)).errors, [
      {
        field: "(body)",
        rule: "must be a JSON object sent with Content-Type: application/json",
        received: "text/plain",
      },
    ]);
    const empty = await raw("PUT", "/v1/items/keep-me", "");
    assert.equal(empty.status, 400);
    assert.deepEqual((await json(empty)).errors, [
      { field: "(body)", rule: "must be a JSON object", received: "an empty body" },
    ]);
    const nul = await raw("PUT", "/v1/items/keep-me", "null");
    assert.equal(nul.status, 400);
    assert.deepEqual((await json(nul)).errors, [
      { field: "(body)", rule: "must be a JSON object", received: null },
    ]);

    const read = await api.call("GET", "/v1/items/keep-me", { scope: "read" });
    assert.equal(read.body.version, 1);
    assert.equal(read.body.title, "Heat");
    assert.deepEqual(read.body.categories, ["crime"]);
  });
});

describe("one bad value is a 400 naming it, and the rest of the batch is stored (issue 16 item 5)", () => {
  const TEXT_RULE = "must be well-formed Unicode text without NUL (U+0000) characters";
  const TIME_RULE =
    "must be an ISO-8601 date-time with a timezone offset within ±14:00, between 1900-01-01 and 2299-12-31";

  test("NUL and lone surrogates in properties or context, odd offsets and year 0000", async () => {
    const good = [view(), view()];
    const bad = [
      { json: '{"note":"a\\u0000b"}', field: "properties", at: "events.1.properties.note", rule: TEXT_RULE },
      {
        json: '{"\\u0000":1}',
        field: "properties",
        at: "events.2.properties.\u0000",
        rule: `key ${TEXT_RULE}`,
      },
      { json: '{"device":"\\ud800"}', field: "context", at: "events.3.context.device", rule: TEXT_RULE },
      { json: '"2026-11-22T11:59:00+23:59"', field: "timestamp", at: "events.4.timestamp", rule: TIME_RULE },
    ];
    const events = [
      JSON.stringify(good[0]),
      ...bad.map((b) => {
        const base = JSON.stringify(view()).slice(0, -1);
        return b.field === "timestamp"
          ? base.replace(/"timestamp":"[^"]*"/, `"timestamp":${b.json}`) + "}"
          : `${base},"${b.field}":${b.json}}`;
      }),
      JSON.stringify(good[1]),
    ];
    const response = await raw("POST", "/v1/events", `{"events":[${events.join(",")}]}`);
    const body = await json(response);
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.accepted, 2);
    assert.equal(body.rejected, 4);
    assert.deepEqual(
      body.results
        .filter((r: { status: string }) => r.status === "rejected")
        .map((r: { errors: unknown }) => r.errors),
      bad.map((b) => [
        {
          field: b.at,
          rule: b.rule,
          received: JSON.parse(`[${b.json}]`)[0][b.at.split(".").at(-1)!] ?? JSON.parse(b.json),
        },
      ]),
    );
    assert.equal(await stored(good.map((e) => e.event_id)), 2);
  });

  test("a backfilled year 0000 is refused, not a 500", async () => {
    const old = view({ timestamp: "0000-01-01T00:00:00Z" });
    const response = await api.call("POST", "/v1/events?backfill=true", { body: old });
    assert.equal(response.status, 400);
    assert.deepEqual(response.body.results[0].errors, [
      { field: "timestamp", rule: TIME_RULE, received: "0000-01-01T00:00:00Z" },
    ]);
  });

  test("NUL and lone surrogates in an item's title or attributes", async () => {
    const title = await raw("PUT", "/v1/items/nul-title", '{"title":"a\\u0000"}');
    assert.equal(title.status, 400);
    assert.deepEqual((await json(title)).errors, [{ field: "title", rule: TEXT_RULE, received: "a\u0000" }]);
    const attribute = await raw("PUT", "/v1/items/nul-attr", '{"attributes":{"k":"\\udc00x"}}');
    assert.equal(attribute.status, 400);
    assert.deepEqual((await json(attribute)).errors, [
      { field: "attributes.k", rule: TEXT_RULE, received: "\udc00x" },
    ]);
    const batch = await raw(
      "PUT",
      "/v1/items",
      '{"items":[{"item_id":"ok-1"},{"item_id":"bad","title":"\\u0000"}]}',
    );
    const batchBody = await json(batch);
    assert.equal(batch.status, 200);
    assert.deepEqual(
      batchBody.results.map((r: { status: string }) => r.status),
      ["created", "rejected"],
    );
  });

  test("%00 in item and experiment paths", async () => {
    const put = await api.call("PUT", "/v1/items/a%00b", { scope: "write", body: { title: "x" } });
    assert.equal(put.status, 400);
    assert.equal(put.body.errors[0].field, "itemId");
    const get = await api.call("GET", "/v1/items/%00", { scope: "read" });
    assert.equal(get.status, 400);
    const experiment = await api.call("GET", "/v1/experiments/%00", { scope: "read" });
    assert.equal(experiment.status, 400);
    assert.deepEqual(experiment.body.errors[0].field, "key");
    const results = await api.call("GET", "/v1/experiments/a%00/results", { scope: "read" });
    assert.equal(results.status, 400);
  });

  test("NUL in an experiment's name", async () => {
    const response = await raw(
      "POST",
      "/v1/experiments",
      JSON.stringify({
        key: "nul-name",
        name: "x",
        variants: [
          { key: "control", weight: 0.5 },
          { key: "treatment", weight: 0.5 },
        ],
        control: "control",
        metrics: [{ key: "buy", type: "conversion", event_type: "purchase" }],
      }).replace('"name":"x"', '"name":"x\\u0000"'),
    );
    const body = await json(response);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.deepEqual(
      body.errors.map((e: { field: string; expected: string }) => [e.field, e.expected]),
      [["name", TEXT_RULE]],
    );
  });
});

describe("hostile bodies (issue 16 item 6 and invalid UTF-8)", () => {
  const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;

  test("JSON nested 5,000+ levels is a 400 on events, items and experiments", async () => {
    for (const [method, path, body] of [
      ["POST", "/v1/events", `{"events":${deep(5000)}}`],
      ["POST", "/v1/events", JSON.stringify(view()).replace(/}$/, `,"properties":{"p":${deep(20_000)}}}`)],
      ["PUT", "/v1/items/deep", `{"attributes":{"a":${deep(5000)}}}`],
      ["POST", "/v1/experiments", `{"key":"deep","metrics":${deep(100_000)}}`],
    ] as const) {
      const response = await raw(method, path, body);
      assert.equal(response.status, 400, path);
      assert.deepEqual((await json(response)).errors, [
        {
          field: "(body)",
          rule: "must nest at most 64 levels of objects and arrays",
          received: "more than 64 levels",
        },
      ]);
    }
  });

  test("a body that is not UTF-8 is refused instead of stored as U+FFFD", async () => {
    const event = view({ properties: { note: "caf_" } });
    const bytes = Buffer.from(JSON.stringify(event));
    bytes[bytes.indexOf("caf_") + 3] = 0xe9; // latin-1 é: not UTF-8
    const response = await raw("POST", "/v1/events", bytes);
    assert.equal(response.status, 400);
    assert.deepEqual((await json(response)).errors, [
      { field: "(body)", rule: "must be valid UTF-8", received: "bytes that are not UTF-8" },
    ]);
    assert.equal(await stored([event.event_id]), 0);
  });
});

describe("one id rule for users and items on every write route (issue 16 item 7)", () => {
  const ID_RULE = "must be 1–256 characters without whitespace or control characters";

  test("256 emoji pass and 257 fail, as user and as item ids; whitespace fails in a PUT path and a batch", async () => {
    const fits = "😀".repeat(256);
    const tooLong = "😀".repeat(257);
    const ok = await api.call("POST", "/v1/events", {
      scope: "write",
      body: view({ user_id: fits, item_id: fits }),
    });
    assert.equal(ok.status, 200);
    const long = await api.call("POST", "/v1/events", { scope: "write", body: view({ user_id: tooLong }) });
    assert.equal(long.status, 400);
    assert.deepEqual(long.body.results[0].errors, [
      { field: "user_id", rule: ID_RULE, received: `${tooLong.slice(0, 200)}…` },
    ]);

    const putOk = await api.call("PUT", `/v1/items/${encodeURIComponent(fits)}`, {
      scope: "write",
      body: {},
    });
    assert.equal(putOk.status, 201);
    const putLong = await api.call("PUT", `/v1/items/${"x".repeat(300)}`, { scope: "write", body: {} });
    assert.equal(putLong.status, 400);
    assert.deepEqual(putLong.body.errors, [{ field: "itemId", rule: ID_RULE, received: "x".repeat(300) }]);
    const putSpace = await api.call("PUT", "/v1/items/a%20b", { scope: "write", body: {} });
    assert.equal(putSpace.status, 400);
    assert.deepEqual(putSpace.body.errors, [{ field: "itemId", rule: ID_RULE, received: "a b" }]);
    const batch = await api.call("PUT", "/v1/items", {
      scope: "write",
      body: { items: [{ item_id: "a b" }] },
    });
    assert.equal(batch.status, 400);
    assert.deepEqual(batch.body.results[0].errors, [
      { field: "items.0.item_id", rule: ID_RULE, received: "a b" },
    ]);
  });
});
