import type { LogPosition } from "../../core/contracts/position.ts";
import { compareLogPositions } from "../../core/contracts/position.ts";
import type { Op, OpsMessage, ResolvedOp } from "./redis-batch.ts";

/**
 * Turns a batch's ops (one list per message, in log order) into the flat stream the batch script reads.
 * Commutative ops are merged over the whole batch first, which is what makes a batch cheap in Redis:
 *
 * - `hincrby`/`zincrby` on the same key and field/member are summed (integers add exactly; a non-integer
 *   increment is sent unmerged),
 * - `hmax`/`zadd_gt` keep the greatest value per key and field/member; a hash with both increments and maxima
 *   (the user profile) is read once and written once,
 * - `pexpire` is sent once per key after every write (the value only depends on the key and the batch's
 *   clock, and no op here clears a TTL), `zcap` once per key after the writes: for a set that only receives
 *   `zadd_gt`, trimming once at the end keeps the same top entries as trimming after every add.
 *
 * `hset_newer`, `catfan` and `cooc` read what they write or what other ops write, so they keep their log order
 * (in the script, before the merged ops; nothing merged touches the keys they read, which is checked here).
 *
 * Stream: sequential ops as `N key version nFieldValues f v…`, `D id nInner (op key arg value)…` (a catfan
 * template, sent before its first use: per event only the arguments differ, and the template was 28 of a feature
 * event's ~65 fields), `F key field templateId nArgs arg…`, `C histKey item timeMs histCap nbrCap`, an undo's
 * `J key by member cap` (zincrby_drop), `K key by` (incrby_drop), `U key field by` (hincrby_drop),
 * `P key nMembers (score member)…` (zreplace) and `Q key nFields (field value)…` (hreplace);
 * merged ops as
 * `I key field by`, `Z key by member`, `M key field value`, `G key score member`, `H key nIncrements nMaxima (field by)… (field value)…`; then `|`; then `T key cap` and
 * `E key ms`.
 *
 * Redis Cluster batches (cluster-batch.ts) resolve `catfan` and `cooc` before encoding into ops that read only
 * the key they write: `incrby` (merged, `R key by`), `zincrby_cap` (sequential, `X key by member cap`) and
 * `hist_add` (sequential, `A key item timeMs cap`).
 */
export function encodeBatch(opsPerMessage: readonly (readonly (Op | ResolvedOp)[])[]): string[] {
  const sequential: SequentialOps = { out: [], keys: new Set(), templates: new Map() };
  const merged = newMergedOps();
  for (const ops of opsPerMessage)
    for (const op of ops) if (!mergeOp(merged, op)) encodeSequential(sequential, op);
  checkCommutes(sequential.keys, merged, merged.unmerged);
  for (const key of merged.incr.keys())
    if (sequential.keys.has(key)) throw new Error(`${key}: incrby would be reordered across a sequential op`);
  // Sequential ops first, in log order, then the merged ones (the script runs the stream in this order).
  encodeMerged(merged, sequential.out);
  return sequential.out;
}

/** Commutative ops merged over the whole batch: key → field/member → merged value. */
interface MergedOps {
  readonly hinc: Map<string, Map<string, number>>;
  readonly zinc: Map<string, Map<string, number>>;
  readonly hmax: Map<string, Map<string, string>>;
  readonly zgt: Map<string, Map<string, string>>;
  readonly incr: Map<string, number>;
  /** Increments that are not safe integers, sent as they came (already encoded, four fields each). */
  readonly unmerged: string[];
  readonly caps: Map<string, string>;
  readonly expiries: Map<string, string>;
}

const newMergedOps = (): MergedOps => ({
  hinc: new Map(),
  zinc: new Map(),
  hmax: new Map(),
  zgt: new Map(),
  incr: new Map(),
  unmerged: [],
  caps: new Map(),
  expiries: new Map(),
});

/** Order-dependent ops, encoded in log order as they come. */
interface SequentialOps {
  readonly out: string[];
  /** The keys they touch: no merged op may touch them (checkCommutes). */
  readonly keys: Set<string>;
  /** catfan templates sent in this batch (D), by identity → id. */
  readonly templates: Map<readonly Op[], string>;
}

