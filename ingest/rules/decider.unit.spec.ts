import { test } from "node:test";
import assert from "node:assert/strict";
import { decide, evolve, initialState, RuleError, type RuleCommand, type RuleState } from "./decider.ts";

const now = new Date("2026-12-01T10:00:00.000Z");
const later = new Date("2026-12-01T11:00:00.000Z");
const create = (definition: unknown): RuleCommand => ({
  type: "CreateRule",
  data: { rule_id: "r1", api_key_id: "k1", definition },
});
const run = (state: RuleState, command: RuleCommand, at = now) =>
  decide(command, state, { now: at }).reduce(evolve, state);

test("create → update → delete: versions, who and when, and the field changes of an update", () => {
  const created = run(
    initialState(),
    create({ name: "launch", action: "pin", item_id: "sku-1", position: 1 }),
  );
  assert.deepEqual(created, {
    id: "r1",
    version: 1,
    status: "active",
    definition: { name: "launch", action: "pin", item_id: "sku-1", position: 1 },
    created_at: now.toISOString(),
    created_by: "k1",
    updated_at: now.toISOString(),
    updated_by: "k1",
    deleted_at: null,
  });
  const patch = { position: 3, scope: { user_ids: ["u1"] } };
  const events = decide(
    { type: "UpdateRule", data: { rule_id: "r1", api_key_id: "k2", expected_version: 1, patch } },
    created,
    { now: later },
  );
  assert.deepEqual(events, [
    {
      type: "RuleUpdated",
      data: {
        rule_id: "r1",
        api_key_id: "k2",
        at: later.toISOString(),
        definition: {
          name: "launch",
          action: "pin",
          item_id: "sku-1",
          position: 3,
          scope: { user_ids: ["u1"] },
        },
        changes: { position: { from: 1, to: 3 }, scope: { to: { user_ids: ["u1"] } } },
      },
    },
  ]);
  const updated = events.reduce(evolve, created);
  assert.equal(updated.version, 2);
  // null clears an optional field; a change to nothing is no event.
  const cleared = run(updated, {
    type: "UpdateRule",
    data: { rule_id: "r1", api_key_id: "k2", expected_version: 2, patch: { scope: null } },
  });
  assert.equal(cleared.status !== "absent" && cleared.definition.scope, undefined);
  assert.deepEqual(
    decide(
      {
        type: "UpdateRule",
        data: { rule_id: "r1", api_key_id: "k2", expected_version: 3, patch: { position: 3 } },
      },
      cleared,
      { now },
    ),
    [],
  );
  const deleted = run(cleared, {
    type: "DeleteRule",
    data: { rule_id: "r1", api_key_id: "k3", expected_version: 3 },
  });
  assert.equal(deleted.status, "deleted");
  assert.equal(deleted.version, 4);
});

test("refusals: invalid definitions name the field; stale versions conflict; a deleted rule cannot change", () => {
  const refused = (state: RuleState, command: RuleCommand) => {
    try {
      decide(command, state, { now });
    } catch (err) {
      assert.ok(err instanceof RuleError);
      return { code: err.code, errors: err.errors };
    }
    assert.fail("not refused");
  };
  assert.deepEqual(refused(initialState(), create({ name: "x", action: "pin", item_id: "a" })), {
    code: "validation",
    errors: [{ field: "position", rule: 'is required for action "pin"' }],
  });
  assert.deepEqual(
    refused(initialState(), create({ name: "x", action: "boost", item_id: "a", category: "c" })),
    {
      code: "validation",
      errors: [{ field: "item_id", rule: "exactly one of item_id and category is required", received: "a" }],
    },
  );
  assert.deepEqual(
    refused(
      initialState(),
      create({
        name: "x",
        action: "bury",
        category: "c",
        factor: 1,
        active_from: "2026-12-02T00:00:00Z",
        active_until: "2026-12-01T00:00:00Z",
      }),
    ),
    {
      code: "validation",
      errors: [
        { field: "factor", rule: "must be greater than 1", received: 1 },
        { field: "active_until", rule: "must be later than active_from", received: "2026-12-01T00:00:00Z" },
      ],
    },
  );
  const rule = run(initialState(), create({ name: "x", action: "boost", category: "c" }));
  assert.deepEqual(
    refused(rule, { type: "DeleteRule", data: { rule_id: "r1", api_key_id: "k", expected_version: 2 } }),
    {
      code: "conflict",
      errors: [{ field: "expected_version", rule: "must be the current version (1)", received: 2 }],
    },
  );
  const gone = run(rule, {
    type: "DeleteRule",
    data: { rule_id: "r1", api_key_id: "k", expected_version: 1 },
  });
  assert.equal(
    refused(gone, {
      type: "UpdateRule",
      data: { rule_id: "r1", api_key_id: "k", expected_version: 2, patch: {} },
    }).code,
    "invalid_state",
  );
  assert.equal(
    refused(initialState(), {
      type: "DeleteRule",
      data: { rule_id: "r9", api_key_id: "k", expected_version: 1 },
    }).code,
    "not_found",
  );
});
