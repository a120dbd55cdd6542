import { defineScript } from "../../core/redis/redis.ts";
import { LUA_AFTER, LUA_TAIL_OPS, LUA_TRIM, luaKeyedOps, luaOpStream } from "./lua.ts";
import { createHash } from "node:crypto";
import type { Cluster } from "ioredis";
import type { LogPosition } from "../../core/contracts/position.ts";
import {
  compareLogPositions,
  formatPositionToken,
  parsePositionToken,
} from "../../core/contracts/position.ts";
import { keySlot } from "../../core/redis/slots.ts";
import {
  clusterControlKeys,
  itemTag,
  slotGuardKey,
  versionBase,
  versionPointerKey,
} from "../../core/read-models/keys.ts";
import { encodeBatch, increasingAfter, packStream } from "./batch-encoding.ts";
import type { BatchResult, BatchTarget, Op, OpsMessage, ResolvedOp } from "./redis-batch.ts";

/**
 * The batch path for a Redis Cluster, where a script may only touch declared keys of one slot.
 *
 * 1. Resolve: the cross-slot reads the single-node script makes (an item's categories for `catfan`, a user's
 *    history for `cooc`) are read here, before any write, and the batch is simulated in log order (catalog
 *    writes inside the batch, histories growing and trimmed), giving ops that each read only the key they
 *    write. The ops are grouped by hash slot and encoded (merged) per slot.
 * 2. Journal: the resolved batch is stored in one field of the version's journal hash, atomically with a
 *    check that the version pointer still names this version (a rebuild's switch runs in the same slot).
 * 3. Apply: one script per slot, every key declared, guarded by a per-slot hash `source → last position`:
 *    a slot that already has the journal's last position skips, otherwise it applies and stores it, atomically.
 * 4. Commit: the source's applied position is set and the journal deleted, atomically.
 *
 * A kill anywhere leaves either no journal (nothing written: the redelivery resolves afresh) or a journal
 * that the next batch of that source finishes first, with the same resolution, slot by slot, skipping the slots
 * that have it. Messages at or below the applied position are dropped before resolving. So every message's
 * effects reach every slot exactly once and with one resolution, whatever is killed when.
 */

/** KEYS: guard, then every data key. ARGV: base, source, last tx, last pos, 'packed'|'args', stream. */
const SLOT_SCRIPT = `${LUA_AFTER}
local guard, base, source, tx, pos = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local last = redis.call('HGET', guard, source)
if last then
  local ltx, lpos = string.match(last, '^(%d+)%.(%d+)$')
  if not after(tx, pos, ltx, lpos) then return 0 end
end
${LUA_TRIM}
${luaOpStream(5)}
while i <= n do
  local kind = a[i]
  if kind == '|' then i = i + 1; break end
${luaKeyedOps()}
  elseif kind == 'R' then
    redis.call('INCRBY', base .. a[i + 1], a[i + 2]); i = i + 3
  elseif kind == 'X' then
    local key = base .. a[i + 1]
    zincrCapped(key, a[i + 2], a[i + 3], tonumber(a[i + 4]))
    i = i + 5
  elseif kind == 'A' then
    local key, item, t = base .. a[i + 1], a[i + 2], a[i + 3]
    if redis.call('ZSCORE', key, item) then
      redis.call('ZADD', key, 'GT', t, item)
    else
      redis.call('ZADD', key, t, item)
      trim(key, tonumber(a[i + 4]))
    end
    i = i + 5
  else
    error('unknown op ' .. tostring(kind))
  end
end
local expire = {}
${LUA_TAIL_OPS}
redis.call('HSET', guard, source, tx .. '.' .. pos)
return 1
`;

/** KEYS: applied, journal. ARGV: source. → the applied position and the pending journal ('' when none). */
const STATE_SCRIPT = `
return {redis.call('HGET', KEYS[1], ARGV[1]) or '', redis.call('HGET', KEYS[2], ARGV[1]) or ''}
`;

/**
 * KEYS: pointer, applied, journal. ARGV: forced ('' = check the pointer), version, source, first, last, payload.
 * → 0 the pointer names another version; 3 another writer got there first (re-read the state); 2 nothing to
 * journal, the applied position is stored; 1 the journal is stored.
 */
