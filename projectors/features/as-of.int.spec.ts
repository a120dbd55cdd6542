// Temporal reads: a user's features as_of a time equal the live read of the read model rebuilt up to the last
// log entry recorded by then (`reckon replay --to`), before and after a retraction (Postgres and Redis).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { readLogHead } from "../../core/event-store/log-reader.ts";
import { compareLogPositions, parsePositionToken, type LogPosition } from "../../core/contracts/position.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { DEFAULT_FEATURES_CONFIG } from "../../core/read-models/features-config.ts";
import { writeItems } from "../../ingest/catalog-store.ts";
import { retractEvents } from "../../ingest/retraction/retract.ts";
import { parseRetractionRequest, type RetractionRequest } from "../../ingest/retraction/request.ts";
import { PROJECTION_STORES, storeForSuite } from "../store/testing.ts";
import { replayProjection } from "../runtime/replay.ts";
import { createFeaturesProjection } from "./projection.ts";
import { FeaturesReader } from "./read.ts";
import { userFeaturesAsOf } from "./as-of.ts";

const T0 = Date.parse("2026-01-05T00:00:00.000Z");
const HOUR = 3_600_000;
const USERS = ["a", "b", "c"];
let n = 0;
const event = (user: string, type: string, item: string, hours: number): InteractionEvent => ({
  event_id: `00000000-0000-4000-b000-${(++n).toString(16).padStart(12, "0")}`,
  type,
  user_id: user,
  item_id: item,
  timestamp: new Date(T0 + hours * HOUR).toISOString(),
});

async function visible(db: TestDatabase["db"], p: LogPosition | undefined): Promise<void> {
  if (!p) return;
  while (compareLogPositions(await readLogHead(db), p) < 0) await new Promise((r) => setTimeout(r, 20));
}

describe("features as_of", () => {
  const suite = storeForSuite(PROJECTION_STORES[0]!);
  let t: TestDatabase;
  const times: Date[] = [];
  const retracted: string[] = [];

  /**
   * A time (in ms, as clients give it) at or after the last entry recorded so far (Postgres keeps µs), before
   * the next ones.
   */
  const lastReceived = async () => {
    const { rows } = await t.db.query<{ at: Date }>(
      "SELECT date_trunc('milliseconds', max(received_at)) + interval '1 millisecond' AS at FROM events",
    );
    await new Promise((r) => setTimeout(r, 5));
    return rows[0]!.at;
  };

  before(async () => {
    t = await createTestDatabase();
    const items = [
      { item_id: "i1", categories: ["x"], attributes: {}, available: true },
      { item_id: "i2", categories: ["x", "y"], attributes: {}, available: true },
    ];
    await visible(t.db, (await writeItems(t.db, items, new Date(T0))).head);
    const first = [event("a", "view", "i1", 1), event("a", "click", "i2", 2), event("b", "view", "i2", 3)];
    await visible(t.db, (await appendInteractionEvents(t.db, first)).head);
    times.push(await lastReceived());
    const second = [
      event("a", "purchase", "i2", 5),
      event("c", "view", "i1", 6),
      event("b", "click", "i1", 7),
    ];
    await visible(t.db, (await appendInteractionEvents(t.db, second)).head);
    times.push(await lastReceived());
    retracted.push(first[1]!.event_id, second[0]!.event_id);
    const parsed = parseRetractionRequest({ event_ids: retracted });
    assert.ok(parsed.ok);
    const outcome = await retractEvents(t.db, parsed.request as RetractionRequest, { actor: "test" });
    await visible(t.db, parsePositionToken(outcome.position!));
    times.push(await lastReceived());
    await visible(t.db, (await appendInteractionEvents(t.db, [event("a", "view", "i1", 9)])).head);
    times.push(await lastReceived());
  });

  after(async () => {
    await suite.cleanUp();
    await t.drop();
  });

  it("equals a replay stopped at the last entry recorded by then, at every time", async () => {
    const store = await suite.store();
    const prefix = suite.prefix("rk_asof");
    const projection = createFeaturesProjection(store, { prefix });
    for (const at of times) {
      const { rows } = await t.db.query<{ transaction_id: string; position: number }>(
        `SELECT transaction_id::text AS transaction_id, position FROM events WHERE received_at <= $1
          ORDER BY transaction_id DESC, position DESC LIMIT 1`,
        [at],
      );
      const to = { transactionId: BigInt(rows[0]!.transaction_id), position: Number(rows[0]!.position) };
      const built = await replayProjection({ db: t.db, projection, topic: "t", partitions: 1, to });
      const replayed = new FeaturesReader(store, prefix, DEFAULT_FEATURES_CONFIG, built.version);
      let seen = 0;
      for (const user of USERS) {
        const asOf = await userFeaturesAsOf(t.db, user, at, DEFAULT_FEATURES_CONFIG);
        assert.deepEqual(
          asOf,
          await replayed.getUserFeatures(user, at.getTime()),
          `${user} at ${at.toISOString()}`,
        );
        seen += Object.keys(asOf.counts).length;
      }
      assert.ok(seen > 0, "every time has some user with counts");
    }
  });

  it("shows a retracted event before its retraction and not after it", async () => {
    const [, beforeRetraction, afterRetraction] = times;
    const past = await userFeaturesAsOf(t.db, "a", beforeRetraction!, DEFAULT_FEATURES_CONFIG);
    assert.deepEqual(past.counts, { view: 1, click: 1, purchase: 1 });
    const later = await userFeaturesAsOf(t.db, "a", afterRetraction!, DEFAULT_FEATURES_CONFIG);
    assert.deepEqual(later.counts, { view: 1 });
    assert.deepEqual(
      later.recent.map((r) => r.item_id),
      ["i1"],
    );
    const first = await userFeaturesAsOf(t.db, "a", times[0]!, DEFAULT_FEATURES_CONFIG);
    assert.deepEqual(first.counts, { view: 1, click: 1 });
    const nothing = await userFeaturesAsOf(t.db, "a", new Date(T0 - HOUR), DEFAULT_FEATURES_CONFIG);
    assert.deepEqual(nothing, { user_id: "a", counts: {}, last_activity: null, affinities: [], recent: [] });
  });
});
