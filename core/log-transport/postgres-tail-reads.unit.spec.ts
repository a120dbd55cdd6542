import assert from "node:assert/strict";
import { test } from "node:test";
import type { LogPosition } from "../contracts/position.ts";
import type { EncodedLogEntry } from "../event-store/log-reader.ts";
import { SharedLogReads } from "./postgres-tail-reads.ts";

const at = (position: number): LogPosition => ({ transactionId: 10n, position });
const entry = (position: number): EncodedLogEntry => ({
  kind: "interaction",
  key: "u1",
  value: `{"position":${position}}`,
  position: at(position),
});

/** A log of `length` entries after position 0; records every read it answers. */
function fakeLog(length: { n: number }) {
  const reads: string[] = [];
  const read = async (from: LogPosition, limit: number) => {
    reads.push(`${from.position}/${limit}`);
    const out: EncodedLogEntry[] = [];
    for (let p = from.position + 1; p <= length.n && out.length < limit; p++) out.push(entry(p));
    return out;
  };
  return { reads, read };
}

test("subscriptions asking for the same range after one commit share one read", async () => {
  const log = fakeLog({ n: 5 });
  const clock = { t: 0 };
  const shared = new SharedLogReads(log.read, 100, () => clock.t);
  const answers = await Promise.all([shared.get(at(0), 10), shared.get(at(0), 10), shared.get(at(0), 10)]);
  assert.deepEqual(log.reads, ["0/10"]);
  for (const a of answers) assert.deepEqual(a, [1, 2, 3, 4, 5].map(entry));
  // Another range, or another limit, is its own read.
  await shared.get(at(3), 10);
  await shared.get(at(0), 2);
  assert.deepEqual(log.reads, ["0/10", "3/10", "0/2"]);
});

test("a commit notice, an empty answer and age each make the next ask a new read", async () => {
  const length = { n: 2 };
  const log = fakeLog(length);
  const clock = { t: 0 };
  const shared = new SharedLogReads(log.read, 100, () => clock.t);
  assert.equal((await shared.get(at(0), 10)).length, 2);
  length.n = 4;
  shared.committed();
  assert.equal((await shared.get(at(0), 10)).length, 4);

  // Nothing after 4: an empty answer is not kept, so the next ask sees the entry committed since.
  assert.deepEqual(await shared.get(at(4), 10), []);
  length.n = 5;
  assert.deepEqual(await shared.get(at(4), 10), [entry(5)]);

  // Without a notice (missed on a server), an answer older than maxAgeMs is read again.
  length.n = 6;
  clock.t = 99;
  assert.deepEqual(await shared.get(at(4), 10), [entry(5)]);
  clock.t = 100;
  assert.deepEqual(await shared.get(at(4), 10), [entry(5), entry(6)]);
  assert.deepEqual(log.reads, ["0/10", "0/10", "4/10", "4/10", "4/10"]);
});

test("a failed read is not shared with the next ask", async () => {
  let fail = true;
  const shared = new SharedLogReads(
    async () => {
      if (fail) throw new Error("connection lost");
      return [entry(1)];
    },
    100,
    () => 0,
  );
  await assert.rejects(shared.get(at(0), 10), /connection lost/);
  fail = false;
  assert.deepEqual(await shared.get(at(0), 10), [entry(1)]);
});
