import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createTestDatabase, uniqueName, type TestDatabase } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import { LOG_START } from "../../core/contracts/position.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { readLogBatch } from "../../core/event-store/log-reader.ts";
import { eventsRouter } from "../../ingest/http/events-router.ts";
import { rulesRouter } from "../../ingest/rules/router.ts";
import { createFeaturesProjection } from "../../projectors/features/projection.ts";
import { createRecommendationsProjection } from "../../projectors/recommendations/projection.ts";
import { catalog, closeRedis, interaction, REDIS_BACKENDS } from "../../projectors/runtime/testing.ts";
import { HEURISTIC_RANKER } from "../models/model-holder.ts";
import { servingConfigFromEnv } from "../ranking/config.ts";
import { deleteMatching, uncachedReadSide } from "../ranking/testing.ts";
import { StoredRules } from "../ranking/rules-stored.ts";
import { applyWeights } from "../ranking/rules-merchandising.ts";
import { servingRouter, type ServingRouterDeps } from "./router.ts";

/**
 * Merchandising through the API on real Postgres and Redis (single and Cluster): the request's pins, boosts and
 * buries, stored rules created through /v1/merchandising/rules (picked up by serving on their NOTIFY, audited,
 * versioned), and "not_interested" from POST /v1/events through the log and the projections to the list. Every
 * request is asked of the express route and of the fast path, which must answer the same items.
 *
 * Catalog: movies m1..m6, books b1..b6, x1 (a movie, unavailable). b3 and b4 go together (neighbours).
 */
type Item = { item_id: string; score: number; source: string };
const ids = (items: readonly { item_id: string }[]) => items.map((i) => i.item_id);

