// Every command kind leaves an audit entry with the caller's key id (or cli:<user>), the request id and the
// outcome, refused and failed ones included; GET /v1/audit filters and pages them. Real Postgres; the erasure
// routes run without ClickHouse here (projectors/erasure/erasure.int.spec.ts covers every store).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, stackEnv, uniqueName, type TestDatabase } from "../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../core/testing/http.ts";
import { ApiKeys, keyId } from "../core/http/auth.ts";
import { auditRouter } from "../core/audit/audit-router.ts";
import { cliActor } from "../core/audit/audit-command.ts";
import type { ProjectionStore } from "../core/projection-store/port.ts";
import { loadEnv } from "../core/config/env.ts";
import { itemsRouter } from "../ingest/http/items-router.ts";
import { experimentsRouter } from "../analytics/experiments/router.ts";
import { holdoutsRouter } from "../analytics/holdouts/router.ts";
import { erasureRouter, erasureTarget } from "../projectors/erasure/erasure-router.ts";
import { ANALYTICS_DATABASE } from "../projectors/analytics/migrate.ts";
import { openProjectionStore } from "../projectors/store/open.ts";
import { runReplayCommand } from "../projectors/runtime/replay-command.ts";
import { activateModel, registerModel } from "../serving/models/registry.ts";

const WRITE = keyId(TEST_KEYS.write);
const ADMIN = keyId(TEST_KEYS.admin);

let t: TestDatabase;
let store: ProjectionStore;
let api: Awaited<ReturnType<typeof serveForTest>>;
const prefix = uniqueName("rkaudit");

before(async () => {
  t = await createTestDatabase();
  store = await openProjectionStore(stackEnv().REDIS_URL);
  const keys = new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] });
  api = await serveForTest([
    itemsRouter({ db: t.db, keys }),
    experimentsRouter({ db: t.db, keys }),
    holdoutsRouter({ db: t.db, keys }),
    erasureRouter({
      stores: { db: t.db, projectionStore: async () => store, prefix, analyticsDatabase: ANALYTICS_DATABASE },
      keys,
    }),
    auditRouter({ db: t.db, keys }),
  ]);
});

after(async () => {
  await api.close();
  await store.deleteByPrefix(`${prefix}:`);
  await store.close();
  await t.drop();
});

