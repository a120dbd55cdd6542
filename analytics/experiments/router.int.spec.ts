// The experiments API over HTTP on a real Postgres: invariants, optimistic concurrency (stale and
// racing writers), the audit log and the event log, assignment determinism and exposure recording.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys, keyId } from "../../core/http/auth.ts";
import { assignVariant } from "../../serving/assignment/index.ts";
import pg from "pg";
import { experimentsRouter } from "./router.ts";
import { ExperimentRepository } from "./repository.ts";
import { exposureEventId } from "../../serving/assignment/exposure.ts";

const NOW = new Date("2026-02-01T10:00:00.000Z");
let t: TestDatabase;
let api: Awaited<ReturnType<typeof serveForTest>>;

before(async () => {
  t = await createTestDatabase();
  const keys = new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] });
  api = await serveForTest([experimentsRouter({ db: t.db, keys, now: () => NOW })]);
});
after(async () => {
  await api.close();
  await t.drop();
});

const definition = (key: string, extra: Record<string, unknown> = {}) => ({
  key,
  name: `Experiment ${key}`,
  variants: [
    { key: "control", weight: 0.5 },
    { key: "treatment", weight: 0.5 },
  ],
  control: "control",
  metrics: [{ key: "purchase-rate", type: "conversion", event_type: "purchase", window_hours: 72 }],
  ...extra,
});

