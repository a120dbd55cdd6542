// Retractions undone live by the features projection, on every projection store (the stack's Redis and Redis
// Cluster, the in-process store) through the port: a mixed batch (several users, types, items and categories,
// recent lists over their cap, an event without an item, negative feedback, an out-of-order time) sent, then
// retracted — some in the batch that brings their originals, some later — leaves exactly the keys and values of
// a projection of the log that never had those events (full dumps: counts, affinities, popularity, each user's
// recent list and last activity); retracting again and a redelivery change nothing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { toLogPosition } from "../../core/event-store/log-reader.ts";
import { LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { APPLIED_KEY } from "../../core/read-models/keys.ts";
import { DEFAULT_FEATURES_CONFIG, type FeaturesConfig } from "../../core/read-models/features-config.ts";
import { PROJECTION_STORES, storeForSuite } from "../store/testing.ts";
import { dumpVersion } from "../runtime/testing.ts";
import { writeItems } from "../../ingest/catalog-store.ts";
import { retractEvents } from "../../ingest/retraction/retract.ts";
import { parseRetractionRequest, type RetractionRequest } from "../../ingest/retraction/request.ts";
import { createFeaturesProjection } from "./projection.ts";
import { logWithoutRetracted, readWholeLog, waitVisible } from "../../core/testing/log.ts";

/** A recent list of 3, so trims are part of the batch. */
const CONFIG: FeaturesConfig = { ...DEFAULT_FEATURES_CONFIG, recentCap: 3 };
const T0 = Date.parse("2026-05-01T00:00:00.000Z");
const MINUTE = 60_000;

let sequence = 0;
const eventId = () => `00000000-0000-4000-a000-${(++sequence).toString(16).padStart(12, "0")}`;
const event = (user: string, type: string, item: string | undefined, minute: number): InteractionEvent => ({
  event_id: eventId(),
  type,
  user_id: user,
  ...(item === undefined ? {} : { item_id: item }),
  timestamp: new Date(T0 + minute * MINUTE).toISOString(),
});

/** Several users over items i1…i6 in categories a, b, c. */
function mixedBatch(): InteractionEvent[] {
  const plan: [string, string, string | undefined, number][] = [
    ["u1", "view", "i1", 1],
    ["u1", "click", "i2", 2],
    ["u1", "view", "i3", 3],
    ["u1", "purchase", "i4", 4], // view:i1 trimmed from the recent list
    ["u1", "view", "i1", 5], // and back
    ["u1", "search", undefined, 9], // the latest activity, no item
    ["u2", "view", "i2", 1],
    ["u2", "not_interested", "i5", 2],
    ["u2", "click", "i3", 3],
    ["u2", "view", "i5", 4],
    ["u2", "view", "i2", 0], // earlier than its stored time: no change
    ["u3", "view", "i1", 1],
    ["u3", "add_to_cart", "i6", 3],
    ["u4", "view", "i6", 1],
  ];
  const out = plan.map(([u, type, item, minute]) => event(u, type, item, minute));
  for (let i = 0; i < 8; i++)
    out.push(event("bot", i % 3 === 0 ? "click" : "view", `i${(i % 5) + 1}`, 10 + i));
  return out;
}

async function retract(db: TestDatabase["db"], body: Record<string, unknown>) {
  const parsed = parseRetractionRequest(body);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  const outcome = await retractEvents(db, parsed.request as RetractionRequest, { actor: "test-key" });
  if (outcome.position) {
    const [tx, pos] = outcome.position.split(".");
    await waitVisible(db, { transactionId: BigInt(tx!), position: Number(pos) });
  }
  return outcome;
}

for (const backend of PROJECTION_STORES) {
  describe(`features undo retractions live on ${backend.name}`, () => {
    const suite = storeForSuite(backend);
    let t: TestDatabase;
    let prefix: string;
    let applied: LogPosition = LOG_START;
    const sent: InteractionEvent[] = [];

    const live = async () =>
      createFeaturesProjection(await suite.store(), { prefix, config: CONFIG, log: t.db });

    /** The live consumer: the log's new entries in batches of `size` (4: originals and undos share some). */
    const catchUp = async (size = 4) => {
      const projection = await live();
      const batch = await readWholeLog(t.db, applied);
      for (let i = 0; i < batch.length; i += size)
        await projection.applyMessages(batch.slice(i, i + size), "t:0");
      if (batch.length > 0) applied = toLogPosition(batch[batch.length - 1]!);
    };

    /** Every key of the model but the applied positions (their source differs from a fresh projection's). */
    const dump = async (p: string) => {
      const { [APPLIED_KEY]: _applied, ...rest } = await dumpVersion(await suite.store(), p, "f", 1);
      return rest;
    };

    /** A fresh projection of `messages` under its own prefix. */
    const projectionOf = async (messages: readonly LogMessage[]) => {
      const p = suite.prefix("rk_fundo_expected");
      await createFeaturesProjection(await suite.store(), { prefix: p, config: CONFIG }).applyMessages(
        messages,
        "log",
      );
      return dump(p);
    };

    before(async () => {
      t = await createTestDatabase();
      prefix = suite.prefix("rk_fundo");
      sequence = 0;
      const item = (item_id: string, categories: string[]) => ({
        item_id,
        categories,
        attributes: {},
        available: true,
      });
      const items = [
        item("i1", ["a"]),
        item("i2", ["a", "b"]),
        item("i3", ["b"]),
        item("i4", ["c"]),
        item("i5", ["b", "c"]),
        item("i6", ["a"]),
      ];
      await waitVisible(t.db, (await writeItems(t.db, items, new Date(T0))).head);
      sent.push(...mixedBatch());
      const { head } = await appendInteractionEvents(t.db, sent);
      await waitVisible(t.db, head);
    });

    after(async () => {
      await suite.cleanUp();
      await t.drop();
    });

    it("a mixed batch retracted equals a projection of the log without it", async () => {
      const id = (user: string, item: string | undefined, type: string) =>
        sent.find((e) => e.user_id === user && e.item_id === item && e.type === type)!.event_id;
      // Retracted before the projection saw the originals: originals and undos in shared batches.
      await retract(t.db, {
        event_ids: [id("u1", "i3", "view"), id("u2", "i5", "view"), id("u1", undefined, "search")],
      });
      await catchUp();
      const withSome = await dump(prefix);
      assert.deepEqual(withSome, await projectionOf(await logWithoutRetracted(t.db)));
      // Retracted after: the purchase that trimmed view:i1, a user's only event, a user's latest activity, a
      // dismissal, and every event of the bot.
      await retract(t.db, {
        event_ids: [
          id("u1", "i4", "purchase"),
          id("u4", "i6", "view"),
          id("u3", "i6", "add_to_cart"),
          id("u2", "i5", "not_interested"),
        ],
      });
      await retract(t.db, { user_id: "bot" });
      await catchUp();
      const retracted = await dump(prefix);
      assert.notDeepEqual(retracted, withSome);
      assert.deepEqual(retracted, await projectionOf(await logWithoutRetracted(t.db)));
      assert.deepEqual(retracted["{u:u1}:recent"], [
        "click:i2",
        String(T0 + 2 * MINUTE),
        "view:i1",
        String(T0 + 5 * MINUTE),
      ]);
      assert.equal((retracted["{u:u1}:p"] as Record<string, string>).last, String(T0 + 5 * MINUTE));
      assert.equal((retracted["{u:u3}:p"] as Record<string, string>).last, String(T0 + MINUTE));
      for (const key of [
        "{u:bot}:p",
        "{u:bot}:recent",
        "{u:u4}:p",
        "{u:u4}:recent",
        "{u:u2}:nope",
        "{u:u2}:nope:cats",
      ])
        assert.ok(!(key in retracted), `${key} is deleted`);

      // Originals, their retraction and later events of the same users and items in one batch: the undo replaces
      // keys the batch's other events merge updates into, before and after it.
      const more = [
        event("u1", "view", "i6", 20),
        event("u1", "click", "i3", 21),
        event("u2", "view", "i6", 22),
      ];
      const later = [event("u1", "view", "i2", 23), event("u2", "purchase", "i3", 24)];
      await waitVisible(t.db, (await appendInteractionEvents(t.db, more)).head);
      await retract(t.db, { event_ids: [more[1]!.event_id, more[2]!.event_id] });
      await waitVisible(t.db, (await appendInteractionEvents(t.db, later)).head);
      await catchUp(100);
      const shared = await dump(prefix);
      assert.deepEqual(shared, await projectionOf(await logWithoutRetracted(t.db)));
      assert.deepEqual(shared["{u:u1}:recent"], [
        "view:i1",
        String(T0 + 5 * MINUTE),
        "view:i6",
        String(T0 + 20 * MINUTE),
        "view:i2",
        String(T0 + 23 * MINUTE),
      ]);
      assert.equal((shared["{u:u2}:p"] as Record<string, string>).last, String(T0 + 24 * MINUTE));
    });

    it("retracting again, and a redelivery of the whole log, change nothing", async () => {
      const reads = await dump(prefix);
      const again = await retract(t.db, { user_id: "bot" });
      assert.equal(again.retracted, 0);
      await catchUp();
      const projection = await live();
      await projection.applyMessages(await readWholeLog(t.db), "t:0");
      assert.deepEqual(await dump(prefix), reads);
    });

    it("many retractions of one user in one batch, around the user's new events, equal a projection of the log without them", async () => {
      const types = ["view", "click", "purchase", "not_interested", "view", "add_to_cart"];
      // Items i1…i6 over and over: trims (cap 3), returns, out-of-order times, dismissals.
      const heavy = Array.from({ length: 60 }, (_, i) =>
        event("heavy", types[i % types.length]!, `i${((i * 7) % 6) + 1}`, 100 + ((i * 13) % 50)),
      );
      const append = async (events: InteractionEvent[]) =>
        waitVisible(t.db, (await appendInteractionEvents(t.db, events)).head);
      await append(heavy.slice(0, 40));
      await catchUp();
      // One batch: 15 retractions of projected events, 20 new events, 12 more retractions (old and new).
      const first = heavy
        .slice(0, 40)
        .filter((_, i) => i % 3 !== 1)
        .slice(0, 15);
      await retract(t.db, { event_ids: first.map((e) => e.event_id) });
      await append(heavy.slice(40));
      const more = [
        ...heavy
          .slice(0, 40)
          .filter((_, i) => i % 3 === 1)
          .slice(0, 6),
        ...heavy.slice(44, 56).filter((_, i) => i % 2 === 0),
      ];
      await retract(t.db, { event_ids: more.map((e) => e.event_id) });
      const pending = await readWholeLog(t.db, applied);
      assert.equal(pending.filter((m) => m.kind === "retraction" && m.event.user_id === "heavy").length, 27);
      await catchUp(1_000);
      assert.deepEqual(await dump(prefix), await projectionOf(await logWithoutRetracted(t.db)));
    });
  });
}
