import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import {
  interactionsAfterRetraction,
  userActivity,
  userActivityUndoOps,
  userActivityUndoOpsOfRetractions,
} from "./user-activity.ts";
import { syntheticUserLog } from "../runtime/synthetic-user-log.ts";

const T0 = Date.parse("2026-04-01T00:00:00.000Z");
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();
const ms = (minute: number) => T0 + minute * 60_000;

const event = (id: string, type: string, item: string | undefined, minute: number): InteractionEvent => ({
  event_id: id,
  type,
  user_id: "u",
  ...(item === undefined ? {} : { item_id: item }),
  timestamp: at(minute),
});
const interaction = (e: InteractionEvent, position: number): LogMessage => ({
  position,
  transaction_id: "5",
  received_at: e.timestamp,
  kind: "interaction",
  event: e,
});
const retraction = (
  id: string,
  original: InteractionEvent,
  position: number,
): Extract<LogMessage, { kind: "retraction" }> => ({
  position,
  transaction_id: "5",
  received_at: at(100),
  kind: "retraction",
  event: {
    event_id: id,
    type: "retraction",
    retracts: original.event_id,
    retraction_id: "cmd",
    user_id: "u",
    ...(original.item_id === undefined ? {} : { item_id: original.item_id }),
    timestamp: at(100),
    categories: [],
    original,
  },
});

describe("userActivity", () => {
  it("counts every interaction, keeps the latest time, and the recent list's highest ranks", () => {
    const activity = userActivity(
      [
        event("a", "view", "i1", 3),
        event("b", "view", "i1", 1), // earlier than i1's stored time: no change
        event("c", "click", "i2", 2),
        event("d", "search", undefined, 9), // no item: counts and raises last, no recent entry
        event("e", "not_interested", "i3", 4), // negative feedback: no recent entry
        event("f", "view", "i4", 2), // ties i2's click at minute 2: member bytes decide ("click:i2" < "view:i4")
        event("g", "purchase", "i5", 5),
      ],
      3,
    );
    assert.deepEqual(activity, {
      profile: [
        ["last", String(ms(9))],
        ["n:click", "1"],
        ["n:not_interested", "1"],
        ["n:purchase", "1"],
        ["n:search", "1"],
        ["n:view", "3"],
      ],
      // Cap 3: click:i2 (minute 2, lowest bytes of the tie) is trimmed.
      recent: [
        ["view:i4", ms(2)],
        ["view:i1", ms(3)],
        ["purchase:i5", ms(5)],
      ],
      dismissed: [["i3", String(ms(4))]],
    });
  });

  it("is empty for no interactions", () => {
    assert.deepEqual(userActivity([], 3), { profile: [], recent: [], dismissed: [] });
  });
});

describe("userActivityUndoOps", () => {
  const a = event("A", "view", "i1", 1);
  const b = event("b", "click", "i2", 2);
  const c = event("c", "view", "i3", 3);
  const config = { recentCap: 10, userTtlMs: 1000 };

  it("replays the log up to the retraction without every event retracted up to it", () => {
    const r1 = retraction("r1", c, 4);
    const r2 = retraction("r2", a, 6);
    // Ids compare without case (the log's uuids may come in either).
    const log = [
      interaction(a, 1),
      interaction(b, 2),
      interaction(c, 3),
      r1,
      interaction(event("d", "view", "i4", 5), 5),
      r2,
    ];
    assert.deepEqual(
      interactionsAfterRetraction(log, r1).map((e) => e.event_id),
      ["A", "b"],
    );
    assert.deepEqual(
      interactionsAfterRetraction(log, { ...r2, event: { ...r2.event, retracts: "a" } }).map(
        (e) => e.event_id,
      ),
      ["b", "d"],
    );
    assert.deepEqual(userActivityUndoOps(log, r1, config), [
      ["hreplace", "{u:u}:p", "last", String(ms(2)), "n:click", "1", "n:view", "1"],
      ["pexpire", "{u:u}:p", "1000"],
      ["zreplace", "{u:u}:recent", String(ms(1)), "view:i1", String(ms(2)), "click:i2"],
      ["pexpire", "{u:u}:recent", "1000"],
    ]);
  });

  it("empties the keys when nothing is left, and writes the same when retracted again", () => {
    const r1 = retraction("r1", a, 2);
    const once = userActivityUndoOps([interaction(a, 1), r1], r1, config);
    assert.deepEqual(once, [
      ["hreplace", "{u:u}:p"],
      ["zreplace", "{u:u}:recent"],
    ]);
    const r2 = retraction("r2", a, 3);
    assert.deepEqual(userActivityUndoOps([interaction(a, 1), r1, r2], r2, config), once);
  });
});

describe("userActivityUndoOpsOfRetractions", () => {
  for (const [seed, recentCap, items] of [
    [1, 2, 8],
    [2, 5, 40],
    [3, 50, 40],
  ] as const)
    it(`gives each retraction of a batch userActivityUndoOps' ops in one pass (seed ${seed}, cap ${recentCap}, ${items} items)`, () => {
      const { log, retractions } = syntheticUserLog({ interactions: 400, retractions: 80, items, seed });
      const config = { recentCap, userTtlMs: 1000 };
      const batch = new Set(retractions.slice(30));
      const ops = userActivityUndoOpsOfRetractions(log, batch, config);
      assert.deepEqual([...ops.keys()], retractions.slice(30));
      for (const m of log)
        if (m.kind === "retraction" && batch.has(m.event.event_id))
          assert.deepEqual(ops.get(m.event.event_id), userActivityUndoOps(log, m, config), m.event.event_id);
    });
});