const BEGIN_SCRIPT = `${LUA_AFTER}
local forced, version, source, first, last, payload = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if forced == '' and (redis.call('GET', KEYS[1]) or '1') ~= version then return 0 end
if redis.call('HEXISTS', KEYS[3], source) == 1 then return 3 end
local done = redis.call('HGET', KEYS[2], source)
if done then
  local dtx, dpos = string.match(done, '^(%d+)%.(%d+)$')
  local ftx, fpos = string.match(first, '^(%d+)%.(%d+)$')
  if not after(ftx, fpos, dtx, dpos) then return 3 end
end
if payload == '' then redis.call('HSET', KEYS[2], source, last); return 2 end
redis.call('HSET', KEYS[3], source, last .. '|' .. payload)
return 1
`;

/**
 * KEYS: applied, journal. ARGV: source, last. Only while that journal is pending (not a newer one; nothing when
 * another process finished it first, so a late commit never writes a version the switch has retired): stores
 * the applied position and drops the journal.
 */
const COMMIT_SCRIPT = `${LUA_AFTER}
local source, last = ARGV[1], ARGV[2]
local j = redis.call('HGET', KEYS[2], source)
if not (j and string.sub(j, 1, #last + 1) == last .. '|') then return 0 end
local ltx, lpos = string.match(last, '^(%d+)%.(%d+)$')
local done = redis.call('HGET', KEYS[1], source)
local dtx, dpos = '0', '0'
if done then dtx, dpos = string.match(done, '^(%d+)%.(%d+)$') end
if after(ltx, lpos, dtx, dpos) then redis.call('HSET', KEYS[1], source, last) end
redis.call('HDEL', KEYS[2], source)
return 1
`;

/** KEYS: journal. ARGV: source, last. Drops that journal (a slot refused its ops, see applyJournaled). */
const ABORT_SCRIPT = `
local j = redis.call('HGET', KEYS[1], ARGV[1])
if j and string.sub(j, 1, #ARGV[2] + 1) == ARGV[2] .. '|' then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
`;

type ClusterScripts = Cluster & {
  reckonClusterAbort(journal: string, source: string, last: string): Promise<number>;
  reckonClusterState(applied: string, journal: string, source: string): Promise<[string, string]>;
  reckonClusterBegin(...args: string[]): Promise<number>;
  reckonClusterCommit(applied: string, journal: string, source: string, last: string): Promise<number>;
};

const defined = new WeakSet<Cluster>();

function scripts(cluster: Cluster): ClusterScripts {
  if (!defined.has(cluster)) {
    defineScript(cluster, "reckonClusterState", { numberOfKeys: 2, lua: STATE_SCRIPT });
    defineScript(cluster, "reckonClusterBegin", { numberOfKeys: 3, lua: BEGIN_SCRIPT });
    defineScript(cluster, "reckonClusterCommit", { numberOfKeys: 2, lua: COMMIT_SCRIPT });
    defineScript(cluster, "reckonClusterAbort", { numberOfKeys: 1, lua: ABORT_SCRIPT });
    defined.add(cluster);
  }
  return cluster as ClusterScripts;
}

const SLOT_SHA = createHash("sha1").update(SLOT_SCRIPT).digest("hex");

/**
 * EVALSHA, and EVAL when the node does not have the script yet. Not a defined command: ioredis's auto-pipelining
 * would group a custom command with a variable key count by its first argument (the key count), not its first
 * key, and send keys of other nodes in one pipeline.
 */
async function runSlotScript(cluster: Cluster, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await cluster.evalsha(SLOT_SHA, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
    return cluster.eval(SLOT_SCRIPT, keys.length, ...keys, ...args);
  }
}

/** One slot's share of a batch: its slot, the relative keys it touches, its encoded (merged) op stream. */
type SlotPart = [slot: number, keys: string[], stream: string[]];

interface Plan {
  slots: SlotPart[];
}

/**
 * Batches of one source run one after another: resolving reads what the previous batch of the same source
 * writes (a user's history), so a rebuild's "next batch while this one applies" must wait here.
 */
const queues = new WeakMap<Cluster, Map<string, Promise<unknown>>>();

function serialized<T>(cluster: Cluster, key: string, run: () => Promise<T>): Promise<T> {
  let byKey = queues.get(cluster);
  if (byKey === undefined) queues.set(cluster, (byKey = new Map()));
  const queue = byKey;
  const result = (queue.get(key) ?? Promise.resolve()).then(run, run);
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  queue.set(key, tail);
  void tail.then(() => {
    if (queue.get(key) === tail) queue.delete(key);
  });
  return result;
}

