import type { LogPosition } from "../../core/contracts/position.ts";
import { formatPositionToken, parsePositionToken } from "../../core/contracts/position.ts";
import type { BatchTarget, Op, OpsMessage, ProjectionStore } from "../../core/projection-store/port.ts";
import {
  APPLIED_KEY,
  itemTag,
  REPLAY_SOURCE,
  versionBase,
  versionPointerKey,
} from "../../core/read-models/keys.ts";
import { increasingAfter } from "../runtime/batch-encoding.ts";
import {
  addInteger,
  formatScore,
  parseScore,
  rankRange,
  SortedSet,
  StoreError,
  type TypeName,
  type Value,
} from "./memory-data.ts";
import { MemoryJournal, type JournaledOp, type JournalRecord } from "./memory-journal.ts";

export interface MemoryStoreOptions {
  /** Where the snapshot and the journal live; undefined keeps nothing (tests of semantics only). */
  dataDir?: string;
  /** The clock key lifetimes are set and checked with (ms). */
  now?: () => number;
}

/** Past this size the journal is folded into a snapshot (a restart replays at most this much). */
const JOURNAL_LIMIT_BYTES = 256 * 1024 * 1024;

/** `$c` → the category, `$1`…`$9` → the catfan's arguments (as the Redis batch scripts expand them). */
const fill = (template: string, category: string, args: readonly string[]) =>
  template.includes("$")
    ? template.replace(/\$([0-9A-Za-z])/g, (m, x: string) =>
        x === "c" ? category : (args[Number(x) - 1] ?? m),
      )
    : template;

/**
 * The projection store in process (embedded mode): Redis's data model in Maps, the batch ops applied with the
 * Redis scripts' semantics (projectors/runtime/redis-batch.ts), versions switched as the Redis switch does.
 *
 * Atomicity: every call runs synchronously to its end, so no other caller sees half a batch. A batch an op
 * rejects (WRONGTYPE, not an integer) throws and may leave the writes before the failing op in memory, as a
 * Redis script does; they are not journaled, so a restart drops them.
 *
 * Durability (with a data dir): every acknowledged write is appended to a journal and fsynced before the call
 * resolves (the fsync runs off the event loop and is shared by the writes that wait for it; a read may see a
 * write before its fsync ends, as a Redis read sees a write before its AOF fsync); `flush()`/`close()` (and a journal past its size limit) write a snapshot and start the journal
 * afresh. Opening loads the snapshot and replays the journal after it, so a kill at any point keeps every
 * write that was acknowledged. One process at a time: a lock file in the data dir refuses a second one.
 */
export class MemoryProjectionStore implements ProjectionStore {
  readonly kind = "in-process";
  readonly ordersOverlappingBatches = true;
  private readonly data = new Map<string, Value>();
  private readonly expiries = new Map<string, number>();
  private readonly now: () => number;

