import { test } from "node:test";
import assert from "node:assert/strict";
import { ScriptBudget, scriptBudgetMsFromEnv } from "./script-budget.ts";

test("the first call carries the initial chunk, then the chunk fits the budget at the measured cost", () => {
  const budget = new ScriptBudget(10);
  assert.equal(budget.next(), 100);
  budget.observe(100, 10_000); // 100 µs an event: 10 ms holds 100
  assert.equal(budget.next(), 100);
  budget.observe(100, 30_000); // 300 µs an event; the average is (300 + 100) / 2 = 200 µs
  assert.equal(budget.next(), 50);
  budget.observe(50, 500); // 10 µs an event; average (10 + 200) / 2 = 105 µs → 95 events
  assert.equal(budget.next(), 95);
});

test("the chunk stays within its limits however cheap or dear events are", () => {
  const budget = new ScriptBudget(10, { min: 16, max: 2000, initial: 100 });
  budget.observe(100, 0); // free events: as many as a consumer batch holds
  assert.equal(budget.next(), 2000);
  const dear = new ScriptBudget(10);
  dear.observe(10, 10_000_000); // one second an event: still the minimum, never zero
  assert.equal(dear.next(), 16);
});

test("observations without events or with an unusable time change nothing", () => {
  const budget = new ScriptBudget(5);
  budget.observe(0, 1000);
  budget.observe(10, Number.NaN);
  assert.equal(budget.next(), 100);
  budget.observe(10, 1000); // 100 µs an event: 5 ms holds 50
  assert.equal(budget.next(), 50);
});

test("a budget of 0 turns the bound off: one call per batch", () => {
  const budget = new ScriptBudget(0);
  budget.observe(10, 1_000_000);
  assert.equal(budget.next(), Number.POSITIVE_INFINITY);
});

test("RECKON_REDIS_SCRIPT_BUDGET_MS: default 0 (off), any non-negative number, errors name the variable", () => {
  assert.equal(scriptBudgetMsFromEnv({}), 0);
  assert.equal(scriptBudgetMsFromEnv({ RECKON_REDIS_SCRIPT_BUDGET_MS: "" }), 0);
  assert.equal(scriptBudgetMsFromEnv({ RECKON_REDIS_SCRIPT_BUDGET_MS: "10" }), 10);
  assert.equal(scriptBudgetMsFromEnv({ RECKON_REDIS_SCRIPT_BUDGET_MS: "2.5" }), 2.5);
  assert.throws(
    () => scriptBudgetMsFromEnv({ RECKON_REDIS_SCRIPT_BUDGET_MS: "-1" }),
    /RECKON_REDIS_SCRIPT_BUDGET_MS: must be a number of milliseconds ≥ 0 \(received "-1"\)/,
  );
  assert.throws(() => scriptBudgetMsFromEnv({ RECKON_REDIS_SCRIPT_BUDGET_MS: "fast" }), /received "fast"/);
  assert.throws(() => new ScriptBudget(-1), /≥ 0/);
});
