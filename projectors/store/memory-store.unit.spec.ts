import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Op, OpsMessage } from "../../core/projection-store/port.ts";
import { MemoryProjectionStore } from "./memory-store.ts";

/** Key lifetimes on the injected clock, their persistence, and the rejections a Redis script would give. */
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const freshDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "reckon-memstore-"));
  dirs.push(dir);
  return dir;
};

const target = { prefix: "p", ns: "f", projection: "features" };
let position = 0;
const batch = (...ops: Op[]): OpsMessage[] => [
  { position: { transactionId: 1n, position: ++position }, ops },
];
const apply = (store: MemoryProjectionStore, messages: OpsMessage[]) =>
  store.applyOps(target, "src", messages, (part) => [...part]);

describe("in-process projection store", () => {
  test("a key's lifetime runs on the injected clock, and survives a snapshot as an absolute time", async () => {
    let clock = 1_000_000;
    const dir = freshDir();
    const store = await MemoryProjectionStore.open({ dataDir: dir, now: () => clock });
    await apply(store, batch(["zincrby", "{c:x}:tr", "5", "i1"], ["pexpire", "{c:x}:tr", "60000"]));
    clock += 59_999;
    assert.equal(await store.zscore("p:f:v1:{c:x}:tr", "i1"), "5");
    await store.close();

    const reopened = await MemoryProjectionStore.open({ dataDir: dir, now: () => clock });
    assert.equal(await reopened.zscore("p:f:v1:{c:x}:tr", "i1"), "5");
    clock += 1;
    assert.equal(await reopened.zscore("p:f:v1:{c:x}:tr", "i1"), null);
    assert.equal(await reopened.type("p:f:v1:{c:x}:tr"), "none");
    assert.deepEqual(await reopened.keysByPrefix("p:f:v1:{c:"), []);
    // An increment after expiry starts a new key without a lifetime.
    await apply(reopened, batch(["zincrby", "{c:x}:tr", "2", "i1"]));
    clock += 10 ** 9;
    assert.equal(await reopened.zscore("p:f:v1:{c:x}:tr", "i1"), "2");
    await reopened.close();
  });

  test("an op on a key of another type rejects the batch with the key named, and nothing is journaled", async () => {
    const dir = freshDir();
    const store = await MemoryProjectionStore.open({ dataDir: dir });
    await apply(store, batch(["hincrby", "{u:1}:p", "n:view", "1"]));
    await assert.rejects(
      apply(store, batch(["zadd_gt", "{u:1}:p", "5", "x"])),
      /WRONGTYPE .*\(p:f:v1:\{u:1\}:p\)/,
    );
    await assert.rejects(apply(store, batch(["hincrby", "{u:1}:p", "n:view", "1.5"])), /not an integer/);
    assert.deepEqual(await store.hgetall("p:f:v1:{u:1}:p"), { "n:view": "1" });
    store.abandon();
    const reopened = await MemoryProjectionStore.open({ dataDir: dir });
    assert.deepEqual(await reopened.hgetall("p:f:v1:{u:1}:p"), { "n:view": "1" });
    assert.deepEqual(await reopened.appliedPosition(target, "src"), {
      transactionId: 1n,
      position: position - 2,
    });
    await reopened.close();
  });

  test("a catalog write only wins with a newer version", async () => {
    const store = await MemoryProjectionStore.open({});
    await apply(store, batch(["hset_newer", "{i:1}:item", "2", "cats", '["a"]']));
    await apply(store, batch(["hset_newer", "{i:1}:item", "1", "cats", '["old"]']));
    await apply(store, batch(["hset_newer", "{i:1}:item", "3", "avail", "1"]));
    assert.deepEqual(await store.hgetall("p:f:v1:{i:1}:item"), { v: "3", cats: '["a"]', avail: "1" });
    await store.close();
  });
});
