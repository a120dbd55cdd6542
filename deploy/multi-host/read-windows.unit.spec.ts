import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { failingWindows, longestFailingMs, readsWhileUp, type ReadSample } from "./read-windows.ts";

const read = (startedAt: number, ok: boolean, endedAt = startedAt + 5): ReadSample => ({
  startedAt,
  endedAt,
  ok,
});

describe("failing read windows", () => {
  test("consecutive failures form one window that ends at the next success's start", () => {
    const samples = [
      read(0, true),
      read(100, false),
      read(200, false),
      read(300, true),
      read(400, false, 450),
    ];
    assert.deepEqual(failingWindows(samples), [
      { from: 100, to: 300, failures: 2 },
      { from: 400, to: 450, failures: 1 },
    ]);
    assert.equal(longestFailingMs(samples), 200);
  });

  test("samples are ordered by start, whatever the order they were recorded in", () => {
    assert.deepEqual(failingWindows([read(300, true), read(100, false), read(0, true)]), [
      { from: 100, to: 300, failures: 1 },
    ]);
  });

  test("no failure: no window, longest 0", () => {
    assert.deepEqual(failingWindows([read(0, true), read(10, true)]), []);
    assert.equal(longestFailingMs([]), 0);
  });

  test("reads overlapping a down span are left out, reads wholly outside kept", () => {
    const samples = [
      read(0, true, 90),
      read(95, false, 120),
      read(150, false),
      read(400, true, 410),
      read(500, true),
    ];
    assert.deepEqual(readsWhileUp(samples, [{ from: 100, to: 400 }]), [read(0, true, 90), read(500, true)]);
  });
});
