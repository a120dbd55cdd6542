import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { coocContribution, coocUndoOps, coocUndoOpsOfRetractions } from "./undo.ts";
import { syntheticUserLog } from "../runtime/synthetic-user-log.ts";

const CONFIG = { historyCap: 2, neighbourCap: 100, userTtlMs: 1000 };
const at = (ms: number) => new Date(ms).toISOString();

let position = 0;
const interaction = (id: string, item: string, ms: number, type = "view", user = "u1"): LogMessage => ({
  kind: "interaction",
  position: ++position,
  transaction_id: String(100 + position),
  received_at: at(ms),
  event: { event_id: id, type, user_id: user, item_id: item, timestamp: at(ms) },
});
const retraction = (original: LogMessage): Extract<LogMessage, { kind: "retraction" }> => {
  const e = original.event as InteractionEvent;
  return {
    kind: "retraction",
    position: ++position,
    transaction_id: String(100 + position),
    received_at: at(99),
    event: {
      event_id: `r-${e.event_id}`,
      type: "retraction",
      retracts: e.event_id,
      retraction_id: "cmd",
      user_id: e.user_id,
      ...(e.item_id !== undefined ? { item_id: e.item_id } : {}),
      timestamp: at(99),
      categories: [],
      original: e,
    },
  };
};

describe("coocContribution", () => {
  it("replays the history: new items count with every item there, a returning one after its trim counts again", () => {
    const c = coocContribution(
      [
        { item: "A", timeMs: 1 },
        { item: "B", timeMs: 2 },
        { item: "C", timeMs: 3 }, // A is trimmed (cap 2)
        { item: "A", timeMs: 4 }, // A is new again: counts with B and C, B is trimmed
        { item: "C", timeMs: 5 }, // already there: only its time rises
      ],
      2,
    );
    assert.deepEqual(
      Object.fromEntries(c.pairs),
      Object.fromEntries([
        ["A\u0000B", 2],
        ["B\u0000A", 2],
        ["A\u0000C", 2],
        ["C\u0000A", 2],
        ["B\u0000C", 1],
        ["C\u0000B", 1],
      ]),
    );
    assert.deepEqual(Object.fromEntries(c.counts), { A: 2, B: 1, C: 1 });
    assert.deepEqual(c.history, [
      ["A", 4],
      ["C", 5],
    ]);
  });

  it("trims equal times by member bytes, as a sorted set does", () => {
    const c = coocContribution(
      [
        { item: "b", timeMs: 1 },
        { item: "a", timeMs: 1 },
        { item: "c", timeMs: 1 },
      ],
      2,
    );
    assert.deepEqual(c.history, [
      ["b", 1],
      ["c", 1],
    ]);
  });
});

describe("coocUndoOps", () => {
  const a1 = interaction("e1", "A", 1);
  const b2 = interaction("e2", "B", 2);
  const c3 = interaction("e3", "C", 3);
  const a4 = interaction("e4", "A", 4);
  const undoC = retraction(c3);

  it("takes back what the retracted interaction and the ones it shaped counted, and rewrites the history", () => {
    // With C: pairs AB 2, AC 2, BC 1 (both ways), counts A 2, B 1, C 1, history C@3 A@4.
    // Without C: A@4 finds A still there, so pairs AB 1, counts A 1, B 1, history B@2 A@4.
    assert.deepEqual(coocUndoOps([a1, b2, c3, a4, undoC], undoC, CONFIG), [
      ["zincrby_drop", "{i:A}:nbrs", "-1", "B", "100"],
      ["zincrby_drop", "{i:A}:nbrs", "-2", "C", "100"],
      ["zincrby_drop", "{i:B}:nbrs", "-1", "A", "100"],
      ["zincrby_drop", "{i:B}:nbrs", "-1", "C", "100"],
      ["zincrby_drop", "{i:C}:nbrs", "-2", "A", "100"],
      ["zincrby_drop", "{i:C}:nbrs", "-1", "B", "100"],
      ["incrby_drop", "{i:A}:cnt", "-1"],
      ["incrby_drop", "{i:C}:cnt", "-1"],
      ["zreplace", "{u:u1}:h", "2", "B", "4", "A"],
      ["pexpire", "{u:u1}:h", "1000"],
    ]);
  });

  it("ignores interactions after the retraction and counts earlier retractions as never sent", () => {
    const undoA1 = retraction(a1);
    const log = [a1, b2, undoA1, c3, undoC, interaction("e9", "D", 9)];
    // Before: B, C (A taken back): pairs BC 1, counts B 1, C 1. After: B alone.
    assert.deepEqual(coocUndoOps(log, undoC, CONFIG), [
      ["zincrby_drop", "{i:B}:nbrs", "-1", "C", "100"],
      ["zincrby_drop", "{i:C}:nbrs", "-1", "B", "100"],
      ["incrby_drop", "{i:C}:cnt", "-1"],
      ["zreplace", "{u:u1}:h", "2", "B"],
      ["pexpire", "{u:u1}:h", "1000"],
    ]);
  });

  it("a user's only interaction taken back deletes the history", () => {
    const only = interaction("e5", "A", 5, "view", "u2");
    const undo = retraction(only);
    assert.deepEqual(coocUndoOps([only, undo], undo, CONFIG), [
      ["incrby_drop", "{i:A}:cnt", "-1"],
      ["zreplace", "{u:u2}:h"],
    ]);
  });

  it("is idempotent: an event already taken back, one the log lacks, or a non-engagement one changes nothing", () => {
    const first = retraction(c3);
    const again = { ...retraction(c3), event: { ...first.event, event_id: "r-again" } };
    assert.deepEqual(coocUndoOps([a1, b2, c3, first, again], again, CONFIG), []);
    assert.deepEqual(coocUndoOps([a1, b2, undoC], undoC, CONFIG), []);
    const exposure = interaction("e6", "A", 6, "exposure");
    const undoExposure = retraction(exposure);
    assert.deepEqual(coocUndoOps([a1, exposure, undoExposure], undoExposure, CONFIG), []);
  });
});

describe("coocUndoOpsOfRetractions", () => {
  // Trims (caps 2 and 3), items returning, dismissals and exposures, retractions before the batch's, again, absent.
  for (const [seed, historyCap, items] of [
    [1, 2, 8],
    [2, 3, 40],
    [3, 20, 40],
    [4, 5, 8],
  ] as const)
    it(`gives each retraction of a batch coocUndoOps' ops in one pass (seed ${seed}, cap ${historyCap}, ${items} items)`, () => {
      const { log, retractions } = syntheticUserLog({ interactions: 400, retractions: 80, items, seed });
      const config = { ...CONFIG, historyCap };
      const batch = new Set(retractions.slice(30));
      const ops = coocUndoOpsOfRetractions(log, batch, config);
      assert.deepEqual([...ops.keys()], retractions.slice(30));
      let changed = 0;
      for (const m of log)
        if (m.kind === "retraction" && batch.has(m.event.event_id)) {
          const one = coocUndoOps(log, m, config);
          if (one.length > 0) changed++;
          assert.deepEqual(ops.get(m.event.event_id), one, m.event.event_id);
        }
      assert.ok(changed >= 10, `the log exercises undos that change something (${changed})`);
    });
});