  private constructor(
    options: MemoryStoreOptions,
    private readonly journal: MemoryJournal | undefined,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Opens (and, with a data dir, loads) a store. */
  static async open(options: MemoryStoreOptions = {}): Promise<MemoryProjectionStore> {
    const journal = options.dataDir === undefined ? undefined : await MemoryJournal.open(options.dataDir);
    const store = new MemoryProjectionStore(options, journal);
    if (journal) {
      await journal.load({
        entry: (key, value, expiresAt) => {
          store.data.set(key, value);
          if (expiresAt !== undefined) store.expiries.set(key, expiresAt);
        },
        record: (r) => store.replay(r),
      });
    }
    return store;
  }

  // ---- keyspace ----

  private lookup(key: string): Value | undefined {
    const value = this.data.get(key);
    if (value === undefined) return undefined;
    const expiresAt = this.expiries.get(key);
    if (expiresAt !== undefined && expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    return value;
  }

  private remove(key: string): boolean {
    this.expiries.delete(key);
    return this.data.delete(key);
  }

  private typed<T extends TypeName>(key: string, t: T): Extract<Value, { t: T }> | undefined {
    const value = this.lookup(key);
    if (value === undefined) return undefined;
    if (value.t !== t)
      throw new StoreError(`WRONGTYPE Operation against a key holding the wrong kind of value (${key})`);
    return value as Extract<Value, { t: T }>;
  }

  private hash(key: string): Map<string, string> {
    const found = this.typed(key, "hash");
    if (found) return found.v;
    const v = new Map<string, string>();
    this.data.set(key, { t: "hash", v });
    return v;
  }

  private zset(key: string): SortedSet {
    const found = this.typed(key, "zset");
    if (found) return found.v;
    const v = new SortedSet();
    this.data.set(key, { t: "zset", v });
    return v;
  }

  private set_(key: string): Set<string> {
    const found = this.typed(key, "set");
    if (found) return found.v;
    const v = new Set<string>();
    this.data.set(key, { t: "set", v });
    return v;
  }

  private stringValue(key: string): string | undefined {
    return this.typed(key, "string")?.v;
  }

  private writeString(key: string, value: string, keepTtl: boolean): void {
    this.typed(key, "string");
    if (!keepTtl) this.expiries.delete(key);
    this.data.set(key, { t: "string", v: value });
  }

  /** Redis removes a collection that became empty. */
  private dropIfEmpty(key: string, size: number): void {
    if (size === 0) this.remove(key);
  }

  // ---- batches ----

  async applyOps<M>(
    target: BatchTarget,
    source: string,
    messages: readonly M[],
    decide: (part: readonly M[]) => OpsMessage[],
  ): Promise<void> {
    if (messages.length === 0) return;
    const decided = decide(messages);
    const at = this.now();
    if (this.applyBatch(target, source, decided, at))
      await this.persist({ op: "batch", target, source, at, ...journaled(decided) });
  }

  /** The batch script's steps: version, position guard, ops in log order, tail ops, the new position. */
  private applyBatch(
    target: BatchTarget,
    source: string,
    messages: readonly OpsMessage[],
    at: number,
  ): boolean {
    const version = target.version ?? this.versionOf(target.prefix, target.projection);
    const base = versionBase(target.prefix, target.ns, version);
    const applied = base + APPLIED_KEY;
    const stored = this.typed(applied, "hash")?.v.get(source);
    const pending = increasingAfter(messages, stored === undefined ? undefined : parsePositionToken(stored));
    if (pending.length === 0) return false;
    const caps = new Map<string, number>();
    const expire = new Map<string, number>();
    for (const m of pending) for (const op of m.ops) this.applyOp(base, op, caps, expire);
    for (const [key, cap] of caps) {
      const set = this.typed(key, "zset");
      if (set) set.v.trim(cap);
    }
    for (const [key, ms] of expire) this.pexpire(key, ms, at);
    this.hash(applied).set(source, formatPositionToken(pending[pending.length - 1]!.position));
    return true;
  }

  private applyOp(base: string, op: Op, caps: Map<string, number>, expire: Map<string, number>): void {
    switch (op[0]) {
      case "hincrby": {
        const h = this.hash(base + op[1]);
        h.set(op[2], addInteger(h.get(op[2]), op[3]));
        break;
      }
      case "zincrby":
        this.zset(base + op[1]).increment(op[3], parseScore(op[2], "increment"));
        break;
      case "hmax": {
        const h = this.hash(base + op[1]);
        const cur = h.get(op[2]);
        if (cur === undefined || parseScore(op[3], "value") > parseScore(cur, "value")) h.set(op[2], op[3]);
        break;
      }
      case "zadd_gt":
        this.zset(base + op[1]).addGreater(op[3], parseScore(op[2]));
        break;
      case "zcap":
        caps.set(base + op[1], Number(op[2]));
        break;
      case "pexpire":
        expire.set(base + op[1], Number(op[2]));
        break;
      case "hset_newer": {
        const [, key, version, ...fieldsAndValues] = op;
        const h = this.hash(base + key);
        const cur = h.get("v");
        if (cur === undefined || parseScore(version, "version") > parseScore(cur, "version")) {
          h.set("v", version);
          for (let i = 0; i + 1 < fieldsAndValues.length; i += 2)
            h.set(fieldsAndValues[i]!, fieldsAndValues[i + 1]!);
        }
        break;
      }
      case "catfan": {
        const [, key, field, inner, args = []] = op;
        const raw = this.typed(base + key, "hash")?.v.get(field);
        if (raw === undefined) break;
        for (const c of JSON.parse(raw) as string[])
          for (const i of inner) {
            if (i[0] === "hincrby") {
              const h = this.hash(base + fill(i[1], c, args));
              const f = fill(i[2], c, args);
              h.set(f, addInteger(h.get(f), fill(i[3], c, args)));
            } else if (i[0] === "zincrby")
              this.zset(base + fill(i[1], c, args)).increment(
                fill(i[3], c, args),
                parseScore(fill(i[2], c, args), "increment"),
              );
            else if (i[0] === "pexpire") expire.set(base + fill(i[1], c, args), Number(fill(i[2], c, args)));
            else throw new StoreError(`catfan: unsupported op ${i[0]}`);
          }
        break;
      }
      case "cooc":
        this.cooc(base, op);
        break;
      case "zincrby_drop": {
        // The batch script's `J` branch (projectors/runtime/lua.ts).
        const key = base + op[1];
        const set = this.zset(key);
        const by = parseScore(op[2], "increment");
        const score = set.increment(op[3], by);
        if (score <= 0) {
          set.delete(op[3]);
          this.dropIfEmpty(key, set.size);
        } else if (score === by) set.trim(Number(op[4]));
        break;
      }
      case "incrby_drop": {
        const key = base + op[1];
        const next = addInteger(this.stringValue(key), op[2]);
        if (BigInt(next) <= 0n) this.remove(key);
        else this.writeString(key, next, true);
        break;
      }
      case "zreplace": {
        const [, key, ...scoresAndMembers] = op;
        this.remove(base + key);
        if (scoresAndMembers.length === 0) break;
        const set = this.zset(base + key);
        for (let i = 0; i + 1 < scoresAndMembers.length; i += 2)
          set.set(scoresAndMembers[i + 1]!, parseScore(scoresAndMembers[i]!));
        break;
      }
      case "hincrby_drop": {
        const key = base + op[1];
        const h = this.hash(key);
        const next = addInteger(h.get(op[2]), op[3]);
        if (BigInt(next) <= 0n) {
          h.delete(op[2]);
          this.dropIfEmpty(key, h.size);
        } else h.set(op[2], next);
        break;
      }
      case "hreplace": {
        const [, key, ...fieldsAndValues] = op;
        this.remove(base + key);
        if (fieldsAndValues.length === 0) break;
        const h = this.hash(base + key);
        for (let i = 0; i + 1 < fieldsAndValues.length; i += 2)
          h.set(fieldsAndValues[i]!, fieldsAndValues[i + 1]!);
        break;
      }
    }
  }

  /** The batch script's `C` branch (projectors/runtime/redis-batch.ts), step for step. */
  private cooc(
    base: string,
    [, histKey, item, timeMs, histCap, nbrCap]: Extract<Op, ["cooc", ...unknown[]]>,
  ) {
    const history = this.zset(base + histKey);
    const t = parseScore(timeMs);
    if (history.scores.has(item)) {
      history.addGreater(item, t);
      return;
    }
    const cap = Number(nbrCap);
    const zincrCapped = (key: string, member: string) => {
      const set = this.zset(key);
      if (set.increment(member, 1) === 1) set.trim(cap);
    };
    const own = `${base}${itemTag(item)}:nbrs`;
    for (const other of [...history.ascending()]) {
      zincrCapped(`${base}${itemTag(other)}:nbrs`, item);
      zincrCapped(own, other);
    }
    const countKey = `${base}${itemTag(item)}:cnt`;
    this.writeString(countKey, addInteger(this.stringValue(countKey), "1"), true);
    history.set(item, t);
    history.trim(Number(histCap));
  }

  private pexpire(key: string, ms: number, at: number): void {
    if (this.lookup(key) === undefined) return;
    if (ms <= 0) this.remove(key);
    else this.expiries.set(key, at + ms);
  }

  private versionOf(prefix: string, projection: string): number {
    const v = this.stringValue(versionPointerKey(prefix, projection));
    return v === undefined ? 1 : Number(v);
  }

  async appliedPosition(target: BatchTarget, source: string): Promise<LogPosition | undefined> {
    const version = target.version ?? this.versionOf(target.prefix, target.projection);
    const token = this.typed(versionBase(target.prefix, target.ns, version) + APPLIED_KEY, "hash")?.v.get(
      source,
    );
    return token === undefined ? undefined : parsePositionToken(token);
  }

  async currentVersion(prefix: string, projection: string): Promise<number> {
    return this.versionOf(prefix, projection);
  }

  async switchVersion(
    target: Omit<BatchTarget, "version">,
    from: number,
    to: number,
    position: LogPosition,
    sources: readonly string[],
  ): Promise<boolean> {
    const record: JournalRecord = {
      op: "switch",
      target,
      from,
      to,
      position: formatPositionToken(position),
      sources: [...sources],
    };
    const switched = this.doSwitch(record);
    if (switched) await this.persist(record);
    return switched;
  }

  private doSwitch(r: Extract<JournalRecord, { op: "switch" }>): boolean {
    const position = parsePositionToken(r.position)!;
    const old = this.typed(versionBase(r.target.prefix, r.target.ns, r.from) + APPLIED_KEY, "hash")?.v;
    const fields = new Set(r.sources);
    for (const [field, token] of old ?? []) {
      if (field === REPLAY_SOURCE) continue;
      const live = parsePositionToken(token)!;
      if (
        live.transactionId > position.transactionId ||
        (live.transactionId === position.transactionId && live.position > position.position)
      )
        return false;
      fields.add(field);
    }
    const next = this.hash(versionBase(r.target.prefix, r.target.ns, r.to) + APPLIED_KEY);
    for (const f of fields) next.set(f, r.position);
    this.writeString(versionPointerKey(r.target.prefix, r.target.projection), String(r.to), false);
    return true;
  }

  async deleteByPrefix(prefix: string): Promise<number> {
    const keys = await this.keysByPrefix(prefix);
    for (const k of keys) this.remove(k);
    if (keys.length > 0) await this.persist({ op: "del", keys });
    return keys.length;
  }

  async deleteTagged(prefix: string, tag: string): Promise<number> {
    const keys = (await this.keysByPrefix(`${prefix}:`)).filter((k) => k.includes(tag));
    for (const k of keys) this.remove(k);
    if (keys.length > 0) await this.persist({ op: "del", keys });
    return keys.length;
  }

  async keysByPrefix(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for (const key of [...this.data.keys()])
      if (key.startsWith(prefix) && this.lookup(key) !== undefined) out.push(key);
    return out.sort();
  }

  // ---- reads ----

  async get(key: string) {
    return this.stringValue(key) ?? null;
  }
  async hget(key: string, field: string) {
    return this.typed(key, "hash")?.v.get(field) ?? null;
  }
  async hmget(key: string, fields: readonly string[]) {
    const h = this.typed(key, "hash")?.v;
    return fields.map((f) => h?.get(f) ?? null);
  }
  async hgetall(key: string) {
    return Object.fromEntries(this.typed(key, "hash")?.v ?? []);
  }
  async zscore(key: string, member: string) {
    const score = this.typed(key, "zset")?.v.scores.get(member);
    return score === undefined ? null : formatScore(score);
  }
  async zmscore(key: string, members: readonly string[]) {
    const scores = this.typed(key, "zset")?.v.scores;
    return members.map((m) => {
      const s = scores?.get(m);
      return s === undefined ? null : formatScore(s);
    });
  }
  private descending(key: string, start: number, stop: number, withScores: boolean): string[] {
    const set = this.typed(key, "zset")?.v;
    if (set === undefined) return [];
    const order = set.ascending();
    const range = rankRange(order.length, start, stop);
    if (range === undefined) return [];
    const out: string[] = [];
    for (let r = range[0]; r <= range[1]; r++) {
      const member = order[order.length - 1 - r]!;
      out.push(member);
      if (withScores) out.push(formatScore(set.scores.get(member)!));
    }
    return out;
  }
  async zrevrange(key: string, start: number, stop: number) {
    return this.descending(key, start, stop, false);
  }
  async zrevrangeWithScores(key: string, start: number, stop: number) {
    return this.descending(key, start, stop, true);
  }
  async zrangeByScoreWithScores(key: string, min: number, limit: number) {
    const set = this.typed(key, "zset")?.v;
    const out: string[] = [];
    if (set === undefined) return out;
    for (const member of set.ascending()) {
      if (out.length >= 2 * limit) break;
      const score = set.scores.get(member)!;
      if (score >= min) out.push(member, formatScore(score));
    }
    return out;
  }
  async zsetAndHashes(zsetKey: string, hashKeys: readonly string[]): Promise<[string, ...string[][]]> {
    const recent = this.descending(zsetKey, 0, -1, true).join("\n");
    return [recent, ...hashKeys.map((k) => [...(this.typed(k, "hash")?.v ?? [])].flat())];
  }
  async type(key: string) {
    return this.lookup(key)?.t ?? "none";
  }
  async pttl(key: string) {
    if (this.lookup(key) === undefined) return -2;
    const expiresAt = this.expiries.get(key);
    return expiresAt === undefined ? -1 : expiresAt - this.now();
  }
  async smembers(key: string) {
    return [...(this.typed(key, "set")?.v ?? [])];
  }

  // ---- plain writes ----

  private plain(record: Extract<JournalRecord, { op: "plain" }>): number {
    const { command, key, args } = record;
    switch (command) {
      case "set":
        this.writeString(key, args[0]!, false);
        return 0;
      case "incr": {
        const next = addInteger(this.stringValue(key), "1");
        this.writeString(key, next, true);
        return Number(next);
      }
      case "hset": {
        const h = this.hash(key);
        for (let i = 0; i + 1 < args.length; i += 2) h.set(args[i]!, args[i + 1]!);
        return 0;
      }
      case "sadd": {
        const s = this.set_(key);
        for (const m of args) s.add(m);
        return 0;
      }
      case "srem": {
        const s = this.typed(key, "set")?.v;
        if (s) {
          for (const m of args) s.delete(m);
          this.dropIfEmpty(key, s.size);
        }
        return 0;
      }
    }
  }

  private async write(
    command: Extract<JournalRecord, { op: "plain" }>["command"],
    key: string,
    args: string[],
  ) {
    const record: JournalRecord = { op: "plain", command, key, args };
    const result = this.plain(record);
    await this.persist(record);
    return result;
  }

  async set(key: string, value: string) {
    await this.write("set", key, [value]);
  }
  async setMany(entries: readonly (readonly [string, string])[]) {
    for (const [k, v] of entries) this.writeString(k, v, false);
    if (entries.length > 0) await this.persist({ op: "setMany", entries: entries.map(([k, v]) => [k, v]) });
  }
  async incr(key: string) {
    return this.write("incr", key, []);
  }
  async hset(key: string, fieldsAndValues: readonly string[]) {
    await this.write("hset", key, [...fieldsAndValues]);
  }
  async sadd(key: string, members: readonly string[]) {
    await this.write("sadd", key, [...members]);
  }
  async srem(key: string, members: readonly string[]) {
    await this.write("srem", key, [...members]);
  }
  async del(keys: readonly string[]) {
    for (const k of keys) this.remove(k);
    if (keys.length > 0) await this.persist({ op: "del", keys: [...keys] });
  }

  /** Re-applies a journaled write at load (the same steps as when it was acknowledged). */
  private replay(r: JournalRecord): void {
    switch (r.op) {
      case "batch":
        this.applyBatch(r.target, r.source, unjournaled(r), r.at);
        break;
      case "switch":
        this.doSwitch(r);
        break;
      case "del":
        for (const k of r.keys) this.remove(k);
        break;
      case "setMany":
        for (const [k, v] of r.entries) this.writeString(k, v, false);
        break;
      case "plain":
        this.plain(r);
        break;
    }
  }

  // ---- lifecycle ----

  async healthy() {
    return true;
  }

  /**
   * Journals a write and resolves when it is on disk (then it is acknowledged); a journal past
   * JOURNAL_LIMIT_BYTES is folded into a new snapshot.
   */
  private async persist(record: JournalRecord): Promise<void> {
    if (!this.journal) return;
    const synced = this.journal.append(record);
    if (this.journal.bytes > JOURNAL_LIMIT_BYTES) this.snapshotNow();
    await synced;
  }

  /** Writes a snapshot of every live key and starts the journal afresh. */
  async flush(): Promise<void> {
    this.snapshotNow();
  }

  private snapshotNow(): void {
    if (!this.journal?.open) return;
    const now = this.now();
    const data = this.data;
    const expiries = this.expiries;
    this.journal.snapshot(function* () {
      for (const [key, value] of data) {
        const expiresAt = expiries.get(key);
        if (expiresAt !== undefined && expiresAt <= now) continue;
        yield [key, value, expiresAt] as const;
      }
    });
  }

  async close(): Promise<void> {
    await this.journal?.drained();
    this.snapshotNow();
    this.journal?.close();
  }

  /** Test hook: stops as a killed process would (no snapshot, nothing released but the handles). */
  abandon(): void {
    this.journal?.abandon();
  }
}

/** Positions as tokens in the journal (JSON has no bigint). */
/**
 * A batch as journaled: positions as tokens (JSON has no bigint), and each catfan template once per batch (the
 * messages of a batch share a few templates, which were most of a features event's ops).
 */
function journaled(messages: readonly OpsMessage[]): {
  templates: (readonly Op[])[];
  messages: { position: string; ops: JournaledOp[] }[];
} {
  const templates: (readonly Op[])[] = [];
  const ids = new Map<readonly Op[], number>();
  const out = messages.map((m) => ({
    position: formatPositionToken(m.position),
    ops: m.ops.map((op): JournaledOp => {
      if (op[0] !== "catfan") return op;
      let id = ids.get(op[3]);
      if (id === undefined) {
        ids.set(op[3], (id = templates.length));
        templates.push(op[3]);
      }
      return op[4] === undefined ? ["catfan", op[1], op[2], id] : ["catfan", op[1], op[2], id, op[4]];
    }),
  }));
  return { templates, messages: out };
}

function unjournaled(r: {
  templates?: (readonly Op[])[];
  messages: { position: string; ops: JournaledOp[] }[];
}): OpsMessage[] {
  return r.messages.map((m) => ({
    position: parsePositionToken(m.position)!,
    ops: m.ops.map((op): Op => {
      if (op[0] !== "catfan" || typeof op[3] !== "number") return op as Op;
      const template = r.templates?.[op[3]];
      if (template === undefined)
        throw new Error(`journal: catfan names template ${op[3]}, not in its record`);
      return op[4] === undefined
        ? ["catfan", op[1], op[2], template]
        : ["catfan", op[1], op[2], template, op[4]];
    }),
  }));
}