for (const backend of REDIS_BACKENDS)
  describe(backend.name, () => {
    const redis = backend.open();
    const prefix = uniqueName("rkmerch");
    const projections = [
      createFeaturesProjection(redis, { prefix }),
      createRecommendationsProjection(redis, { prefix }),
    ];
    let db: TestDatabase;
    let rules: StoredRules;
    let fast: Awaited<ReturnType<typeof serveForTest>>;
    let express: Awaited<ReturnType<typeof serveForTest>>;
    let position = 3_000_000;
    const ago = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
    const view = (user: string, item: string, m: number) =>
      interaction(user, item, "view", ago(m), ++position);
    const apply = async (messages: LogMessage[], source = "test") => {
      for (const p of projections) await p.applyMessages(messages, source);
    };

    /** The items of GET `path` from both HTTP layers, which must agree. */
    async function items(path: string): Promise<Item[]> {
      const [a, b] = await Promise.all([
        fast.call("GET", path, { scope: "read" }),
        express.call("GET", path, { scope: "read" }),
      ]);
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.deepEqual(a.body.items, b.body.items, `fast path and express differ on ${path}`);
      return a.body.items as Item[];
    }

    before(async () => {
      db = await createTestDatabase({ migrated: true });
      await apply([
        ...["m1", "m2", "m3", "m4", "m5", "m6"].map((id) => catalog(id, ["movies"], 1, ++position)),
        ...["b1", "b2", "b3", "b4", "b5", "b6"].map((id) => catalog(id, ["books"], 1, ++position)),
        catalog("x1", ["movies"], 1, ++position, { available: false }),
      ]);
      const events: LogMessage[] = [];
      for (let u = 0; u < 12; u++) {
        events.push(view(`p${u}`, "x1", 60));
        if (u < 10) events.push(view(`p${u}`, "m1", 59), view(`p${u}`, "b1", 58));
        if (u < 8) events.push(view(`p${u}`, "m2", 57), view(`p${u}`, "b2", 56));
        if (u < 6) events.push(view(`p${u}`, "m3", 55), view(`p${u}`, "b5", 54));
        if (u < 4) events.push(view(`p${u}`, "m4", 53));
      }
      for (let u = 0; u < 3; u++) events.push(view(`c${u}`, "b3", 40), view(`c${u}`, "b4", 39));
      await apply(events);

      // Polls rarely: a change must reach serving through its NOTIFY.
      rules = new StoredRules({ db: db.db, pollMs: 600_000 });
      await rules.start();
      const keys = new ApiKeys({
        read: [TEST_KEYS.read],
        write: [TEST_KEYS.write],
        admin: [TEST_KEYS.admin],
      });
      const deps = (httpFastPath: boolean): ServingRouterDeps => ({
        ...uncachedReadSide(redis, prefix),
        ranker: () => HEURISTIC_RANKER,
        config: { ...servingConfigFromEnv({}), cacheMs: 0, httpFastPath },
        rules,
        keys,
      });
      const writeSide = [
        eventsRouter({ db: db.db, keys, maxEventAgeMs: 86_400_000, maxClockSkewMs: 60_000 }),
        rulesRouter({ db: db.db, keys }),
      ];
      fast = await serveForTest([...writeSide, servingRouter(deps(true))]);
      express = await serveForTest([servingRouter(deps(false))]);
    });

    after(async () => {
      await fast?.close();
      await express?.close();
      await rules?.stop();
      await deleteMatching(redis, `${prefix}:*`);
      await closeRedis(redis);
      await db?.drop();
    });

    test("per request: a pin takes its position, the rest keep their order; unavailable or excluded pins are skipped", async () => {
      const base = ids(await items("/v1/recommendations/nobody?n=5"));
      assert.equal(base.length, 5);
      const outside = ["m1", "m2", "m3", "m4", "m5", "m6", "b1", "b2", "b3", "b4", "b5", "b6"].find(
        (id) => !base.includes(id),
      )!;
      const pinned = await items(`/v1/recommendations/nobody?n=5&pin=${outside}@2`);
      assert.deepEqual(ids(pinned), [base[0], outside, ...base.slice(1, 4)]);
      assert.equal(pinned[1]!.source, "pinned");
      // x1 is unavailable; an excluded item stays excluded even when pinned.
      assert.deepEqual(ids(await items("/v1/recommendations/nobody?n=5&pin=x1@1")), base);
      const excluded = ids(await items(`/v1/recommendations/nobody?n=5&pin=${outside}@1&exclude=${outside}`));
      assert.ok(!excluded.includes(outside), excluded.join());
    });

    test("per request: boost and bury move items by the documented rule (one category: no diversity cap effect)", async () => {
      const base = ids(await items("/v1/recommendations/nobody?n=6&category=books"));
      assert.equal(base.length, 6);
      // b1..b5 are ranked candidates (trending in books), b6 a catalog fill: boosting the 5th by 100 makes it first.
      assert.deepEqual(
        ids(await items(`/v1/recommendations/nobody?n=6&category=books&boost=${base[4]}^100`)),
        [base[4], ...base.slice(0, 4), base[5]],
      );
      // Burying the first by 100: it competes as if at position 100, behind every other candidate.
      assert.deepEqual(
        ids(await items(`/v1/recommendations/nobody?n=6&category=books&bury=${base[0]}^100`)),
        [...base.slice(1, 5), base[0], base[5]],
      );
      // A category pin: the best book at position 1.
      const mixed = ids(await items("/v1/recommendations/nobody?n=6"));
      const bestBook = mixed.find((id) => id.startsWith("b"))!;
      const withBook = ids(await items("/v1/recommendations/nobody?n=6&pin_category=books@1"));
      assert.equal(withBook[0], bestBook);
    });

    test("per request: malformed rule parameters get a 400 naming field, rule and value", async () => {
      const res = await fast.call("GET", "/v1/recommendations/nobody?pin=m1@0&boost=m2^0.5", {
        scope: "read",
      });
      assert.equal(res.status, 400);
      assert.deepEqual(
        res.body.errors.map((e: { field: string; received: unknown }) => [e.field, e.received]),
        [
          ["pin", "m1@0"],
          ["boost", "m2^0.5"],
        ],
      );
    });

    test("stored rules: created, changed and deleted through the API, applied on their NOTIFY, versioned and audited", async () => {
      const base = ids(await items("/v1/recommendations/vip?n=5"));
      const outside = ["m5", "m6", "b6"].find((id) => !base.includes(id))!;
      const created = await fast.call("POST", "/v1/merchandising/rules", {
        scope: "admin",
        headers: { "x-request-id": "req-rule-1" },
        body: { name: "launch", action: "pin", item_id: outside, position: 1, scope: { user_ids: ["vip"] } },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.version, 1);
      const id = created.body.id as string;
      await until(async () => ids(await items("/v1/recommendations/vip?n=5"))[0] === outside);
      assert.deepEqual(ids(await items("/v1/recommendations/vip?n=5")), [outside, ...base.slice(0, 4)]);
      // Scoped to vip: other users are untouched.
      assert.ok(!ids(await items("/v1/recommendations/other?n=5")).includes(outside));

      // A stale version is refused; the current one moves the pin.
      const stale = await fast.call("PATCH", `/v1/merchandising/rules/${id}`, {
        scope: "admin",
        body: { position: 3, expected_version: 7 },
      });
      assert.equal(stale.status, 409);
      const moved = await fast.call("PATCH", `/v1/merchandising/rules/${id}`, {
        scope: "admin",
        headers: { "if-match": '"1"' },
        body: { position: 3 },
      });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.equal(moved.body.version, 2);
      await until(async () => ids(await items("/v1/recommendations/vip?n=5"))[2] === outside);

      // A window that has not opened yet: the rule stops applying until then.
      const later = await fast.call("PATCH", `/v1/merchandising/rules/${id}`, {
        scope: "admin",
        body: { active_from: new Date(Date.now() + 3_600_000).toISOString(), expected_version: 2 },
      });
      assert.equal(later.status, 200);
      await until(async () => !ids(await items("/v1/recommendations/vip?n=5")).includes(outside));
      const deleted = await fast.call("DELETE", `/v1/merchandising/rules/${id}?expected_version=3`, {
        scope: "admin",
      });
      assert.equal(deleted.status, 200);
      assert.equal(deleted.body.status, "deleted");
      assert.deepEqual((await fast.call("GET", "/v1/merchandising/rules", { scope: "read" })).body.rules, []);

      const history = await fast.call("GET", `/v1/merchandising/rules/${id}/changes`, { scope: "read" });
      assert.deepEqual(
        history.body.changes.map((c: { version: number; event_type: string }) => [c.version, c.event_type]),
        [
          [1, "RuleCreated"],
          [2, "RuleUpdated"],
          [3, "RuleUpdated"],
          [4, "RuleDeleted"],
        ],
      );
      assert.deepEqual(history.body.changes[1].change, { changes: { position: { from: 1, to: 3 } } });
      const { rows } = await db.db.query<{ action: string; outcome: string; request_id: string | null }>(
        "SELECT action, outcome, request_id FROM audit_log WHERE target = $1 ORDER BY id",
        [id],
      );
      assert.deepEqual(rows, [
        { action: "rule.create", outcome: "ok", request_id: "req-rule-1" },
        { action: "rule.update", outcome: "refused", request_id: null },
        { action: "rule.update", outcome: "ok", request_id: null },
        { action: "rule.update", outcome: "ok", request_id: null },
        { action: "rule.delete", outcome: "ok", request_id: null },
      ]);
    });

    test("stored rules: an invalid definition is refused naming the field, and audited", async () => {
      const res = await fast.call("POST", "/v1/merchandising/rules", {
        scope: "admin",
        body: { name: "bad", action: "boost", category: "books", position: 2 },
      });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body.errors, [
        { field: "position", rule: 'is only allowed for action "pin"', received: 2 },
      ]);
      const { rows } = await db.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_log WHERE action = 'rule.create' AND outcome = 'refused'",
      );
      assert.equal(rows[0]!.n, 1);
      const forbidden = await fast.call("POST", "/v1/merchandising/rules", {
        scope: "read",
        body: { name: "x", action: "bury", item_id: "m1" },
      });
      assert.equal(forbidden.status, 403);
    });

    test("not_interested: POST /v1/events → log → projection; the item is gone for that user, its neighbour demoted, idempotent", async () => {
      // nf read m1 and b3; b4 is b3's neighbour and in nf's list. twin did the same and dismisses nothing.
      await apply([
        view("nf", "m1", 30),
        view("nf", "b3", 20),
        view("twin", "m1", 30),
        view("twin", "b3", 20),
      ]);
      const before = ids(await items("/v1/recommendations/nf?n=6"));
      assert.ok(before.includes("b4"), before.join());
      const event = {
        event_id: randomUUID(),
        type: "not_interested",
        user_id: "nf",
        item_id: "b4",
        timestamp: new Date().toISOString(),
      };
      const posted = await fast.call("POST", "/v1/events", { scope: "write", body: event });
      assert.equal(posted.status, 200, JSON.stringify(posted.body));
      const log = (await readLogBatch(db.db, LOG_START, 100)).filter((m) => m.kind === "interaction");
      assert.deepEqual(
        log.map((m) => m.event.event_id),
        [event.event_id],
      );
      await apply(log, "log");
      await apply(log, "log"); // a redelivery changes nothing
      const after = ids(await items("/v1/recommendations/nf?n=6"));
      assert.ok(!after.includes("b4"), after.join());
      // b4's category is buried by 0.5 for nf: twin's list without b4, with books competing at twice their position.
      const twin = ids(await items("/v1/recommendations/twin?n=6&exclude=b4"));
      const expected = applyWeights(
        twin.map((id) => ({ item_id: id, categories: [id.startsWith("b") ? "books" : "movies"] })),
        [{ target: { category: "books" }, factor: 0.5 }],
      );
      assert.deepEqual(after, ids(expected));
      assert.notDeepEqual(after, twin);
      const state = await uncachedReadSide(redis, prefix).features.getRankingState("nf");
      assert.deepEqual(state.dismissed, { items: ["b4"], categories: [{ category: "books", count: 1 }] });
      const features = await fast.call("GET", "/v1/users/nf/features", { scope: "read" });
      assert.deepEqual(features.body.dismissed, state.dismissed);
      // Others still get b4; nf's dismissal did not count as engagement (no popularity, no co-occurrence).
      assert.ok(ids(await items("/v1/recommendations/c9?n=12")).includes("b4"));
      assert.ok(!state.recent.some((r) => r.item_id === "b4"));
    });
  });

/** Waits (bounded) for serving to show a change it is notified of. */
async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail("serving did not pick up the rule change");
    await new Promise((r) => setTimeout(r, 50));
  }
}