const inner = <V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> => {
  let m = outer.get(key);
  if (m === undefined) outer.set(key, (m = new Map()));
  return m;
};
const add = (outer: Map<string, Map<string, number>>, key: string, id: string, by: number) => {
  const m = inner(outer, key);
  m.set(id, (m.get(id) ?? 0) + by);
};
const max = (outer: Map<string, Map<string, string>>, key: string, id: string, value: string) => {
  const m = inner(outer, key);
  const cur = m.get(id);
  if (cur === undefined || Number(value) > Number(cur)) m.set(id, value);
};

/** Merges a commutative op into `merged`; false for an order-dependent op (left to encodeSequential). */
function mergeOp(merged: MergedOps, op: Op | ResolvedOp): boolean {
  switch (op[0]) {
    case "hincrby": {
      const n = Number(op[3]);
      if (Number.isSafeInteger(n)) add(merged.hinc, op[1], op[2], n);
      else merged.unmerged.push("I", op[1], op[2], op[3]);
      return true;
    }
    case "zincrby": {
      const n = Number(op[2]);
      if (Number.isSafeInteger(n)) add(merged.zinc, op[1], op[3], n);
      else merged.unmerged.push("Z", op[1], op[2], op[3]);
      return true;
    }
    case "hmax":
      max(merged.hmax, op[1], op[2], op[3]);
      return true;
    case "zadd_gt":
      max(merged.zgt, op[1], op[3], op[2]);
      return true;
    case "zcap":
      merged.caps.set(op[1], op[2]);
      return true;
    case "pexpire":
      merged.expiries.set(op[1], op[2]);
      return true;
    case "incrby":
      merged.incr.set(op[1], (merged.incr.get(op[1]) ?? 0) + Number(op[2]));
      return true;
    default:
      return false;
  }
}

/** Encodes an order-dependent op at its place in the stream (a catfan's template first, once per batch). */
function encodeSequential(sequential: SequentialOps, op: Op | ResolvedOp): void {
  const { out, keys, templates } = sequential;
  switch (op[0]) {
    case "hset_newer": {
      const [, key, version, ...fieldsAndValues] = op;
      keys.add(key);
      out.push("N", key, version, String(fieldsAndValues.length), ...fieldsAndValues);
      break;
    }
    case "catfan": {
      const [, key, field, template, args = []] = op;
      if (args.length > 9) throw new Error(`catfan takes at most 9 arguments, got ${args.length}`);
      keys.add(key);
      let id = templates.get(template);
      if (id === undefined) {
        templates.set(template, (id = String(templates.size + 1)));
        encodeTemplate(out, id, template);
      }
      out.push("F", key, field, id, String(args.length), ...args);
      break;
    }
    case "cooc": {
      const [, histKey, item, timeMs, histCap, nbrCap] = op;
      keys.add(histKey);
      out.push("C", histKey, item, timeMs, histCap, nbrCap);
      break;
    }
    case "zincrby_cap":
      keys.add(op[1]);
      out.push("X", op[1], op[2], op[3], op[4]);
      break;
    case "hist_add":
      keys.add(op[1]);
      out.push("A", op[1], op[2], op[3], op[4]);
      break;
    case "zincrby_drop":
      keys.add(op[1]);
      out.push("J", op[1], op[2], op[3], op[4]);
      break;
    case "incrby_drop":
      keys.add(op[1]);
      out.push("K", op[1], op[2]);
      break;
    case "hincrby_drop":
      keys.add(op[1]);
      out.push("U", op[1], op[2], op[3]);
      break;
    case "zreplace": {
      const [, key, ...scoresAndMembers] = op;
      if (scoresAndMembers.length % 2 !== 0)
        throw new Error(`zreplace ${key}: scores and members come in pairs`);
      keys.add(key);
      out.push("P", key, String(scoresAndMembers.length / 2), ...scoresAndMembers);
      break;
    }
    case "hreplace": {
      const [, key, ...fieldsAndValues] = op;
      if (fieldsAndValues.length % 2 !== 0)
        throw new Error(`hreplace ${key}: fields and values come in pairs`);
      keys.add(key);
      out.push("Q", key, String(fieldsAndValues.length / 2), ...fieldsAndValues);
      break;
    }
  }
}

/** A catfan template (`D id nInner (op key arg value)…`): the ops its uses share, with their placeholders. */
function encodeTemplate(out: string[], id: string, template: readonly Op[]): void {
  out.push("D", id, String(template.length));
  for (const i of template) {
    if (i[0] === "hincrby") out.push("I", i[1], i[2], i[3]);
    else if (i[0] === "zincrby") out.push("Z", i[1], i[2], i[3]);
    else if (i[0] === "pexpire") out.push("E", i[1], i[2], "");
    else throw new Error(`catfan cannot run ${i[0]}`);
  }
}

