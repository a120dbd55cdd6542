import { test } from "node:test";
import assert from "node:assert/strict";
import { keySlot, slotTag, SLOTS } from "./slots.ts";
import { parseClusterUrl } from "./redis.ts";

test("keySlot matches Redis Cluster's CLUSTER KEYSLOT values", () => {
  // Values from the Redis Cluster specification and `CLUSTER KEYSLOT` on Redis 7.
  assert.equal(keySlot("123456789"), 0x31c3 % SLOTS);
  assert.equal(keySlot("foo"), 12182);
  assert.equal(keySlot("{user1000}.following"), keySlot("user1000"));
  assert.equal(keySlot("foo{}{bar}"), keySlot("foo{}{bar}")); // empty tag: the whole key counts
  assert.notEqual(keySlot("foo{}{bar}"), keySlot("bar"));
  assert.equal(keySlot("foo{{bar}}zap"), keySlot("{bar"));
});

test("slotTag names a tag for every slot", () => {
  for (const slot of [0, 1, 5000, 12182, SLOTS - 1]) {
    const tag = slotTag(slot);
    assert.match(tag, /^\{s:[0-9a-z]+\}$/);
    assert.equal(keySlot(`rk:f:v1:${tag}:g`), slot);
  }
});

test("parseClusterUrl reads seed nodes and credentials", () => {
  assert.deepEqual(parseClusterUrl("redis-cluster://127.0.0.1:7001,127.0.0.1:7002"), {
    nodes: [
      { host: "127.0.0.1", port: 7001 },
      { host: "127.0.0.1", port: 7002 },
    ],
  });
  assert.deepEqual(parseClusterUrl("redis-cluster://:s%40cret@h1:7001/"), {
    nodes: [{ host: "h1", port: 7001 }],
    password: "s@cret",
  });
  assert.throws(() => parseClusterUrl("redis-cluster://h1:x"), /bad cluster node/);
});
