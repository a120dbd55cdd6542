import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import type { BatchTarget, Op } from "../../core/projection-store/port.ts";
import { SortedSet, type Value } from "./memory-data.ts";

/**
 * The in-process store's files in its data dir:
 *
 *   projections.snapshot   JSON lines: a header {"seq": N}, then one line per key [key, type, content, expiresAt]
 *   projections.journal    JSON lines: every acknowledged write after the snapshot, {"s": seq, ...record}
 *   projections.lock       the pid of the process that has the dir open
 *
 * A write is acknowledged once its journal line is fsynced. The line is written at once, in order, and the fsync
 * runs on libuv's thread pool, so the event loop keeps serving meanwhile; appends that come while an fsync runs
 * share the next one (group commit). A snapshot is written to a temporary file, fsynced
 * and renamed over the previous one; the journal is emptied after that (its lines at or below the snapshot's seq
 * are skipped at load, so a kill between the two loses and repeats nothing). A torn last journal line (a kill
 * while appending an unacknowledged write) is ignored.
 */
export type JournalRecord =
  | {
      op: "batch";
      target: BatchTarget;
      source: string;
      /** The clock at apply (key lifetimes are set from it). */
      at: number;
      /** Catfan templates, sent once per record: a journaled catfan names its template by index. */
      templates?: (readonly Op[])[];
      messages: { position: string; ops: JournaledOp[] }[];
    }
  | {
      op: "switch";
      target: Omit<BatchTarget, "version">;
      from: number;
      to: number;
      position: string;
      sources: string[];
    }
  | { op: "del"; keys: string[] }
  | { op: "setMany"; entries: [string, string][] }
  | { op: "plain"; command: "set" | "incr" | "hset" | "sadd" | "srem"; key: string; args: string[] };

/** An op as journaled: a catfan's template replaced by its index in the record's templates. */
export type JournaledOp =
  Op | ["catfan", key: string, field: string, template: number, args?: readonly string[]];

type SnapshotLine =
  | [key: string, type: "string", value: string, expiresAt: number | null]
  | [key: string, type: "hash", fields: [string, string][], expiresAt: number | null]
  | [key: string, type: "zset", scores: [string, string][], expiresAt: number | null]
  | [key: string, type: "set", members: string[], expiresAt: number | null];

/** Directories open in this process (the lock file holds our own pid for each). */
const openHere = new Set<string>();

export class MemoryJournal {
  private seq = 0;
  private fd: number | undefined;
  /** Bytes appended since the last snapshot. */
  bytes = 0;
  /** The fsync running now, and the one queued behind it that covers every line written since it began. */
  private syncing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  private constructor(private readonly dir: string) {}

  private get snapshotPath() {
    return path.join(this.dir, "projections.snapshot");
  }
  private get journalPath() {
    return path.join(this.dir, "projections.journal");
  }
  private get lockPath() {
    return path.join(this.dir, "projections.lock");
  }

  static async open(dir: string): Promise<MemoryJournal> {
    const resolved = path.resolve(dir);
    fs.mkdirSync(resolved, { recursive: true });
    const journal = new MemoryJournal(resolved);
    journal.lock();
    return journal;
  }

