// The ClickHouse attribution and metric sums against the pure rule (attribution.ts) on the same data: served
// lists and interactions go through the analytics projection (as log messages) into chdb, then the SQL's
// answer must equal what the rule computes in TypeScript, row for row.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { recommendationServed } from "../../core/contracts/recommendation-served.ts";
import { createAnalyticsProjection } from "../../projectors/analytics/projection.ts";
import { attributeInteractions, type ServedSlot } from "./attribution.ts";
import { loadAttributions, loadGroupSums, type AttributionWindow } from "./attribution-sql.ts";

const T0 = Date.parse("2026-05-04T10:00:00.000Z");
const MIN = 60_000;
const USERS = ["u0", "u1", "u2", "u3"];
const ITEMS = ["a", "b", "c", "d", "e"];
const SOURCES = ["neighbours", "trending", "popular"];

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

interface Slot extends ServedSlot {
  source: string;
  modelVersion: number | null;
}
interface Interaction {
  eventId: string;
  type: "click" | "purchase";
  userId: string;
  itemId: string;
  occurredAtMs: number;
  value: number;
  recommendationId?: string;
}

const rand = random(18);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
const slots: Slot[] = [];
const messages: LogMessage[] = [];
let position = 0;
const envelope = () => ({
  position: ++position,
  transaction_id: String(1000 + position),
  received_at: new Date(T0).toISOString(),
});

// 60 lists of 3 distinct items over two hours; every tenth shares its time with the previous list of the same
// user (a tie the rule breaks by recommendation id).
for (let n = 0; n < 60; n++) {
  const userId = pick(USERS);
  const previous = slots.filter((s) => s.userId === userId).at(-1);
  const at = n % 10 === 9 && previous ? previous.servedAtMs : T0 + Math.floor(rand() * 120) * MIN;
  const items = [...ITEMS].sort(() => rand() - 0.5).slice(0, 3);
  const modelVersion = n % 3 === 0 ? null : 1 + (n % 2);
  const served = recommendationServed({
    recommendationId: uuid(n + 1),
    userId,
    at: new Date(at),
    modelVersion,
    items: items.map((item_id) => ({ item_id, source: pick(SOURCES) })),
  });
  for (const item of served.items)
    slots.push({
      recommendationId: served.event_id,
      userId,
      itemId: item.item_id,
      servedAtMs: at,
      rank: item.rank,
      source: item.source,
      modelVersion,
    });
  messages.push({ kind: "recommendation", ...envelope(), event: served });
}

// 200 clicks and purchases; a third name a recommendation: the right one, another user's, or an unknown id.
const interactions: Interaction[] = [];
for (let n = 0; n < 200; n++) {
  const type = rand() < 0.7 ? "click" : "purchase";
  const userId = pick(USERS);
  const itemId = pick(ITEMS);
  const occurredAtMs = T0 + Math.floor(rand() * 150 * MIN);
  const named = rand();
  const own = slots.filter((s) => s.userId === userId && s.itemId === itemId);
  const recommendationId =
    named < 0.15 && own.length > 0
      ? pick(own).recommendationId
      : named < 0.25
        ? pick(slots).recommendationId
        : named < 0.33
          ? uuid(900_000 + n)
          : undefined;
  const value = type === "purchase" ? 5 + (n % 7) : 0;
  const event = {
    eventId: uuid(100_000 + n),
    type,
    userId,
    itemId,
    occurredAtMs,
    value,
    ...(recommendationId ? { recommendationId } : {}),
  } as const;
  interactions.push(event);
  messages.push({
    kind: "interaction",
    ...envelope(),
    event: {
      event_id: event.eventId,
      type,
      user_id: userId,
      item_id: itemId,
      timestamp: new Date(occurredAtMs).toISOString(),
      ...(type === "purchase" ? { value } : {}),
      ...(recommendationId ? { recommendation_id: recommendationId.toUpperCase() } : {}),
    },
  });
}

const WINDOW: AttributionWindow = {
  from: new Date(T0),
  to: new Date(T0 + 121 * MIN),
  windowMs: 30 * MIN,
  clickTypes: ["click"],
  conversionTypes: ["purchase"],
};

