import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideHoldout, evolveHoldout, initialHoldoutState, type HoldoutState } from "./decider.ts";
import { ExperimentError } from "../experiments/errors.ts";

const now = new Date("2026-03-01T00:00:00.000Z");
const later = new Date("2026-03-02T00:00:00.000Z");
const definition = {
  key: "q3-holdout",
  name: "Q3 holdout",
  share: 0.05,
  experiments: ["checkout-test"],
  metrics: [{ key: "purchase-rate", type: "conversion", event_type: "purchase" }],
};

function created(): HoldoutState {
  const events = decideHoldout(
    { type: "CreateHoldout", data: { api_key_id: "k1", definition } },
    initialHoldoutState(),
    {
      now,
    },
  );
  return events.reduce(evolveHoldout, initialHoldoutState());
}

function errorOf(fn: () => unknown): ExperimentError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ExperimentError, String(err));
    return err;
  }
  assert.fail("expected an error");
}

describe("holdout decider", () => {
  it("creates version 1 with the metric defaults filled in", () => {
    const state = created();
    assert.equal(state.version, 1);
    assert.equal(state.definition?.share, 0.05);
    assert.deepEqual(state.definition?.metrics, [
      {
        key: "purchase-rate",
        type: "conversion",
        event_type: "purchase",
        guardrail: false,
        direction: "increase",
      },
    ]);
    assert.equal((state as { created_at: string }).created_at, now.toISOString());
  });

  it("refuses a second holdout with the same key", () => {
    const err = errorOf(() =>
      decideHoldout({ type: "CreateHoldout", data: { api_key_id: "k1", definition } }, created(), { now }),
    );
    assert.equal(err.code, "already_exists");
  });

  it("refuses a share above one half or at zero, naming the field", () => {
    for (const share of [0, 0.6]) {
      const err = errorOf(() =>
        decideHoldout(
          { type: "CreateHoldout", data: { api_key_id: "k1", definition: { ...definition, share } } },
          initialHoldoutState(),
          { now },
        ),
      );
      assert.equal(err.code, "validation");
      assert.equal(err.issues[0]!.field, "share");
      assert.equal(err.issues[0]!.received, share);
    }
  });

  it("updates the covered experiments at the current version and raises it", () => {
    const state = created();
    const events = decideHoldout(
      {
        type: "UpdateHoldout",
        data: {
          api_key_id: "k2",
          holdout_key: "q3-holdout",
          expected_version: 1,
          patch: { experiments: ["a", "b"] },
        },
      },
      state,
      { now: later },
    );
    const next = events.reduce(evolveHoldout, state);
    assert.equal(next.version, 2);
    assert.deepEqual(next.definition?.experiments, ["a", "b"]);
    assert.equal((next as { updated_by: string }).updated_by, "k2");
  });

  it("refuses a stale version, a share change and an unknown holdout", () => {
    const state = created();
    const update = (expected_version: number, patch: unknown) => () =>
      decideHoldout(
        {
          type: "UpdateHoldout",
          data: { api_key_id: "k2", holdout_key: "q3-holdout", expected_version, patch },
        },
        state,
        { now: later },
      );
    assert.equal(errorOf(update(3, { name: "x" })).code, "conflict");
    const share = errorOf(update(1, { share: 0.1 }));
    assert.equal(share.code, "validation");
    assert.match(share.message, /share/);
    const missing = errorOf(() =>
      decideHoldout(
        {
          type: "UpdateHoldout",
          data: { api_key_id: "k2", holdout_key: "nope", expected_version: 1, patch: {} },
        },
        initialHoldoutState(),
        { now },
      ),
    );
    assert.equal(missing.code, "not_found");
  });

  it("stops at the current version: status stopped, stop time kept, no change after", () => {
    const state = created();
    const stop = (s: HoldoutState, expected_version: number) =>
      decideHoldout(
        { type: "StopHoldout", data: { api_key_id: "k3", holdout_key: "q3-holdout", expected_version } },
        s,
        {
          now: later,
        },
      );
    const stopped = stop(state, 1).reduce(evolveHoldout, state);
    assert.equal(stopped.version, 2);
    assert.equal((stopped as { status: string }).status, "stopped");
    assert.equal((stopped as { stopped_at: string }).stopped_at, later.toISOString());
    assert.equal(errorOf(() => stop(stopped, 2)).code, "invalid_state");
    const update = errorOf(() =>
      decideHoldout(
        {
          type: "UpdateHoldout",
          data: { api_key_id: "k2", holdout_key: "q3-holdout", expected_version: 2, patch: { name: "x" } },
        },
        stopped,
        { now: later },
      ),
    );
    assert.equal(update.code, "invalid_state");
    assert.equal(update.issues[0]!.field, "status");
  });
});