  /** One process per data dir: a live pid in the lock file (another process, or this one) refuses the open. */
  private lock(): void {
    const holder = Number(fs.existsSync(this.lockPath) ? fs.readFileSync(this.lockPath, "utf8") : NaN);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
      }
    };
    if (openHere.has(this.dir) || (Number.isInteger(holder) && holder !== process.pid && alive(holder)))
      throw new Error(
        `REDIS_URL: the projection store data dir ${this.dir} is in use by process ${openHere.has(this.dir) ? process.pid : holder}; ` +
          "one process at a time may open it (stop the other, or give this one another memory:// dir)",
      );
    fs.writeFileSync(this.lockPath, String(process.pid));
    openHere.add(this.dir);
  }

  /** Loads the snapshot's keys, then hands over the journal's records after it, in order. */
  async load(into: {
    entry(key: string, value: Value, expiresAt: number | undefined): void;
    record(r: JournalRecord): void;
  }): Promise<void> {
    let snapshotSeq = 0;
    if (fs.existsSync(this.snapshotPath)) {
      let header = true;
      for await (const line of readline.createInterface({ input: fs.createReadStream(this.snapshotPath) })) {
        if (header) {
          snapshotSeq = (JSON.parse(line) as { seq: number }).seq;
          header = false;
          continue;
        }
        const [key, type, content, expiresAt] = JSON.parse(line) as SnapshotLine;
        into.entry(key, decode(type, content), expiresAt ?? undefined);
      }
    }
    this.seq = snapshotSeq;
    if (fs.existsSync(this.journalPath)) {
      let torn: string | undefined;
      for await (const line of readline.createInterface({ input: fs.createReadStream(this.journalPath) })) {
        if (line === "") continue;
        if (torn !== undefined)
          throw new Error(`${this.journalPath}: a damaged line before the end: ${torn}`);
        let parsed: ({ s: number } & JournalRecord) | undefined;
        try {
          parsed = JSON.parse(line) as { s: number } & JournalRecord;
        } catch {
          torn = line.slice(0, 80);
          continue;
        }
        if (parsed.s <= snapshotSeq) continue;
        into.record(parsed);
        this.seq = parsed.s;
      }
    }
    this.fd = fs.openSync(this.journalPath, "a");
    this.bytes = fs.fstatSync(this.fd).size;
  }

  /** Whether the journal takes writes (not closed, not abandoned). */
  get open(): boolean {
    return this.fd !== undefined;
  }

  /**
   * Appends a record now and resolves once the disk has it (fsync): the write is then acknowledged. Records are
   * in the file in the order of the calls, whatever order their fsyncs resolve in.
   */
  append(record: JournalRecord): Promise<void> {
    if (this.fd === undefined) return Promise.reject(new Error("projection store journal is closed"));
    const line = JSON.stringify({ s: ++this.seq, ...record }) + "\n";
    fs.writeSync(this.fd, line);
    this.bytes += Buffer.byteLength(line);
    return this.synced();
  }

  /** An fsync that starts after the caller's write: the one running now began before it, so wait for the next. */
  private synced(): Promise<void> {
    if (!this.syncing) return this.fsyncNow();
    this.queued ??= this.syncing
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.fsyncNow();
      });
    return this.queued;
  }

  private fsyncNow(): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) return Promise.reject(new Error("projection store journal is closed"));
    const done: Promise<void> = new Promise<void>((resolve, reject) =>
      fs.fsync(fd, (err) => (err ? reject(err) : resolve())),
    ).finally(() => {
      if (this.syncing === done) this.syncing = undefined;
    });
    this.syncing = done;
    return done;
  }

  /** Resolves when every append made so far is on disk (or failed): a graceful close waits for it. */
  async drained(): Promise<void> {
    while (this.syncing || this.queued) await (this.queued ?? this.syncing)!.catch(() => undefined);
  }

  /** Writes every live key to a new snapshot, then empties the journal. */
  snapshot(entries: () => Iterable<readonly [string, Value, number | undefined]>): void {
    const tmp = `${this.snapshotPath}.tmp`;
    const fd = fs.openSync(tmp, "w");
    try {
      let chunk = JSON.stringify({ seq: this.seq }) + "\n";
      for (const [key, value, expiresAt] of entries()) {
        chunk += JSON.stringify(encode(key, value, expiresAt)) + "\n";
        if (chunk.length > 1 << 20) {
          fs.writeSync(fd, chunk);
          chunk = "";
        }
      }
      fs.writeSync(fd, chunk);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.snapshotPath);
    const dirFd = fs.openSync(this.dir, "r");
    fs.fsyncSync(dirFd);
    fs.closeSync(dirFd);
    if (this.fd !== undefined) {
      fs.ftruncateSync(this.fd, 0);
      fs.fsyncSync(this.fd);
    }
    this.bytes = 0;
  }

  /** Releases the journal and the lock. */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    if (openHere.delete(this.dir)) fs.rmSync(this.lockPath, { force: true });
  }

  /** Drops the files' handles as a killed process would: nothing more is written, the lock file stays. */
  abandon(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    openHere.delete(this.dir);
  }
}

function encode(key: string, value: Value, expiresAt: number | undefined): SnapshotLine {
  const at = expiresAt ?? null;
  switch (value.t) {
    case "string":
      return [key, "string", value.v, at];
    case "hash":
      return [key, "hash", [...value.v], at];
    case "zset":
      // Scores as JavaScript's shortest round-trip text ("Infinity" included): exact.
      return [key, "zset", value.v.entries().map(([m, s]): [string, string] => [m, String(s)]), at];
    case "set":
      return [key, "set", [...value.v], at];
  }
}

function decode(type: SnapshotLine[1], content: SnapshotLine[2]): Value {
  switch (type) {
    case "string":
      return { t: "string", v: content as string };
    case "hash":
      return { t: "hash", v: new Map(content as [string, string][]) };
    case "zset": {
      const set = new SortedSet();
      for (const [m, s] of content as [string, string][]) set.set(m, Number(s));
      return { t: "zset", v: set };
    }
    case "set":
      return { t: "set", v: new Set(content as string[]) };
  }
}