let dir: string;
let ch: ClickHouseStore;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "reckon-attribution-"));
  ch = await openClickHouse(`chdb://${dir}`);
  const projection = createAnalyticsProjection({ clickhouse: ch });
  await projection.apply({
    topic: "reckon.events.v1",
    partition: 0,
    messages: messages.map((message, i) => ({ offset: String(i), message })),
  });
});
after(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("attribution in ClickHouse", () => {
  const expected = attributeInteractions(interactions, slots, WINDOW.windowMs);

  it("credits every interaction as the rule does (explicit ids, then the most recent list in the window)", async () => {
    const rows = await loadAttributions(ch, WINDOW);
    const want = expected
      .map((a) => ({
        event_id: a.eventId,
        recommendation_id: a.slot.recommendationId,
        item_id: a.slot.itemId,
        method: a.method,
      }))
      .sort((x, y) => x.event_id.localeCompare(y.event_id));
    assert.deepEqual(rows, want);
    // The fixture exercises both methods and leaves some interactions unattributed.
    assert.ok(want.some((a) => a.method === "explicit") && want.some((a) => a.method === "window"));
    assert.ok(want.length < interactions.length);
  });

  it("sums per group what the attributed slots give, users as the unit", async () => {
    const byEvent = new Map(interactions.map((e) => [e.eventId, e]));
    const outcome = new Map<string, { clicked: boolean; conversions: number; revenue: number }>();
    for (const a of expected) {
      const key = `${a.slot.recommendationId}/${a.slot.itemId}`;
      const o = outcome.get(key) ?? { clicked: false, conversions: 0, revenue: 0 };
      const e = byEvent.get(a.eventId)!;
      if (e.type === "click") o.clicked = true;
      else {
        o.conversions += 1;
        o.revenue += e.value;
      }
      outcome.set(key, o);
    }
    const k = 2;
    const expectedGroup = (keep: (s: Slot) => boolean) => {
      const perUser = new Map<
        string,
        { shownK: number; clickedK: number; shown: number; conv: number; rev: number }
      >();
      for (const s of slots.filter(keep)) {
        const u = perUser.get(s.userId) ?? { shownK: 0, clickedK: 0, shown: 0, conv: 0, rev: 0 };
        const o = outcome.get(`${s.recommendationId}/${s.itemId}`);
        u.shown += 1;
        if (s.rank <= k) {
          u.shownK += 1;
          if (o?.clicked) u.clickedK += 1;
        }
        u.conv += o?.conversions ?? 0;
        u.rev += o?.revenue ?? 0;
        perUser.set(s.userId, u);
      }
      const us = [...perUser.values()];
      const total = (f: (u: (typeof us)[number]) => number) => us.reduce((x, u) => x + f(u), 0);
      return {
        users: us.length,
        shown_k: total((u) => u.shownK),
        clicked_k: total((u) => u.clickedK),
        clicked_k_x_shown_k: total((u) => u.clickedK * u.shownK),
        shown: total((u) => u.shown),
        conversions: total((u) => u.conv),
        revenue_sq: total((u) => u.rev ** 2),
      };
    };
    const rows = await loadGroupSums(ch, { ...WINDOW, k });
    const got = (dimension: string, value: string) => {
      const r = rows.find((x) => x.dimension === dimension && x.value === value)!;
      return {
        users: r.users,
        shown_k: r.shown_k,
        clicked_k: r.clicked_k,
        clicked_k_x_shown_k: r.clicked_k_x_shown_k,
        shown: r.shown,
        conversions: r.conversions,
        revenue_sq: r.revenue_sq,
      };
    };
    assert.deepEqual(
      got("all", "all"),
      expectedGroup(() => true),
    );
    assert.deepEqual(
      got("model_version", "heuristic"),
      expectedGroup((s) => s.modelVersion === null),
    );
    assert.deepEqual(
      got("model_version", "2"),
      expectedGroup((s) => s.modelVersion === 2),
    );
    for (const source of SOURCES)
      assert.deepEqual(
        got("source", source),
        expectedGroup((s) => s.source === source),
      );
    // No list ran under an experiment: no variant groups.
    assert.equal(rows.filter((r) => r.dimension.startsWith("experiment:")).length, 0);
  });
});
