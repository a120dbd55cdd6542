import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { dumpVersion, interaction } from "../runtime/testing.ts";
import { PROJECTION_STORES, storeForSuite } from "../store/testing.ts";
import { createRecommendationsProjection } from "./projection.ts";
import type { RecommendationsConfig } from "./ops.ts";

/**
 * Co-occurrence with caps small enough to bind: every history and neighbour set is trimmed again and again. The
 * stored state must equal a plain model of the sequential rule (for each event: if the item is new to the user's
 * history, +1 both ways with every item in it, each set trimmed to its cap after each increment; the history
 * keeps its latest items), whatever the batching and on every projection store. The batch scripts skip the trim when an
 * increment did not add a member (lua.ts zincrCapped); this checks that the skip changes nothing.
 */
const CONFIG: RecommendationsConfig = { historyCap: 4, neighbourCap: 3, userTtlMs: 86_400_000 };
const START = Date.UTC(2026, 0, 1);

function workload(): LogMessage[] {
  const out: LogMessage[] = [];
  for (let i = 0; i < 400; i++) {
    // Pseudo-random but fixed: users revisit items, and some events arrive late (older than the history).
    const user = `u${(i * 5) % 7}`;
    const item = `i${(i * 7 + Math.floor(i / 13)) % 12}`;
    const minute = (i * 37) % 500;
    out.push(interaction(user, item, "view", new Date(START + minute * 60_000).toISOString()));
  }
  return out;
}

type ZSet = Map<string, number>;
/** Redis order: by score, then by member bytes. */
const ascending = (z: ZSet) =>
  [...z].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([m]) => m);
function trim(z: ZSet, cap: number) {
  const order = ascending(z);
  for (let i = 0; i < order.length - cap; i++) z.delete(order[i]!);
}
const flat = (z: ZSet) => ascending(z).flatMap((m) => [m, String(z.get(m))]);

/** The sequential rule, written plainly: what the store must hold after `messages`. */
function reference(messages: readonly LogMessage[], config: RecommendationsConfig) {
  const histories = new Map<string, ZSet>();
  const neighbours = new Map<string, ZSet>();
  const counts = new Map<string, number>();
  const zset = (m: Map<string, ZSet>, k: string) => m.get(k) ?? m.set(k, new Map()).get(k)!;
  for (const m of messages) {
    if (m.kind !== "interaction" || m.event.item_id === undefined) continue;
    const item = m.event.item_id;
    const t = Date.parse(m.event.timestamp);
    const history = zset(histories, m.event.user_id);
    if (history.has(item)) {
      history.set(item, Math.max(history.get(item)!, t));
      continue;
    }
    for (const other of ascending(history)) {
      const o = zset(neighbours, other);
      o.set(item, (o.get(item) ?? 0) + 1);
      trim(o, config.neighbourCap);
      const own = zset(neighbours, item);
      own.set(other, (own.get(other) ?? 0) + 1);
      trim(own, config.neighbourCap);
    }
    counts.set(item, (counts.get(item) ?? 0) + 1);
    history.set(item, t);
    trim(history, config.historyCap);
  }
  const out: Record<string, unknown> = {};
  for (const [u, z] of histories) out[`{u:${u}}:h`] = flat(z);
  for (const [i, z] of neighbours) if (z.size > 0) out[`{i:${i}}:nbrs`] = flat(z);
  for (const [i, n] of counts) out[`{i:${i}}:cnt`] = String(n);
  return out;
}

const sorted = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

describe("co-occurrence under binding caps", () => {
  const messages = workload();
  const expected = sorted(reference(messages, CONFIG));

  test("the workload makes the caps bind", () => {
    const nbrs = Object.entries(expected).filter(([k]) => k.endsWith(":nbrs"));
    assert.ok(
      nbrs.length === 12 && nbrs.every(([, v]) => (v as string[]).length === 2 * CONFIG.neighbourCap),
    );
  });

  for (const backend of PROJECTION_STORES) {
    const suite = storeForSuite(backend);
    after(() => suite.cleanUp());
    for (const batch of [1, 7, 400]) {
      test(`${backend.name}, batches of ${batch}: the stored state is the sequential rule's`, async () => {
        const store = await suite.store();
        const prefix = suite.prefix("rkcap");
        const projection = createRecommendationsProjection(store, { prefix, config: CONFIG });
        for (let i = 0; i < messages.length; i += batch)
          await projection.applyMessages(messages.slice(i, i + batch), "src");
        const dump = await dumpVersion(store, prefix, projection.ns, 1);
        const state = Object.fromEntries(
          Object.entries(dump).filter(([k]) => /:(h|nbrs|cnt)$/.test(k) && k.startsWith("{")),
        );
        assert.deepEqual(sorted(state), expected);
      });
    }
  }
});