export function applyOpsBatchCluster(
  cluster: Cluster,
  target: BatchTarget,
  source: string,
  messages: readonly OpsMessage[],
): Promise<BatchResult> {
  return serialized(cluster, `${target.prefix}:${target.ns}:${source}`, () =>
    applyInOrder(cluster, target, source, messages),
  );
}

/**
 * Test hook: what a projector killed mid-batch leaves behind. Resolves and journals the batch, applies only
 * its first `slots` slot parts and stops (no commit). Returns how many slot parts the batch has.
 */
export async function applyOpsBatchClusterKilled(
  cluster: Cluster,
  target: BatchTarget,
  source: string,
  messages: readonly OpsMessage[],
  slots: number,
): Promise<number> {
  let parts = 0;
  await applyInOrder(cluster, target, source, messages, (plan) => {
    parts = plan.slots.length;
    return { slots: plan.slots.slice(0, slots) };
  });
  return parts;
}

async function applyInOrder(
  cluster: Cluster,
  target: BatchTarget,
  source: string,
  messages: readonly OpsMessage[],
  killed?: (plan: Plan) => Plan,
): Promise<BatchResult> {
  const s = scripts(cluster);
  let pending = increasingAfter(messages, undefined);
  let skipped = messages.length - pending.length;
  for (;;) {
    const version =
      target.version ?? Number((await cluster.get(versionPointerKey(target.prefix, target.projection))) ?? 1);
    const control = clusterControlKeys(target.prefix, target.ns, target.projection, version);
    const base = versionBase(target.prefix, target.ns, version);
    const [doneToken, journal] = await s.reckonClusterState(control.applied, control.journal, source);
    const done = doneToken === "" ? undefined : parsePositionToken(doneToken);
    if (done !== undefined) {
      const rest = increasingAfter(pending, done);
      skipped += pending.length - rest.length;
      pending = rest;
    }
    if (journal !== "") {
      // A batch of this source was journaled and not committed (killed, or another writer): finish it first.
      const bar = journal.indexOf("|");
      const lastToken = journal.slice(0, bar);
      const last = parsePositionToken(lastToken)!;
      if (done === undefined || compareLogPositions(last, done) > 0)
        await applyJournaled(
          s,
          control.journal,
          base,
          source,
          last,
          JSON.parse(journal.slice(bar + 1)) as Plan,
        );
      // (A journal at or below the applied position has nothing left to do: the commit only drops it.)
      await s.reckonClusterCommit(control.applied, control.journal, source, lastToken);
      continue;
    }
    if (pending.length === 0) return { version, applied: 0, skipped, scriptMicros: 0 };
    const first = pending[0]!.position;
    const last = pending[pending.length - 1]!.position;
    const plan = await resolvePlan(cluster, base, pending);
    const begun = await s.reckonClusterBegin(
      control.pointer,
      control.applied,
      control.journal,
      target.version === undefined ? "" : "1",
      String(version),
      source,
      formatPositionToken(first),
      formatPositionToken(last),
      plan.slots.length === 0 ? "" : JSON.stringify(plan),
    );
    if (begun === 0 || begun === 3) continue; // switched version, or another writer: read the state again
    if (begun === 1) {
      await applyJournaled(s, control.journal, base, source, last, killed ? killed(plan) : plan);
      if (killed === undefined)
        await s.reckonClusterCommit(control.applied, control.journal, source, formatPositionToken(last));
    }
    return { version, applied: pending.length, skipped, scriptMicros: 0 };
  }
}

/**
 * Applies a journaled plan. When Redis refuses a slot's ops (WRONGTYPE, OOM, a script error: not an outage or a
 * cluster reconfiguration, which are retried as they are), the journal is dropped before the error goes up, so
 * that the runtime can bisect the batch (apply-guard.ts) instead of replaying the refused journal forever. Slots
 * that applied it keep their guard at its last position and skip any part of it sent again; the refused slot
 * may keep the writes made before the failing command, as on a single node (docs/architecture/projections.md, "The runtime").
 */
