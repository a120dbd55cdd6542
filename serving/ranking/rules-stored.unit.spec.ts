import { test } from "node:test";
import assert from "node:assert/strict";
import type { ExistingRule, RuleDefinition } from "../../ingest/rules/index.ts";
import { applicableRules, compileRule, type CompiledRule } from "./rules-stored.ts";

const rule = (
  id: string,
  definition: RuleDefinition,
  status: "active" | "deleted" = "active",
): ExistingRule => ({
  id,
  version: 1,
  status,
  definition,
  created_at: "2026-12-01T00:00:00.000Z",
  created_by: "k",
  updated_at: "2026-12-01T00:00:00.000Z",
  updated_by: "k",
  deleted_at: null,
});
const T = Date.parse("2026-12-01T12:00:00.000Z");

test("stored rules compile to directives (bury = 1 / factor, default 2); deleted and disabled ones never apply", () => {
  const compiled = [
    rule("a", { name: "a", action: "pin", item_id: "sku", position: 2 }),
    rule("b", { name: "b", action: "boost", category: "books" }),
    rule("c", { name: "c", action: "bury", item_id: "old", factor: 4 }),
    rule("d", { name: "d", action: "boost", item_id: "z" }, "deleted"),
    rule("e", { name: "e", action: "boost", item_id: "z", enabled: false }),
  ].flatMap((r) => compileRule(r) ?? []);
  assert.deepEqual(applicableRules(compiled, "u1", {}, T), {
    pins: [{ target: { item: "sku" }, position: 2 }],
    weights: [
      { target: { category: "books" }, factor: 2 },
      { target: { item: "old" }, factor: 0.25 },
    ],
  });
});

test("scope and window: users, context values (every listed field), [active_from, active_until)", () => {
  const compiled: CompiledRule[] = [
    rule("u", { name: "u", action: "boost", item_id: "u", scope: { user_ids: ["u1"] } }),
    rule("c", {
      name: "c",
      action: "boost",
      item_id: "c",
      scope: { context: { country: ["DE", "AT"], platform: ["ios"] } },
    }),
    rule("w", {
      name: "w",
      action: "boost",
      item_id: "w",
      active_from: "2026-12-01T12:00:00.000Z",
      active_until: "2026-12-01T13:00:00.000Z",
    }),
  ].flatMap((r) => compileRule(r) ?? []);
  const items = (userId: string, context: Record<string, string>, at: number) =>
    applicableRules(compiled, userId, context, at).weights.map((w) =>
      "item" in w.target ? w.target.item : "",
    );
  assert.deepEqual(items("u1", { country: "DE", platform: "ios" }, T), ["u", "c", "w"]);
  assert.deepEqual(items("u2", { country: "DE" }, T), ["w"]);
  assert.deepEqual(items("u2", { country: "FR", platform: "ios" }, T - 1), []);
  assert.deepEqual(items("u2", {}, T + 3_600_000), []);
});