/** The merged ops, then `|`, then the once-per-key trims and expiries that follow every write. */
function encodeMerged(merged: MergedOps, out: string[]): void {
  const { hinc, zinc, hmax, zgt, incr, unmerged, caps, expiries } = merged;
  // A hash with both increments and maxima (the user profile) is read once and written once.
  for (const [key, maxima] of hmax) {
    const incs = hinc.get(key);
    if (incs === undefined) continue;
    out.push("H", key, String(incs.size), String(maxima.size));
    for (const [field, by] of incs) out.push(field, String(by));
    for (const [field, value] of maxima) out.push(field, value);
  }
  for (const [key, fields] of hinc)
    if (!hmax.has(key)) for (const [field, by] of fields) out.push("I", key, field, String(by));
  for (const [key, members] of zinc)
    for (const [member, by] of members) out.push("Z", key, String(by), member);
  out.push(...unmerged);
  for (const [key, fields] of hmax)
    if (!hinc.has(key)) for (const [field, value] of fields) out.push("M", key, field, value);
  for (const [key, members] of zgt) for (const [member, score] of members) out.push("G", key, score, member);
  for (const [key, by] of incr) out.push("R", key, String(by));
  out.push("|");
  for (const [key, cap] of caps) out.push("T", key, cap);
  for (const [key, ms] of expiries) out.push("E", key, ms);
}

/** Merging reorders ops; refuses (a programming error) a batch where that could change the result. */
function checkCommutes(
  sequentialKeys: ReadonlySet<string>,
  merged: {
    hinc: Map<string, Map<string, number>>;
    zinc: Map<string, Map<string, number>>;
    hmax: Map<string, Map<string, string>>;
    zgt: Map<string, Map<string, string>>;
    caps: Map<string, string>;
  },
  unmerged: readonly string[],
): void {
  const { hinc, zinc, hmax, zgt, caps } = merged;
  const unmergedKeys = new Set<string>();
  for (let i = 0; i < unmerged.length; i += 4) unmergedKeys.add(unmerged[i + 1]!);
  for (const key of sequentialKeys) {
    if (
      hinc.has(key) ||
      zinc.has(key) ||
      hmax.has(key) ||
      zgt.has(key) ||
      caps.has(key) ||
      unmergedKeys.has(key)
    )
      throw new Error(`${key}: merged ops would be reordered across an order-dependent op on the same key`);
  }
  for (const [key, fields] of hmax) {
    const incs = hinc.get(key);
    if (incs)
      for (const f of fields.keys())
        if (incs.has(f)) throw new Error(`${key} ${f}: hmax and hincrby do not commute`);
  }
  for (const [key, members] of zgt) {
    const incs = zinc.get(key);
    if (incs)
      for (const m of members.keys())
        if (incs.has(m)) throw new Error(`${key} ${m}: zadd_gt and zincrby do not commute`);
  }
  for (const key of caps.keys()) {
    if (zinc.has(key) || unmergedKeys.has(key))
      throw new Error(`${key}: a capped set may only receive zadd_gt in a batch`);
  }
}

const SEPARATOR = "\x1e";

/**
 * One string instead of tens of thousands of arguments: ioredis converts and writes every argument separately,
 * which cost more than the script itself. Ids cannot contain control characters, but catalog fields might;
 * such a batch goes as arguments (ioredis flattens the array).
 */
export function packStream(fields: string[]): [string, string] | [string, string[]] {
  // Checked field by field before joining: for 40k fields that is a third cheaper than counting separators in
  // the joined string (which copied it once more).
  for (const f of fields) if (f.includes(SEPARATOR)) return ["args", fields];
  return ["packed", fields.length === 0 ? "" : fields.join(SEPARATOR) + SEPARATOR];
}

/** The messages that the old one-by-one guard would apply from `after` on: strictly increasing positions. */
export function increasingAfter(
  messages: readonly OpsMessage[],
  after: LogPosition | undefined,
): OpsMessage[] {
  const out: OpsMessage[] = [];
  let last = after;
  for (const m of messages) {
    if (last === undefined || compareLogPositions(m.position, last) > 0) {
      out.push(m);
      last = m.position;
    }
  }
  return out;
}