interface Entry {
  id: string;
  actor: string;
  request_id: string | null;
  action: string;
  target: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

async function audit(query = ""): Promise<Entry[]> {
  const res = await api.call("GET", `/v1/audit${query}`, { scope: "admin" });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.entries as Entry[];
}

const experiment = {
  key: "cta",
  name: "CTA",
  variants: [
    { key: "control", weight: 0.5 },
    { key: "treatment", weight: 0.5 },
  ],
  control: "control",
  metrics: [{ key: "purchase-rate", type: "conversion", event_type: "purchase" }],
};

describe("audit of every command", () => {
  test("the request id: a caller's well-formed one is kept and echoed, a malformed or missing one replaced", async () => {
    const kept = await api.call("GET", "/v1/items/i0", {
      scope: "read",
      headers: { "x-request-id": "abc-123" },
    });
    assert.equal(kept.headers.get("x-request-id"), "abc-123");
    const replaced = await api.call("GET", "/v1/items/i0", {
      scope: "read",
      headers: { "x-request-id": "two words" },
    });
    assert.match(replaced.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
    const generated = await api.call("GET", "/v1/items/i0", { scope: "read" });
    assert.match(generated.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
    assert.notEqual(generated.headers.get("x-request-id"), replaced.headers.get("x-request-id"));
  });

  test("catalog writes: ok and refused, by the write key, under the request id", async () => {
    const ok = await api.call("PUT", "/v1/items/i1", {
      scope: "write",
      headers: { "x-request-id": "req-item-1" },
      body: { categories: ["books"], attributes: {}, available: true },
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const refused = await api.call("PUT", "/v1/items/i1", { scope: "write", body: { categories: "books" } });
    assert.equal(refused.status, 400);
    const batch = await api.call("PUT", "/v1/items", {
      scope: "write",
      body: { items: [{ item_id: "i2", categories: [], attributes: {}, available: true }, { item_id: 3 }] },
    });
    assert.equal(batch.status, 200);

    const [entryBatch, entryRefused, entryOk] = await audit("?actor=" + WRITE);
    assert.deepEqual(
      { ...entryOk, id: undefined, at: undefined },
      {
        id: undefined,
        at: undefined,
        actor: WRITE,
        request_id: "req-item-1",
        action: "catalog.upsert",
        target: "i1",
        outcome: "ok",
        details: { method: "PUT", path: "/v1/items/i1", status: 201 },
      },
    );
    assert.equal(entryRefused!.outcome, "refused");
    assert.equal(entryRefused!.request_id, refused.headers.get("x-request-id"));
    assert.equal(entryRefused!.details.error, "invalid_item");
    assert.equal(entryBatch!.action, "catalog.upsert_batch");
    assert.deepEqual(
      { ...entryBatch!.details },
      {
        method: "PUT",
        path: "/v1/items",
        status: 200,
        items: 2,
        created: 1,
        updated: 0,
        conflicts: 0,
        rejected: 1,
        item_ids: ["i2", "3"],
      },
    );
  });

  test("experiment and holdout changes, by the admin key, with the version they produced", async () => {
    assert.equal(
      (await api.call("POST", "/v1/experiments", { scope: "admin", body: experiment })).status,
      201,
    );
    const start = await api.call("POST", "/v1/experiments/cta/start", {
      scope: "admin",
      body: { expected_version: 1 },
    });
    assert.equal(start.status, 200, JSON.stringify(start.body));
    const stale = await api.call("POST", "/v1/experiments/cta/stop", {
      scope: "admin",
      body: { expected_version: 1 },
    });
    assert.equal(stale.status, 409);
    const holdout = await api.call("POST", "/v1/holdouts", {
      scope: "admin",
      body: {
        key: "global",
        name: "Global holdout",
        share: 0.1,
        experiments: ["cta"],
        metrics: [{ key: "purchase-rate", type: "conversion", event_type: "purchase" }],
      },
    });
    assert.equal(holdout.status, 201, JSON.stringify(holdout.body));

    const entries = await audit(`?actor=${ADMIN}`);
    assert.deepEqual(
      entries.map((e) => [e.action, e.target, e.outcome, e.details.version ?? null]),
      [
        ["holdout.create", "global", "ok", 1],
        ["experiment.stop", "cta", "refused", null],
        ["experiment.start", "cta", "ok", 2],
        ["experiment.create", "cta", "ok", 1],
      ],
    );
  });

  test("erasures: single, bulk and refused, naming the user by a digest and never by the id", async () => {
    assert.equal((await api.call("DELETE", "/v1/users/u1", { scope: "admin" })).status, 200);
    const bulk = await api.call("POST", "/v1/erasures", {
      scope: "admin",
      body: { user_ids: ["u2", "u3"] },
    });
    assert.equal(bulk.status, 200);
    assert.deepEqual(
      bulk.body.users.map((u: { user_id: string }) => u.user_id),
      ["u2", "u3"],
    );
    const refused = await api.call("POST", "/v1/erasures", { scope: "admin", body: { user_ids: [] } });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.errors[0].field, "user_ids");
    assert.equal((await api.call("DELETE", "/v1/users/u1", { scope: "write" })).status, 403);

    const [erase] = await audit(`?action=user.erase&target=${erasureTarget("u1")}`);
    assert.equal(erase!.actor, ADMIN);
    assert.equal(erase!.outcome, "ok");
    assert.deepEqual(
      { ...erase!.details },
      {
        method: "DELETE",
        path: "/v1/users/u1",
        status: 200,
        users: 1,
        postgres_events: 0,
        projection_store_keys: 0,
        clickhouse_rows: 0,
      },
    );
    const bulkEntries = await audit("?action=user.erase_batch");
    const [badBulk, okBulk] = bulkEntries;
    assert.equal(bulkEntries.length, 2, JSON.stringify(bulkEntries));
    assert.equal(badBulk!.outcome, "refused");
    assert.deepEqual(okBulk!.details.targets, [erasureTarget("u2"), erasureTarget("u3")]);
    const all = JSON.stringify(await audit("?limit=1000"));
    for (const id of ['"u1"', '"u2"', '"u3"']) assert.ok(!all.includes(id), `${id} is in the audit log`);
  });

  test("model registrations and activations and replays, by cli:<user>; refused ones too", async () => {
    const actor = cliActor();
    const version = await registerModel(
      t.db,
      { onnx: new Uint8Array([1, 2, 3]), source: "test", artifactVersion: null },
      actor,
    );
    await activateModel(t.db, version, actor);
    await assert.rejects(activateModel(t.db, version + 100, actor), /not registered/);
    const env = loadEnv({ ...process.env, DATABASE_URL: t.url });
    await assert.rejects(runReplayCommand(env, { projection: "nope" }), /unknown projection/);
    await assert.rejects(runReplayCommand(env, { projection: "features", from: "x" }), /--from/);

    const entries = await audit(`?actor=${encodeURIComponent(actor)}`);
    assert.deepEqual(
      entries.map((e) => [e.action, e.target, e.outcome, e.request_id]),
      [
        ["projection.replay", "features", "refused", null],
        ["projection.replay", "nope", "refused", null],
        ["model.activate", String(version + 100), "refused", null],
        ["model.activate", String(version), "ok", null],
        ["model.register", String(version), "ok", null],
      ],
    );
  });
});

describe("GET /v1/audit", () => {
  test("filters by time, pages with a cursor without repeating or skipping, and refuses bad filters", async () => {
    const everything = await audit("?limit=1000");
    assert.ok(everything.length >= 15, String(everything.length));
    const paged: Entry[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const res = await api.call("GET", `/v1/audit?limit=4${cursor ? `&cursor=${cursor}` : ""}`, {
        scope: "admin",
      });
      assert.equal(res.status, 200);
      paged.push(...res.body.entries);
      cursor = res.body.next_cursor;
    }
    assert.deepEqual(
      paged.map((e) => e.id),
      everything.map((e) => e.id),
    );
    assert.deepEqual(paged, everything);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    assert.deepEqual(await audit(`?from=${encodeURIComponent(future)}`), []);
    assert.equal((await audit(`?to=${encodeURIComponent(future)}&limit=1000`)).length, everything.length);
    assert.deepEqual(await audit("?outcome=failed"), []);
    // An offset Postgres would refuse (beyond ±15:59) is still a valid ISO time.
    assert.equal(
      (await audit(`?from=${encodeURIComponent("0146-08-22T13:14:51.749-20:51")}&limit=1000`)).length,
      everything.length,
    );

    const bad = await api.call("GET", "/v1/audit?limit=0&colour=red", { scope: "admin" });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), ["colour", "limit"]);
    const nul = await api.call("GET", "/v1/audit?target=a%00b", { scope: "admin" });
    assert.equal(nul.status, 400);
    assert.equal(nul.body.errors[0].field, "target");
    // from after to is an empty window, not an error.
    assert.deepEqual(await audit(`?from=${encodeURIComponent(future)}&to=2020-01-01T00:00:00Z`), []);
    assert.equal((await api.call("GET", "/v1/audit", { scope: "read" })).status, 403);
  });
});
