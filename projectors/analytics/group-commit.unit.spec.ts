import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { GroupCommit } from "./group-commit.ts";

/** A writer that records each write's jobs and finishes when told to. */
function recordingWriter(fail: (jobs: readonly string[]) => boolean = () => false) {
  const writes: string[][] = [];
  const finishers: (() => void)[] = [];
  const write = (jobs: readonly string[]) =>
    new Promise<void>((resolve, reject) => {
      writes.push([...jobs]);
      finishers.push(() => (fail(jobs) ? reject(new Error(`rejected ${jobs.join("+")}`)) : resolve()));
    });
  const finishNext = async () => {
    await new Promise((r) => setImmediate(r));
    finishers.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { writes, write, finishNext };
}

describe("GroupCommit", () => {
  it("writes the first job at once and the jobs that came meanwhile together in the next write", async () => {
    const w = recordingWriter();
    const group = new GroupCommit(w.write);
    const done: string[] = [];
    const a = group.submit("a").then(() => done.push("a"));
    const b = group.submit("b").then(() => done.push("b"));
    const c = group.submit("c").then(() => done.push("c"));
    assert.deepEqual(w.writes, [["a"]]);
    await w.finishNext();
    assert.deepEqual(done, ["a"]);
    assert.deepEqual(w.writes, [["a"], ["b", "c"]]);
    await w.finishNext();
    await Promise.all([a, b, c]);
    assert.deepEqual(done, ["a", "b", "c"]);
    assert.equal(w.writes.length, 2);
  });

  it("after a failed group write, writes each job alone and fails only the job the store rejects", async () => {
    const w = recordingWriter((jobs) => jobs.includes("bad"));
    const group = new GroupCommit(w.write);
    const first = group.submit("first");
    const good = group.submit("good");
    const bad = assert.rejects(group.submit("bad"), /rejected bad/); // handled before it settles
    await w.finishNext(); // "first" alone
    await w.finishNext(); // "good"+"bad" together: rejected
    await w.finishNext(); // "good" alone
    await w.finishNext(); // "bad" alone: rejected
    await first;
    await good;
    await bad;
    assert.deepEqual(w.writes, [["first"], ["good", "bad"], ["good"], ["bad"]]);
  });

  it("fails a lone job with its own error and keeps serving later jobs", async () => {
    const w = recordingWriter((jobs) => jobs[0] === "x");
    const group = new GroupCommit(w.write);
    const x = assert.rejects(group.submit("x"), /rejected x/);
    await w.finishNext();
    await x;
    const y = group.submit("y");
    await w.finishNext();
    await y;
    assert.deepEqual(w.writes, [["x"], ["y"]]);
  });
  it("with a minimum interval, a job arriving soon after a write waits for the interval and takes company", async () => {
    const w = recordingWriter();
    const group = new GroupCommit(w.write, 40);
    const started = performance.now();
    const a = group.submit("a");
    assert.deepEqual(w.writes, [["a"]]); // after a quiet spell: at once
    await w.finishNext();
    await a;
    const b = group.submit("b");
    await new Promise((r) => setImmediate(r));
    const c = group.submit("c");
    assert.deepEqual(w.writes, [["a"]]); // b waits for the interval...
    for (let i = 0; w.writes.length < 2 && i < 400; i++) await new Promise((r) => setTimeout(r, 5));
    // (timers may fire a millisecond early; without the interval the write would start at once)
    assert.ok(performance.now() - started >= 30, "the second write starts about an interval after the first");
    assert.deepEqual(w.writes, [["a"], ["b", "c"]]); // ...and c joins it
    await w.finishNext();
    await Promise.all([b, c]);
    // After a quiet spell longer than the interval, a job is written at once again.
    await new Promise((r) => setTimeout(r, 50));
    const d = group.submit("d");
    assert.deepEqual(w.writes, [["a"], ["b", "c"], ["d"]]);
    await w.finishNext();
    await d;
  });
});