async function create(key: string, extra: Record<string, unknown> = {}) {
  const res = await api.call("POST", "/v1/experiments", { body: definition(key, extra) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res;
}

describe("experiment management", () => {
  test("create answers 201 with the stored definition, ETag 1 and a position token", async () => {
    const res = await create("checkout-cta");
    assert.equal(res.headers.get("etag"), '"1"');
    assert.equal(res.body.key, "checkout-cta");
    assert.equal(res.body.version, 1);
    assert.equal(res.body.status, "draft");
    assert.equal(res.body.created_by, keyId(TEST_KEYS.admin));
    assert.equal(res.body.created_at, NOW.toISOString());
    assert.deepEqual(res.body.definition.metrics, [
      {
        key: "purchase-rate",
        type: "conversion",
        event_type: "purchase",
        window_hours: 72,
        guardrail: false,
        direction: "increase",
      },
    ]);
    assert.equal(res.body.definition.correction, "holm");
    assert.match(res.body.position, /^\d+\.\d+$/);

    const read = await api.call("GET", "/v1/experiments/checkout-cta", { scope: "read" });
    assert.equal(read.status, 200);
    assert.equal(read.headers.get("etag"), '"1"');
    const { position: _p, ...withoutPosition } = res.body;
    assert.deepEqual(read.body, withoutPosition);
  });

  test("invariants: each broken rule names the field, rule and received value", async () => {
    const res = await api.call("POST", "/v1/experiments", {
      body: definition("bad-weights", {
        variants: [
          { key: "control", weight: 0.5 },
          { key: "treatment", weight: 0.6 },
        ],
        control: "nope",
      }),
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, "validation");
    const byField = Object.fromEntries(res.body.errors.map((e: { field: string }) => [e.field, e]));
    assert.equal(byField.variants.rule, "weights_sum_to_one");
    assert.deepEqual(byField.variants.received, [0.5, 0.6]);
    assert.equal(byField.control.rule, "control_is_a_variant");
    assert.equal(byField.control.received, "nope");

    const one = await api.call("POST", "/v1/experiments", {
      body: definition("one-variant", { variants: [{ key: "control", weight: 1 }] }),
    });
    assert.equal(one.status, 400);
    assert.equal(one.body.errors[0].field, "variants");
    assert.equal(one.body.errors[0].rule, "too_small");

    const noMetrics = await api.call("POST", "/v1/experiments", {
      body: definition("no-metrics", { metrics: [] }),
    });
    assert.equal(noMetrics.status, 400);
    assert.equal(noMetrics.body.errors[0].field, "metrics");

    const unknown = await api.call("POST", "/v1/experiments", {
      body: definition("extra", { colour: "red" }),
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.errors[0].field, "colour");
    assert.equal(unknown.body.errors[0].rule, "unrecognized_keys");

    const list = await api.call("GET", "/v1/experiments", { scope: "read" });
    assert.deepEqual(
      list.body.experiments.map((e: { key: string }) => e.key),
      ["checkout-cta"],
      "refused commands store nothing",
    );
  });

  test("a key is never reused: a second create is 409 already_exists", async () => {
    await create("unique-key");
    const again = await api.call("POST", "/v1/experiments", { body: definition("unique-key") });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, "already_exists");
    assert.equal(again.body.errors[0].field, "key");
  });

  test("scopes: read keys cannot manage, write keys cannot either, no key is 401", async () => {
    const asRead = await api.call("POST", "/v1/experiments", { scope: "read", body: definition("scoped") });
    assert.equal(asRead.status, 403);
    const asWrite = await api.call("POST", "/v1/experiments", { scope: "write", body: definition("scoped") });
    assert.equal(asWrite.status, 403);
    const anonymous = await api.call("GET", "/v1/experiments", { scope: "none" });
    assert.equal(anonymous.status, 401);
  });

  test("a patch whose body is not an object (null, a list, a string) is 400 naming the body, not 500", async () => {
    await create("bodiless");
    for (const raw of ["null", "[]", '"name"']) {
      const res = await api.call("PATCH", "/v1/experiments/bodiless", {
        headers: { "if-match": '"1"' },
        raw,
      });
      assert.equal(res.status, 400, `body ${JSON.stringify(raw)}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body, {
        error: "validation",
        message: "the body must be an object with the fields to change",
        errors: [{ field: "(body)", rule: "the body must be an object with the fields to change" }],
      });
    }
    const read = await api.call("GET", "/v1/experiments/bodiless", { scope: "read" });
    assert.equal(read.body.version, 1, "nothing changed");
  });

  test("patch needs a version; a stale version is 409 and changes nothing", async () => {
    await create("pricing");
    const noVersion = await api.call("PATCH", "/v1/experiments/pricing", { body: { name: "Pricing v2" } });
    assert.equal(noVersion.status, 428);

    const ok = await api.call("PATCH", "/v1/experiments/pricing", {
      headers: { "if-match": '"1"' },
      body: { name: "Pricing v2", traffic: 0.5 },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.headers.get("etag"), '"2"');
    assert.equal(ok.body.definition.name, "Pricing v2");
    assert.equal(ok.body.definition.traffic, 0.5);

    const stale = await api.call("PATCH", "/v1/experiments/pricing", {
      body: { name: "Lost", expected_version: 1 },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.error, "conflict");
    assert.equal(stale.body.errors[0].field, "expected_version");
    assert.equal(stale.body.errors[0].expected, "2");

    const mismatch = await api.call("PATCH", "/v1/experiments/pricing", {
      headers: { "if-match": '"2"' },
      body: { name: "x", expected_version: 1 },
    });
    assert.equal(mismatch.status, 400);

    const read = await api.call("GET", "/v1/experiments/pricing", { scope: "read" });
    assert.equal(read.body.definition.name, "Pricing v2");
    assert.equal(read.body.version, 2);
  });

  test("lifecycle: start freezes variants, traffic may only grow; stop, archive; nothing after archive", async () => {
    await create("lifecycle", { traffic: 0.2 });
    const started = await api.call("POST", "/v1/experiments/lifecycle/start", {
      body: { expected_version: 1 },
    });
    assert.equal(started.status, 200);
    assert.equal(started.body.status, "running");
    assert.equal(started.body.started_at, NOW.toISOString());

    const reweigh = await api.call("PATCH", "/v1/experiments/lifecycle", {
      headers: { "if-match": '"2"' },
      body: {
        variants: [
          { key: "control", weight: 0.4 },
          { key: "treatment", weight: 0.6 },
        ],
      },
    });
    assert.equal(reweigh.status, 409);
    assert.equal(reweigh.body.error, "invalid_state");
    assert.equal(reweigh.body.errors[0].rule, "frozen_after_start");

    const shrink = await api.call("PATCH", "/v1/experiments/lifecycle", {
      headers: { "if-match": '"2"' },
      body: { traffic: 0.1 },
    });
    assert.equal(shrink.status, 409);
    assert.equal(shrink.body.errors[0].rule, "traffic_only_grows");

    const grow = await api.call("PATCH", "/v1/experiments/lifecycle", {
      headers: { "if-match": '"2"' },
      body: { traffic: 0.4 },
    });
    assert.equal(grow.status, 200);

    const archiveRunning = await api.call("POST", "/v1/experiments/lifecycle/archive", {
      headers: { "if-match": '"3"' },
    });
    assert.equal(archiveRunning.status, 409);
    assert.equal(archiveRunning.body.error, "invalid_state");

    const stopped = await api.call("POST", "/v1/experiments/lifecycle/stop", {
      headers: { "if-match": '"3"' },
    });
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.status, "stopped");
    const restart = await api.call("POST", "/v1/experiments/lifecycle/start", {
      headers: { "if-match": '"4"' },
    });
    assert.equal(restart.status, 409);
    const archived = await api.call("POST", "/v1/experiments/lifecycle/archive", {
      headers: { "if-match": '"4"' },
    });
    assert.equal(archived.status, 200);
    assert.equal(archived.body.status, "archived");
    const afterArchive = await api.call("PATCH", "/v1/experiments/lifecycle", {
      headers: { "if-match": '"5"' },
      body: { name: "x" },
    });
    assert.equal(afterArchive.status, 409);

    const missing = await api.call("POST", "/v1/experiments/nope/start", { headers: { "if-match": '"1"' } });
    assert.equal(missing.status, 404);

    const running = await api.call("GET", "/v1/experiments?status=archived", { scope: "read" });
    assert.deepEqual(
      running.body.experiments.map((e: { key: string }) => e.key),
      ["lifecycle"],
    );
  });

  test("audit log and event log: one row per accepted change, same event id, who and what", async () => {
    const changes = await api.call("GET", "/v1/experiments/lifecycle/changes", { scope: "read" });
    assert.equal(changes.status, 200);
    const admin = keyId(TEST_KEYS.admin);
    assert.deepEqual(
      changes.body.changes.map(
        (c: { version: number; event_type: string; api_key_id: string; at: string }) => [
          c.version,
          c.event_type,
          c.api_key_id,
          c.at,
        ],
      ),
      [
        [1, "ExperimentCreated", admin, NOW.toISOString()],
        [2, "ExperimentStarted", admin, NOW.toISOString()],
        [3, "ExperimentUpdated", admin, NOW.toISOString()],
        [4, "ExperimentStopped", admin, NOW.toISOString()],
        [5, "ExperimentArchived", admin, NOW.toISOString()],
      ],
    );
    assert.deepEqual(changes.body.changes[2].change.changes, { traffic: 0.4 });

    const { rows } = await t.db.query<{ event_id: string; type: string; payload: Record<string, unknown> }>(
      `SELECT event_id::text, type, payload FROM events
       WHERE kind = 'experiment' AND payload->>'experiment_key' = 'lifecycle' ORDER BY position`,
    );
    assert.deepEqual(
      rows.map((r) => [r.event_id, r.type, r.payload.version]),
      changes.body.changes.map((c: { event_id: string; event_type: string; version: number }) => [
        c.event_id,
        c.event_type,
        c.version,
      ]),
    );
    const last = rows.at(-1)!.payload.experiment as { status: string; version: number };
    assert.equal(last.status, "archived");
    assert.equal(last.version, 5);

    const none = await api.call("GET", "/v1/experiments/never/changes", { scope: "read" });
    assert.equal(none.status, 404);
  });

  test("racing writers at the same version: exactly one wins, the other gets 409, the log has one change", async () => {
    await create("race");
    const patches = Array.from({ length: 8 }, (_, i) =>
      api.call("PATCH", "/v1/experiments/race", {
        headers: { "if-match": '"1"' },
        body: { name: `writer ${i}` },
      }),
    );
    const results = await Promise.all(patches);
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) assert.equal(r.body.error, "conflict");
    const winner = results.find((r) => r.status === 200)!;
    const read = await api.call("GET", "/v1/experiments/race", { scope: "read" });
    assert.equal(read.body.version, 2);
    assert.equal(read.body.definition.name, winner.body.definition.name);
    const changes = await api.call("GET", "/v1/experiments/race/changes", { scope: "read" });
    assert.equal(changes.body.changes.length, 2);

    const creates = await Promise.all(
      Array.from({ length: 5 }, () =>
        api.call("POST", "/v1/experiments", { body: definition("race-create") }),
      ),
    );
    assert.deepEqual(creates.map((r) => r.status).sort(), [201, 409, 409, 409, 409]);
  });
});

describe("the version-conditional write", () => {
  test("a writer that decided on version 1 while another commits version 2 is refused, not applied", async () => {
    await create("interleaved");
    const repo = new ExperimentRepository(t.db);
    // The other writer: has written version 2 in an open transaction (row locked, not yet committed).
    const other = new pg.Client({ connectionString: t.url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query(
        `UPDATE experiments SET version = 2, state = jsonb_set(jsonb_set(state, '{version}', '2'), '{definition,name}', '"other"')
         WHERE key = 'interleaved' AND version = 1`,
      );
      // Ours reads the committed version 1, so the decider accepts; its UPDATE then waits on the row lock.
      const ours = repo
        .execute(
          {
            type: "UpdateExperiment",
            data: {
              experiment_key: "interleaved",
              expected_version: 1,
              api_key_id: "k",
              patch: { name: "ours" },
            },
          },
          NOW,
        )
        .then(
          () => "applied",
          (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
        );
      await waitUntilBlockedOnALock(other);
      await other.query("COMMIT");
      assert.match(await ours, /^conflict: .*changed by a concurrent request after version 1/);
    } finally {
      await other.end();
    }
    const read = await api.call("GET", "/v1/experiments/interleaved", { scope: "read" });
    assert.equal(read.body.definition.name, "other");
    const { rows } = await t.db.query("SELECT version FROM experiment_changes WHERE key = 'interleaved'");
    assert.equal(rows.length, 1, "the refused change left no audit row");
  });
});

/** Synchronisation, not timing: returns once some backend of this database waits for a row lock. */
async function waitUntilBlockedOnALock(client: pg.Client): Promise<void> {
  for (;;) {
    const { rows } = await client.query(
      `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("assignment", () => {
  test("not running: variant null with the reason, nothing recorded", async () => {
    await create("assign-draft");
    const res = await api.call("GET", "/v1/experiments/assign-draft/assignment?user_id=u1", {
      scope: "read",
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      experiment_key: "assign-draft",
      user_id: "u1",
      status: "draft",
      variant: null,
      in_experiment: false,
      reason: "not_running",
      bucket: null,
      exposure: null,
      position: null,
    });
    const missing = await api.call("GET", "/v1/experiments/nope/assignment?user_id=u1", { scope: "read" });
    assert.equal(missing.status, 404);
    const noUser = await api.call("GET", "/v1/experiments/assign-draft/assignment", { scope: "read" });
    assert.equal(noUser.status, 400);
    assert.equal(noUser.body.errors[0].field, "user_id");
  });

  test("deterministic, equal to serving/assignment, and records the first exposure once", async () => {
    const created = await create("assign-run", { traffic: 0.5 });
    await api.call("POST", "/v1/experiments/assign-run/start", { headers: { "if-match": '"1"' } });
    const def = created.body.definition;

    let inTraffic = 0;
    for (let i = 0; i < 40; i++) {
      const user = `user-${i}`;
      const res = await api.call(
        "GET",
        `/v1/experiments/assign-run/assignment?user_id=${user}&record=false`,
        {
          scope: "read",
        },
      );
      assert.equal(res.status, 200);
      const expected = assignVariant(def, user);
      assert.equal(res.body.variant, expected?.variant_key ?? null, user);
      assert.equal(res.body.reason, expected ? "assigned" : "not_in_traffic");
      assert.equal(res.body.exposure, null);
      if (expected) inTraffic += 1;
    }
    assert.ok(inTraffic > 0 && inTraffic < 40, `traffic 0.5 lets some in: ${inTraffic}`);
    const { rows: none } = await t.db.query("SELECT 1 FROM events WHERE type = 'exposure'");
    assert.equal(none.length, 0, "record=false records nothing");

    const user = Array.from({ length: 40 }, (_, i) => `user-${i}`).find((u) => assignVariant(def, u))!;
    const first = await api.call("GET", `/v1/experiments/assign-run/assignment?user_id=${user}`, {
      scope: "read",
    });
    const second = await api.call("GET", `/v1/experiments/assign-run/assignment?user_id=${user}`, {
      scope: "read",
    });
    assert.equal(first.body.variant, assignVariant(def, user)!.variant_key);
    assert.equal(second.body.variant, first.body.variant);
    assert.deepEqual(first.body.exposure, {
      event_id: exposureEventId("assign-run", user),
      status: "accepted",
    });
    assert.deepEqual(second.body.exposure, {
      event_id: exposureEventId("assign-run", user),
      status: "duplicate",
    });
    assert.equal(second.body.position, first.body.position);
    assert.match(first.body.position, /^\d+\.\d+$/);

    const { rows } = await t.db.query<{ user_id: string; payload: Record<string, unknown> }>(
      "SELECT user_id, payload FROM events WHERE kind = 'interaction' AND type = 'exposure'",
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.user_id, user);
    assert.deepEqual(rows[0]!.payload.experiment, { key: "assign-run", variant: first.body.variant });
    assert.equal(rows[0]!.payload.timestamp, NOW.toISOString());
  });
});
