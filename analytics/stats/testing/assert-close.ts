// Assertion helper for the stats unit tests: reference numbers come from gbstats/scipy, so
// agreement is checked to a relative 1e-9 (far inside the 4-decimal contract) with a tiny
// absolute floor for values that are exactly 0.
import assert from "node:assert/strict";

export function assertClose(
  actual: number,
  expected: number,
  label = "",
  relative = 1e-9,
  absolute = 1e-12,
): void {
  const tolerance = absolute + relative * Math.abs(expected);
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${label}: expected ${expected}, received ${actual} (difference ${Math.abs(actual - expected)}, tolerance ${tolerance})`,
  );
}

export function assertCloseAll(actual: readonly number[], expected: readonly number[], label = ""): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  actual.forEach((value, i) => assertClose(value, expected[i] as number, `${label}[${i}]`));
}
