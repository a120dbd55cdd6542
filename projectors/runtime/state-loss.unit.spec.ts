import { test } from "node:test";
import assert from "node:assert/strict";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { isStateLost, lastAppliedPosition } from "./state-loss.ts";
import { SelfRebuild } from "./self-rebuild.ts";

const message = (transactionId: number, position: number) => ({
  message: {
    kind: "interaction",
    position,
    transaction_id: String(transactionId),
    received_at: "2026-01-01T00:00:00Z",
    event: {
      event_id: "00000000-0000-4000-8000-000000000000",
      type: "view",
      user_id: "u1",
      item_id: "i1",
      timestamp: "2026-01-01T00:00:00Z",
    },
  } as LogMessage,
});

test("the position a committed chunk leaves in the store is its last applied or dropped message", () => {
  const messages = [message(10, 1), message(10, 2), message(11, 3)];
  assert.deepEqual(lastAppliedPosition(messages, [{ kind: "ok" }, { kind: "drop" }, { kind: "ok" }]), {
    transactionId: 11n,
    position: 3,
  });
  // A message the store rejected (or that was dead-lettered) never reached it: the position before it counts.
  assert.deepEqual(lastAppliedPosition(messages, [{ kind: "ok" }, { kind: "drop" }, { kind: "rejected" }]), {
    transactionId: 10n,
    position: 2,
  });
  assert.equal(
    lastAppliedPosition(messages, [{ kind: "dead_letter" }, { kind: "rejected" }, { kind: "rejected" }]),
    undefined,
  );
});

test("a store lost state when it holds nothing, or less than what was committed", () => {
  const committed = { transactionId: 10n, position: 5 };
  assert.equal(isStateLost(undefined, committed), true);
  assert.equal(isStateLost({ transactionId: 10n, position: 4 }, committed), true);
  assert.equal(isStateLost({ transactionId: 9n, position: 900 }, committed), true);
  assert.equal(isStateLost({ transactionId: 10n, position: 5 }, committed), false);
  assert.equal(isStateLost({ transactionId: 11n, position: 1 }, committed), false);
  // Nothing committed with a position (a fresh group, or commits made before positions were recorded): no verdict.
  assert.equal(isStateLost(undefined, undefined), false);
});

test("a loss starts one rebuild, readiness names it while it runs, and a loss seen meanwhile runs it again", async () => {
  let finish: () => void = () => undefined;
  let runs = 0;
  const rebuild = new SelfRebuild({
    rebuilders: {
      features: () => {
        runs++;
        return new Promise<void>((resolve) => (finish = resolve));
      },
    },
  });
  const loss = {
    projection: "features",
    topic: "t",
    partition: 2,
    stored: undefined,
    committed: { transactionId: 7n, position: 42 },
  };
  assert.deepEqual(rebuild.rebuilding(), []);
  rebuild.report(loss);
  rebuild.report(loss); // another partition, or the same one again: the rebuild runs once more after this one
  assert.equal(runs, 1);
  assert.deepEqual(rebuild.rebuilding(), [
    "features: its store lost state (partition 2: stored nothing, committed 7.42); rebuilding from the log",
  ]);
  assert.equal(rebuild.health("features").state, "rebuilding");
  finish();
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, 2);
  finish();
  await rebuild.settled();
  const health = rebuild.health("features");
  assert.equal(health.state, "rebuilt");
  assert.equal(health.rebuilds, 2);
  assert.deepEqual(health.last_loss && { ...health.last_loss, detected_at: "" }, {
    detected_at: "",
    partition: 2,
    stored: null,
    committed: "7.42",
  });
  assert.deepEqual(rebuild.rebuilding(), []);
  assert.deepEqual(rebuild.health("recommendations"), { state: "intact", rebuilds: 0 });
});

test("a failed rebuild is retried until it succeeds", async () => {
  let attempts = 0;
  const rebuild = new SelfRebuild({
    retryMs: 1,
    rebuilders: {
      features: async () => {
        attempts++;
        if (attempts < 3) throw new Error("Redis still loading");
      },
    },
  });
  rebuild.report({
    projection: "features",
    topic: "t",
    partition: 0,
    stored: undefined,
    committed: { transactionId: 1n, position: 1 },
  });
  await rebuild.settled();
  assert.equal(attempts, 3);
  assert.equal(rebuild.health("features").rebuilds, 1);
});