async function applyJournaled(
  s: ClusterScripts,
  journal: string,
  base: string,
  source: string,
  last: LogPosition,
  plan: Plan,
): Promise<void> {
  try {
    await applyPlan(s, base, source, last, plan);
  } catch (err) {
    // ioredis's ReplyError is typed `any`: recognised by name (a Redis error reply, not a connection error).
    if (
      err instanceof Error &&
      err.name === "ReplyError" &&
      !/^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|BUSY|MOVED|ASK)\b/.test(err.message)
    )
      await s.reckonClusterAbort(journal, source, formatPositionToken(last));
    throw err;
  }
}

/**
 * Finishes every batch journaled in `version` and not committed (a projector killed mid-batch, or one still
 * applying): the version switch does this before it moves the pointer, so that nothing writes the old version
 * after the switch (its keys are deleted then). Safe while the owner applies the same journal: slots are guarded.
 */
export async function finishJournals(
  cluster: Cluster,
  target: { prefix: string; ns: string; projection: string },
  version: number,
): Promise<number> {
  const s = scripts(cluster);
  const control = clusterControlKeys(target.prefix, target.ns, target.projection, version);
  const base = versionBase(target.prefix, target.ns, version);
  const journals = await cluster.hgetall(control.journal);
  for (const [source, journal] of Object.entries(journals)) {
    const bar = journal.indexOf("|");
    const lastToken = journal.slice(0, bar);
    await applyPlan(
      s,
      base,
      source,
      parsePositionToken(lastToken)!,
      JSON.parse(journal.slice(bar + 1)) as Plan,
    );
    await s.reckonClusterCommit(control.applied, control.journal, source, lastToken);
  }
  return Object.keys(journals).length;
}

/** Every slot's share, each in one guarded script (slots in parallel: they are independent). */
async function applyPlan(
  s: ClusterScripts,
  base: string,
  source: string,
  last: LogPosition,
  plan: Plan,
): Promise<void> {
  const tx = last.transactionId.toString();
  const pos = String(last.position);
  await Promise.all(
    plan.slots.map(([slot, keys, stream]) =>
      runSlotScript(
        s,
        [slotGuardKey(base, slot), ...keys.map((k) => base + k)],
        [base, source, tx, pos, ...packStream(stream).flat()],
      ),
    ),
  );
}

const nbrsKey = (item: string) => `${itemTag(item)}:nbrs`;
const countKey = (item: string) => `${itemTag(item)}:cnt`;
/** `$c` → the category, `$1`…`$9` → the catfan's arguments (as the single-node script expands them). */
const fill = (template: string, category: string, args: readonly string[]) =>
  template.includes("$")
    ? template.replace(/\$([0-9A-Za-z])/g, (m, x: string) =>
        x === "c" ? category : (args[Number(x) - 1] ?? m),
      )
    : template;

interface Entry {
  member: string;
  score: number;
  bytes: Buffer;
}

/** Redis sorted-set order: score, then member bytes. */
const byRank = (a: Entry, b: Entry) => a.score - b.score || Buffer.compare(a.bytes, b.bytes);

/**
 * Reads what `catfan` and `cooc` read, then replays the batch in log order in memory to turn them into ops on
 * single keys (the same decisions the single-node script takes), grouped and encoded per slot.
 */
