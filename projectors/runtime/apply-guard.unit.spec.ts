import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { applyGuarded, checkHealth, type ApplyGuardOptions } from "./apply-guard.ts";

/** A store that rejects some messages permanently and can be down; records what it applied, in order. */
function store(rejects: Set<number>) {
  const events: string[] = [];
  let down = false;
  const options: ApplyGuardOptions<number> = {
    isolateAfter: 3,
    async apply(messages) {
      if (down) throw new Error("connection refused");
      const bad = messages.find((m) => rejects.has(m));
      if (bad !== undefined) throw new Error(`cannot store ${bad}`);
      for (const m of messages) events.push(`apply ${m}`);
      return messages.map(() => ({ kind: "ok" as const }));
    },
    healthy: async () => !down,
    pause: async () => true,
    async deadLetter(m, reason) {
      events.push(`dead ${m}: ${reason}`);
      return true;
    },
  };
  return {
    events,
    options,
    setDown(value: boolean) {
      down = value;
    },
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("applyGuarded", () => {
  test("dead-letters the rejected message between the ones before and after it, in order", async () => {
    const s = store(new Set([7]));
    const outcomes = await applyGuarded(range(10), s.options);
    assert.deepEqual(
      outcomes?.map((o) => o.kind),
      ["ok", "ok", "ok", "ok", "ok", "ok", "rejected", "ok", "ok", "ok"],
    );
    assert.deepEqual(s.events, [
      "apply 1",
      "apply 2",
      "apply 3",
      "apply 4",
      "apply 5",
      "apply 6",
      "dead 7: rejected by the store while it was healthy (3 attempts): cannot store 7",
      "apply 8",
      "apply 9",
      "apply 10",
    ]);
  });

  test("isolates several rejected messages, including the first and the last", async () => {
    const s = store(new Set([1, 4, 5, 9]));
    const outcomes = await applyGuarded(range(9), s.options);
    assert.deepEqual(
      outcomes?.map((o) => o.kind),
      ["rejected", "ok", "ok", "rejected", "rejected", "ok", "ok", "ok", "rejected"],
    );
    assert.deepEqual(
      s.events.map((e) => e.split(":")[0]),
      ["dead 1", "apply 2", "apply 3", "dead 4", "dead 5", "apply 6", "apply 7", "apply 8", "dead 9"],
    );
  });

  test("an outage is retried until the store is back and nothing is dead-lettered", async () => {
    const s = store(new Set());
    s.setDown(true);
    let pauses = 0;
    let unhealthy = 0;
    const outcomes = await applyGuarded(range(4), {
      ...s.options,
      pause: async () => {
        if (++pauses === 20) s.setDown(false);
        return true;
      },
      onUnhealthy: () => unhealthy++,
    });
    assert.deepEqual(
      outcomes?.map((o) => o.kind),
      ["ok", "ok", "ok", "ok"],
    );
    assert.deepEqual(s.events, ["apply 1", "apply 2", "apply 3", "apply 4"]);
    assert.equal(pauses, 20);
    assert.equal(unhealthy, 18); // asked after the 3rd failure and every one after it
  });

  test("an outage that starts during isolation does not dead-letter the message being tested", async () => {
    const s = store(new Set([2]));
    let failures = 0;
    const outcomes = await applyGuarded(range(3), {
      ...s.options,
      // The store goes down right after the isolation started, and comes back a few retries later.
      onIsolate: () => s.setDown(true),
      onFailure: () => {
        if (++failures === 8) s.setDown(false);
      },
    });
    assert.deepEqual(
      outcomes?.map((o) => o.kind),
      ["ok", "rejected", "ok"],
    );
    assert.deepEqual(
      s.events.map((e) => e.split(":")[0]),
      ["apply 1", "dead 2", "apply 3"],
    );
  });

  test("without a health check every failure is an outage", async () => {
    const s = store(new Set([2]));
    let pauses = 0;
    const outcomes = await applyGuarded(range(3), {
      ...s.options,
      healthy: undefined,
      pause: async () => ++pauses < 10,
    });
    assert.equal(outcomes, undefined, "stopped while still retrying");
    assert.deepEqual(s.events, []);
  });

  test("checkHealth answers false for a check that hangs or throws", async () => {
    assert.equal(await checkHealth(() => new Promise(() => undefined), 20), false);
    assert.equal(await checkHealth(() => Promise.reject(new Error("down")), 20), false);
    assert.equal(await checkHealth(async () => true, 20), true);
  });
});
