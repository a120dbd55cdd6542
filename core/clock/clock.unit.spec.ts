import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, loadVariables } from "../config/env.ts";
import { clockFromConfig, dateOf, fixedClock, systemClock } from "./clock.ts";

const T = Date.parse("2026-03-01T12:34:56.789Z");

describe("clock", () => {
  it("a fixed clock answers its instant on every call", () => {
    const clock = fixedClock(T);
    assert.equal(clock.now(), 1772368496789);
    assert.equal(clock.now(), 1772368496789);
    assert.equal(dateOf(clock)().toISOString(), "2026-03-01T12:34:56.789Z");
  });

  it("a fixed clock needs a finite instant", () => {
    assert.throws(() => fixedClock(Number.NaN), /fixedClock: atMs must be a finite number, received NaN/);
  });

  it("the system clock follows Date.now", () => {
    const before = Date.now();
    const now = systemClock.now();
    assert.ok(now >= before && now <= Date.now());
  });

  it("RECKON_FIXED_CLOCK unset is the system clock; set, a clock standing at it", () => {
    assert.equal(clockFromConfig({}), systemClock);
    assert.equal(clockFromConfig({ RECKON_FIXED_CLOCK: T, NODE_ENV: "test" }).now(), T);
  });

  it("a production image refuses a fixed clock, naming the variable, the rule and the value", () => {
    assert.throws(
      () => clockFromConfig({ RECKON_FIXED_CLOCK: T, NODE_ENV: "production" }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        err.problems[0] ===
          'RECKON_FIXED_CLOCK: must not be set when NODE_ENV is "production" (it is for reproducible evaluation and tests; received 2026-03-01T12:34:56.789Z)',
    );
  });

  it("RECKON_FIXED_CLOCK parses an ISO-8601 date-time with a zone to ms", () => {
    const parse = (value: string) => loadVariables(["RECKON_FIXED_CLOCK"], { RECKON_FIXED_CLOCK: value });
    assert.equal(parse("2026-03-01T12:34:56.789Z").RECKON_FIXED_CLOCK, T);
    assert.equal(parse("2026-03-01T14:34:56.789+02:00").RECKON_FIXED_CLOCK, T);
    assert.equal(parse("2026-03-01T12:34Z").RECKON_FIXED_CLOCK, Date.parse("2026-03-01T12:34:00Z"));
    for (const bad of ["2026-03-01", "2026-03-01T12:34:56", "yesterday", "2026-13-45T99:00:00Z"])
      assert.throws(
        () => parse(bad),
        (err: unknown) =>
          err instanceof ConfigError &&
          /RECKON_FIXED_CLOCK/.test(err.problems[0]!) &&
          /must be an ISO-8601 date-time with a time zone/.test(err.problems[0]!) &&
          err.problems[0]!.includes(bad),
        bad,
      );
  });
});