export async function resolvePlan(
  cluster: Cluster,
  base: string,
  messages: readonly OpsMessage[],
): Promise<Plan> {
  // What to read: catalog fields (and their version) for catfan, histories for cooc.
  const catalogFields = new Map<string, Set<string>>();
  const histories = new Set<string>();
  // Counts an undo takes back in this batch: cooc's increments of them stay in log order with it (sequential
  // incrby_drop, which never drops a count it raises) instead of merged, which would run after the undo.
  const dropCounts = new Set<string>();
  for (const m of messages)
    for (const op of m.ops) {
      if (op[0] === "catfan") {
        const fields = catalogFields.get(op[1]) ?? new Set<string>();
        fields.add(op[2]);
        catalogFields.set(op[1], fields);
      } else if (op[0] === "cooc") histories.add(op[1]);
      else if (op[0] === "incrby_drop") dropCounts.add(op[1]);
    }
  const catalog = new Map<string, { v: string | null; fields: Map<string, string | null> }>();
  const history = new Map<string, Entry[]>();
  await Promise.all([
    ...[...catalogFields].map(async ([key, fields]) => {
      const names = [...fields];
      const [v, ...values] = await cluster.hmget(base + key, "v", ...names);
      catalog.set(key, { v: v ?? null, fields: new Map(names.map((f, i) => [f, values[i] ?? null])) });
    }),
    ...[...histories].map(async (key) => {
      const raw = await cluster.zrange(base + key, "0", "-1", "WITHSCORES");
      const entries: Entry[] = [];
      for (let i = 0; i < raw.length; i += 2)
        entries.push({ member: raw[i]!, score: Number(raw[i + 1]), bytes: Buffer.from(raw[i]!) });
      history.set(key, entries);
    }),
  ]);

  const resolved: ResolvedOp[] = [];
  for (const m of messages)
    for (const op of m.ops) {
      switch (op[0]) {
        case "catfan":
          resolveCatfan(op, catalog.get(op[1])!, resolved);
          break;
        case "cooc":
          resolveCooc(op, history.get(op[1])!, resolved, dropCounts);
          break;
        case "zreplace": {
          // A history an undo rewrote: later coocs of this batch read the rewritten one.
          const entries = history.get(op[1]);
          if (entries !== undefined) {
            entries.length = 0;
            for (let i = 2; i + 1 < op.length; i += 2)
              entries.push({ member: op[i + 1]!, score: Number(op[i]), bytes: Buffer.from(op[i + 1]!) });
            entries.sort(byRank);
          }
          resolved.push(op);
          break;
        }
        case "hset_newer": {
          const state = catalog.get(op[1]);
          if (state !== undefined && (state.v === null || Number(op[2]) > Number(state.v))) {
            state.v = op[2];
            for (let i = 3; i + 1 < op.length; i += 2)
              if (state.fields.has(op[i]!)) state.fields.set(op[i]!, op[i + 1]!);
          }
          resolved.push(op);
          break;
        }
        default:
          resolved.push(op);
      }
    }

  const slotOf = new Map<string, number>();
  const bySlot = new Map<number, { keys: Set<string>; ops: ResolvedOp[] }>();
  for (const op of resolved) {
    const key = op[1];
    let slot = slotOf.get(key);
    if (slot === undefined) slotOf.set(key, (slot = keySlot(base + key)));
    let part = bySlot.get(slot);
    if (part === undefined) bySlot.set(slot, (part = { keys: new Set(), ops: [] }));
    part.keys.add(key);
    part.ops.push(op);
  }
  return {
    slots: [...bySlot].map(([slot, part]): SlotPart => [slot, [...part.keys], encodeBatch([part.ops])]),
  };
}

function resolveCatfan(
  [, , field, inner, args = []]: Extract<Op, ["catfan", ...unknown[]]>,
  state: { fields: Map<string, string | null> },
  out: ResolvedOp[],
): void {
  const raw = state.fields.get(field);
  if (raw === null || raw === undefined) return;
  for (const c of JSON.parse(raw) as string[])
    for (const op of inner) {
      if (op[0] === "hincrby")
        out.push(["hincrby", fill(op[1], c, args), fill(op[2], c, args), fill(op[3], c, args)]);
      else if (op[0] === "zincrby")
        out.push(["zincrby", fill(op[1], c, args), fill(op[2], c, args), fill(op[3], c, args)]);
      else if (op[0] === "pexpire") out.push(["pexpire", fill(op[1], c, args), fill(op[2], c, args)]);
      else throw new Error(`catfan cannot run ${op[0]}`);
    }
}

function resolveCooc(
  [, histKey, item, timeMs, histCap, nbrCap]: Extract<Op, ["cooc", ...unknown[]]>,
  entries: Entry[],
  out: ResolvedOp[],
  dropCounts: ReadonlySet<string>,
): void {
  const t = Number(timeMs);
  const present = entries.find((e) => e.member === item);
  if (present !== undefined) {
    if (t > present.score) {
      present.score = t;
      entries.sort(byRank);
    }
  } else {
    for (const other of entries) {
      out.push(["zincrby_cap", nbrsKey(other.member), "1", item, nbrCap]);
      out.push(["zincrby_cap", nbrsKey(item), "1", other.member, nbrCap]);
    }
    const count = countKey(item);
    out.push(dropCounts.has(count) ? ["incrby_drop", count, "1"] : ["incrby", count, "1"]);
    entries.push({ member: item, score: t, bytes: Buffer.from(item) });
    entries.sort(byRank);
    const excess = entries.length - Number(histCap);
    if (excess > 0) entries.splice(0, excess);
  }
  out.push(["hist_add", histKey, item, timeMs, histCap]);
}
