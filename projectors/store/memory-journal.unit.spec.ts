import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { MemoryJournal, type JournalRecord } from "./memory-journal.ts";

const plain = (i: number): JournalRecord => ({
  op: "plain",
  command: "set",
  key: `k${i}`,
  args: [String(i)],
});

async function opened(dir: string): Promise<{ journal: MemoryJournal; records: JournalRecord[] }> {
  const journal = await MemoryJournal.open(dir);
  const records: JournalRecord[] = [];
  await journal.load({ entry: () => undefined, record: (r) => records.push(r) });
  return { journal, records };
}

test("appends made together each resolve, and the file and a reload keep the order of the calls", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "reckon-journal-"));
  try {
    const { journal } = await opened(dir);
    await Promise.all(Array.from({ length: 50 }, (_, i) => journal.append(plain(i))));
    await journal.append(plain(50));
    await journal.drained();
    const seqs = readFileSync(path.join(dir, "projections.journal"), "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { s: number }).s);
    assert.deepEqual(
      seqs,
      Array.from({ length: 51 }, (_, i) => i + 1),
    );
    journal.close();

    const again = await opened(dir);
    assert.deepEqual(
      again.records,
      Array.from({ length: 51 }, (_, i) => ({ s: i + 1, ...plain(i) })),
    );
    again.journal.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an append to a closed journal is refused with a reason", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "reckon-journal-"));
  try {
    const { journal } = await opened(dir);
    journal.close();
    await assert.rejects(journal.append(plain(1)), /projection store journal is closed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
