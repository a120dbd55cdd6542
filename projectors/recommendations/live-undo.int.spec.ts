// Retractions undone live by the recommendations projection, on every projection store (the stack's Redis and
// Redis Cluster, the in-process store) through the port: a mixed batch (several users and types, co-occurring
// pairs, histories trimmed and items returning to them) sent, then retracted — some in the batch that brings
// their originals, some later — leaves exactly the keys and values of a projection of the log that never had
// those events (full dumps); retracting again and a redelivery change nothing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { toLogPosition } from "../../core/event-store/log-reader.ts";
import { LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { APPLIED_KEY } from "../../core/read-models/keys.ts";
import { PROJECTION_STORES, storeForSuite } from "../store/testing.ts";
import { dumpVersion } from "../runtime/testing.ts";
import { retractEvents } from "../../ingest/retraction/retract.ts";
import { parseRetractionRequest, type RetractionRequest } from "../../ingest/retraction/request.ts";
import { createRecommendationsProjection } from "./projection.ts";
import type { RecommendationsConfig } from "./ops.ts";
import { logWithoutRetracted, readWholeLog, waitVisible } from "../../core/testing/log.ts";

/** A history of 3 items, so trims and items returning after one are part of the batch. */
const CONFIG: RecommendationsConfig = { historyCap: 3, neighbourCap: 100, userTtlMs: 86_400_000 };
const T0 = Date.parse("2026-05-01T00:00:00.000Z");
const MINUTE = 60_000;

let sequence = 0;
const eventId = () => `00000000-0000-4000-b000-${(++sequence).toString(16).padStart(12, "0")}`;
const event = (user: string, type: string, item: string, minute: number): InteractionEvent => ({
  event_id: eventId(),
  type,
  user_id: user,
  item_id: item,
  timestamp: new Date(T0 + minute * MINUTE).toISOString(),
});

/** Several users over items i1…i6: shared pairs, trims (cap 3), returns, an exposure, an out-of-order time. */
function mixedBatch(): InteractionEvent[] {
  const plan: [string, string, string, number][] = [
    ["u1", "view", "i1", 1],
    ["u1", "click", "i2", 2],
    ["u1", "view", "i3", 3],
    ["u1", "purchase", "i4", 4], // i1 trimmed
    ["u1", "view", "i1", 5], // i1 returns: counts again
    ["u1", "view", "i2", 6],
    ["u2", "view", "i2", 1],
    ["u2", "exposure", "i5", 2],
    ["u2", "click", "i3", 3],
    ["u2", "view", "i5", 4],
    ["u2", "view", "i2", 0], // earlier than its stored time: no change
    ["u3", "view", "i1", 1],
    ["u3", "view", "i4", 2],
    ["u3", "add_to_cart", "i6", 3],
    ["u4", "view", "i6", 1],
  ];
  const out = plan.map(([u, type, item, minute]) => event(u, type, item, minute));
  for (let i = 0; i < 8; i++) out.push(event("bot", "view", `i${(i % 5) + 1}`, 10 + i));
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
  describe(`recommendations undo retractions live on ${backend.name}`, () => {
    const suite = storeForSuite(backend);
    let t: TestDatabase;
    let prefix: string;
    let applied: LogPosition = LOG_START;
    const sent: InteractionEvent[] = [];

    const live = async () =>
      createRecommendationsProjection(await suite.store(), { prefix, config: CONFIG, log: t.db });

    /** The live consumer: the log's new entries in batches of `size` (4: originals and undos share some). */
    const catchUp = async (size = 4) => {
      const projection = await live();
      const batch = await readWholeLog(t.db, applied);
      for (let i = 0; i < batch.length; i += size)
        await projection.applyMessages(batch.slice(i, i + size), "t:0");
      if (batch.length > 0) applied = toLogPosition(batch[batch.length - 1]!);
    };

    /** Every key of the live model but the applied positions (their source differs from a fresh projection's). */
    const dump = async (p: string) => {
      const { [APPLIED_KEY]: _applied, ...rest } = await dumpVersion(await suite.store(), p, "r", 1);
      return rest;
    };

    /** A fresh projection of `messages` under its own prefix. */
    const projectionOf = async (messages: readonly LogMessage[]) => {
      const p = suite.prefix("rk_undo_expected");
      await createRecommendationsProjection(await suite.store(), { prefix: p, config: CONFIG }).applyMessages(
        messages,
        "log",
      );
      return dump(p);
    };

    before(async () => {
      t = await createTestDatabase();
      prefix = suite.prefix("rk_undo");
      sequence = 0;
      sent.push(...mixedBatch());
      const { head } = await appendInteractionEvents(t.db, sent);
      await waitVisible(t.db, head);
    });

    after(async () => {
      await suite.cleanUp();
      await t.drop();
    });

    it("a mixed batch retracted equals a projection of the log without it", async () => {
      const id = (user: string, item: string, type: string) =>
        sent.find((e) => e.user_id === user && e.item_id === item && e.type === type)!.event_id;
      // Retracted before the projection saw the originals: original and undo in one catch-up.
      await retract(t.db, { event_ids: [id("u1", "i3", "view"), id("u2", "i5", "exposure")] });
      await catchUp();
      const withSome = await dump(prefix);
      assert.deepEqual(withSome, await projectionOf(await logWithoutRetracted(t.db)));
      // Retracted after: a purchase that trimmed i1, a user's only event, and every event of the bot.
      await retract(t.db, {
        event_ids: [id("u1", "i4", "purchase"), id("u4", "i6", "view"), id("u3", "i1", "view")],
      });
      await retract(t.db, { user_id: "bot" });
      await catchUp();
      const retracted = await dump(prefix);
      assert.notDeepEqual(retracted, withSome);
      assert.deepEqual(retracted, await projectionOf(await logWithoutRetracted(t.db)));
      assert.ok(!("{u:bot}:h" in retracted) && !("{u:u4}:h" in retracted), "emptied histories are deleted");
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
