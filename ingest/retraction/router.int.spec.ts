// POST /v1/retractions over HTTP: admin only, field errors for bad bodies (recorded as refused), a dry run,
// the retraction and its repetition, each with its audit entry.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys, keyId } from "../../core/http/auth.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { readEncodedLogBatch, readLogBatch } from "../../core/event-store/log-reader.ts";
import { LOG_START } from "../../core/contracts/position.ts";
import { messageKey } from "../../core/contracts/log-message.ts";
import { decodeLogMessage } from "../../projectors/runtime/decode.ts";
import { retractionsRouter } from "./router.ts";

let t: TestDatabase;
let api: Awaited<ReturnType<typeof serveForTest>>;
const ids = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"];

before(async () => {
  t = await createTestDatabase();
  const keys = new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] });
  api = await serveForTest([retractionsRouter({ db: t.db, keys })]);
  await appendInteractionEvents(
    t.db,
    ids.map((event_id, i) => ({
      event_id,
      type: "purchase",
      user_id: "refunded",
      item_id: `i${i}`,
      value: 10,
      timestamp: "2026-11-01T10:00:00.000Z",
    })),
  );
});
after(async () => {
  await api.close();
  await t.drop();
});

const audit = async () =>
  (
    await t.db.query<{ actor: string; action: string; outcome: string; request_id: string | null }>(
      "SELECT actor, action, outcome, request_id FROM audit_log ORDER BY id",
    )
  ).rows;

describe("POST /v1/retractions", () => {
  test("needs the admin scope", async () => {
    const answer = await api.call("POST", "/v1/retractions", {
      scope: "write",
      body: { user_id: "refunded" },
    });
    assert.equal(answer.status, 403);
  });

  test("answers 400 naming the field and the rule, and records the refusal", async () => {
    const cases: [unknown, string, string][] = [
      [
        {},
        "(body)",
        "must name what to retract: at least one of event_ids, user_id, type, experiment, from, to",
      ],
      [{ event_ids: ["nope"] }, "event_ids.0", "must be a UUID"],
      [
        { user_id: "x", from: "2026-11-02T00:00:00Z", to: "2026-11-01T00:00:00Z" },
        "to",
        "must be after from",
      ],
      [{ user_id: "x", dry: true }, "dry", "unknown field"],
    ];
    for (const [body, field, rule] of cases) {
      const answer = await api.call("POST", "/v1/retractions", { scope: "admin", body });
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.errors[0].field, field);
      assert.equal(answer.body.errors[0].rule, rule);
    }
    const refused = (await audit()).filter((a) => a.outcome === "refused");
    assert.equal(refused.length, cases.length);
  });

  test("dry run, retraction, repetition: 200 changing nothing, 201, 200 with nothing left", async () => {
    const headers = { "x-request-id": "req-1" };
    const dry = await api.call("POST", "/v1/retractions", {
      scope: "admin",
      headers,
      body: { user_id: "refunded", type: "purchase", dry_run: true },
    });
    assert.equal(dry.status, 200);
    assert.equal(dry.body.would_retract, 2);
    assert.equal(dry.body.retracted, 0);
    const done = await api.call("POST", "/v1/retractions", {
      scope: "admin",
      body: { event_ids: [...ids, "00000000-0000-4000-8000-0000000000ff"], reason: "refund" },
    });
    assert.equal(done.status, 201);
    assert.equal(done.body.retracted, 2);
    assert.deepEqual(done.body.unmatched_event_ids, ["00000000-0000-4000-8000-0000000000ff"]);
    assert.match(done.body.position, /^\d+\.\d+$/);
    const again = await api.call("POST", "/v1/retractions", {
      scope: "admin",
      body: { user_id: "refunded" },
    });
    assert.equal(again.status, 200);
    assert.equal(again.body.already_retracted, 2);
    assert.equal(again.body.retracted, 0);
    const { rows } = await t.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM events WHERE kind = 'retraction'",
    );
    assert.equal(Number(rows[0]!.n), 2);
    // As the relay publishes them: keyed by the original's user (its partition), and valid for consumers.
    const encoded = (await readEncodedLogBatch(t.db, LOG_START, 100)).filter((e) => e.kind === "retraction");
    const read = (await readLogBatch(t.db, LOG_START, 100)).filter((m) => m.kind === "retraction");
    assert.equal(encoded.length, 2);
    encoded.forEach((e, i) => {
      assert.equal(e.key, "refunded");
      assert.equal(messageKey(read[i]!), "refunded");
      assert.deepEqual(JSON.parse(e.value), read[i]);
      const decoded = decodeLogMessage(Buffer.from(e.value));
      assert.ok(decoded.ok, JSON.stringify(decoded));
    });
    const ok = (await audit()).filter((a) => a.outcome === "ok");
    const admin = keyId(TEST_KEYS.admin);
    assert.deepEqual(ok, [
      { actor: admin, action: "events.retract_dry_run", outcome: "ok", request_id: "req-1" },
      { actor: admin, action: "events.retract", outcome: "ok", request_id: null },
      { actor: admin, action: "events.retract", outcome: "ok", request_id: null },
    ]);
  });
});
