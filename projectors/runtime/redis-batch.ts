import { defineScript } from "../../core/redis/redis.ts";
import { LUA_AFTER, LUA_TAIL_OPS, LUA_TRIM, luaKeyedOps, luaOpStream } from "./lua.ts";
import type { Redis } from "ioredis";
import { parsePositionToken } from "../../core/contracts/position.ts";
import type { Op, OpsMessage, BatchTarget } from "../../core/projection-store/port.ts";
import { APPLIED_KEY, versionPointerKey } from "../../core/read-models/keys.ts";
import { encodeBatch, increasingAfter, packStream } from "./batch-encoding.ts";

export type { Op, OpsMessage, BatchTarget };

/*
 * Applies a batch of messages' effects to Redis atomically and idempotently: one Lua script per batch skips
 * the messages whose log position is at or below the position already applied for the batch's source
 * (topic:partition, or "log" for a replay), applies the rest, and stores the new applied position, all in one
 * atomic step. A projector killed mid-batch therefore either applied the whole batch (and skips it on
 * redelivery) or none of it. Kafka delivers a partition in log order, so "≤ applied" means "already applied".
 *
 * Effects are data (`Op`), computed in TypeScript by pure functions; keys in ops are relative and the script
 * prepends the version base it reads from the version pointer in the same atomic step, so a version switch
 * (see replay.ts) can never split a batch between two versions.
 *
 * Throughput: a batch's commutative ops are merged before they are sent (batch-encoding.ts), so the script
 * applies one HINCRBY per hash field, one PEXPIRE per key, one trim per capped set per batch instead of one per
 * event. Merging crosses messages, so the script applies a batch all or nothing: when the stored position lies
 * inside the batch (a redelivery that overlaps what was applied), it answers with that position and the batch
 * is sent again without the messages at or below it.
 *
 * Redis Cluster: the script builds key names itself, which a cluster only allows within one slot, so the
 * cluster store takes another path (cluster-batch.ts): cross-slot reads resolved client-side, a journal, one
 * guarded script per slot. See docs/architecture/projections.md ("Redis Cluster"). The projection store (projectors/store/) picks the
 * path; the ops are defined with its port (core/projection-store/port.ts).
 */

/**
 * What `catfan` and `cooc` become once their reads are resolved (Redis Cluster path, cluster-batch.ts): each
 * reads only the key it writes, so a batch can be split by slot.
 */
export type ResolvedOp =
  | Exclude<Op, ["catfan", ...unknown[]] | ["cooc", ...unknown[]]>
  | ["incrby", key: string, by: string]
  /** ZINCRBY, then trim the set to its `cap` highest entries. */
  | ["zincrby_cap", key: string, by: string, member: string, cap: string]
  /** A user history entry: ZADD GT when `item` is there, else ZADD and trim to `cap` (as `cooc` does). */
  | ["hist_add", key: string, item: string, timeMs: string, cap: string];

export interface BatchResult {
  version: number;
  applied: number;
  skipped: number;
  /**
   * Time the batch script ran inside Redis (its own TIME at start and end); 0 when no script applied anything,
   * and on a Redis Cluster (whose per-slot scripts each hold one node briefly; see cluster-batch.ts).
   */
  scriptMicros: number;
}

/*
 * ARGV: pointer, ns, forced version, source, first tx, first pos, last tx, last pos, message count, then
 * 'packed' and the op stream (see batch-encoding.ts) as one string of fields each ended by \x1e, or 'args'
 * and the fields as arguments.
 */
const SCRIPT = `
local started = redis.call('TIME')
local pointer, ns, forced, source = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local version = forced
if version == '' then version = redis.call('GET', pointer) or '1' end
local base = ns .. ':v' .. version .. ':'
local applied = base .. '${APPLIED_KEY}'
local count = tonumber(ARGV[9])

${LUA_AFTER}
local last = redis.call('HGET', applied, source)
local ltx, lpos = '0', '0'
if last then ltx, lpos = string.match(last, '^(%d+)%.(%d+)$') end
if not after(ARGV[7], ARGV[8], ltx, lpos) then return {tonumber(version), 0, count} end
if not after(ARGV[5], ARGV[6], ltx, lpos) then return {tonumber(version), -1, 0, last} end

${LUA_TRIM}
-- Effects of category fan-outs, summed over the batch (integers add exactly in doubles below 2^53).
local hinc, zinc, expire = {}, {}, {}
local function acc(t, key, member, by)
  local m = t[key]
  if not m then m = {}; t[key] = m end
  m[member] = (m[member] or 0) + tonumber(by)
end
-- Catalog categories as of this point of the batch; a catalog write in the batch drops the cached entry.
local cats = {}

-- Category fan-out templates (D), by id. A field is kept as {kind, value}: 'l' literal, 'c' exactly the
-- category, 'n' exactly argument N, 'x' anything else with placeholders (expanded by gsub; when it holds only
-- $c, memoised per category: a trending key is the same for every event on the category).
local templates = {}
local function templateField(f)
  if not string.find(f, '$', 1, true) then return {'l', f} end
  if f == '$c' then return {'c'} end
  local n = string.match(f, '^%$(%d)$')
  if n then return {'n', tonumber(n)} end
  return {'x', f, (not string.find(f, '%$%d')) and {} or nil}
end
local function catfanTemplate(a, from, count)
  local t = {}
  for j = 0, count - 1 do
    local p = from + 4 * j
    t[j + 1] = {a[p], templateField(a[p + 1]), templateField(a[p + 2]), templateField(a[p + 3])}
  end
  return t
end
local function expand(f, c, args)
  local kind = f[1]
  if kind == 'l' then return f[2] end
  if kind == 'c' then return c end
  if kind == 'n' then return args[f[2]] or ('$' .. f[2]) end
  local memo = f[3]
  if memo then
    local v = memo[c]
    if not v then
      v = string.gsub(f[2], '%$c', (string.gsub(c, '%%', '%%%%')))
      memo[c] = v
    end
    return v
  end
  return (string.gsub(f[2], '%$(%w)', function(x)
    if x == 'c' then return c end
    return args[tonumber(x)]
  end))
end

-- The op stream comes packed in one string (cheap to send) unless a field contains the separator.
${luaOpStream(10)}
while i <= n do
  local kind = a[i]
  if kind == '|' then i = i + 1; break end
${luaKeyedOps("cats[key] = nil -- later catfans in this batch read the new categories")}
  elseif kind == 'D' then
    templates[a[i + 1]] = catfanTemplate(a, i + 3, tonumber(a[i + 2]))
    i = i + 3 + 4 * tonumber(a[i + 2])
  elseif kind == 'F' then
    local key, field, tpl, na = base .. a[i + 1], a[i + 2], templates[a[i + 3]], tonumber(a[i + 4])
    local ck = cats[key]
    if ck == nil then
      local raw = redis.call('HGET', key, field)
      ck = raw and cjson.decode(raw) or false
      cats[key] = ck
    end
    if ck then
      local args = {}
      for j = 1, na do args[j] = a[i + 4 + j] end
      for _, c in ipairs(ck) do
        for _, op in ipairs(tpl) do
          local kind2, k = op[1], base .. expand(op[2], c, args)
          if kind2 == 'I' then acc(hinc, k, expand(op[3], c, args), expand(op[4], c, args))
          elseif kind2 == 'Z' then acc(zinc, k, expand(op[4], c, args), expand(op[3], c, args))
          elseif kind2 == 'E' then expire[k] = expand(op[3], c, args)
          else error('catfan: unsupported op ' .. tostring(kind2)) end
        end
      end
    end
    i = i + 5 + na
  elseif kind == 'C' then
    local key, item, t, histCap, nbrCap = base .. a[i + 1], a[i + 2], a[i + 3], tonumber(a[i + 4]), tonumber(a[i + 5])
    if redis.call('ZSCORE', key, item) then
      redis.call('ZADD', key, 'GT', t, item)
    else
      local b = base .. '{i:' .. item .. '}:nbrs'
      for _, other in ipairs(redis.call('ZRANGE', key, 0, -1)) do
        local o = base .. '{i:' .. other .. '}:nbrs'
        zincrCapped(o, 1, item, nbrCap)
        zincrCapped(b, 1, other, nbrCap)
      end
      redis.call('INCR', base .. '{i:' .. item .. '}:cnt')
      redis.call('ZADD', key, t, item)
      trim(key, histCap)
    end
    i = i + 6
  else
    error('unknown op ' .. tostring(kind))
  end
end

for key, m in pairs(hinc) do
  for field, by in pairs(m) do redis.call('HINCRBY', key, field, string.format('%d', by)) end
end
for key, m in pairs(zinc) do
  for member, by in pairs(m) do redis.call('ZINCRBY', key, string.format('%.17g', by), member) end
end

${LUA_TAIL_OPS}

redis.call('HSET', applied, source, ARGV[7] .. '.' .. ARGV[8])
local ended = redis.call('TIME')
local micros = (tonumber(ended[1]) - tonumber(started[1])) * 1000000 + tonumber(ended[2]) - tonumber(started[2])
return {tonumber(version), count, 0, '', micros}
`;

const defined = new WeakSet<Redis>();
type WithScript = Redis & {
  reckonApplyBatch(...args: (string | string[])[]): Promise<[number, number, number, string?, number?]>;
};

function withScript(redis: Redis): WithScript {
  if (!defined.has(redis)) {
    defineScript(redis, "reckonApplyBatch", { numberOfKeys: 0, lua: SCRIPT });
    defined.add(redis);
  }
  return redis as WithScript;
}

/** A single-node batch encoded for the script: the CPU work, done while Redis may still run an earlier call. */
export interface PreparedBatch {
  pending: OpsMessage[];
  skipped: number;
  fields: [string, string] | [string, string[]];
}

/** The script's stream arguments for `pending` (batch-encoding.ts). */
const streamFields = (pending: readonly OpsMessage[]) => packStream(encodeBatch(pending.map((m) => m.ops)));

export function prepareOpsBatch(messages: readonly OpsMessage[]): PreparedBatch {
  const pending = increasingAfter(messages, undefined);
  return { pending, skipped: messages.length - pending.length, fields: streamFields(pending) };
}

/** Runs a prepared batch on a single Redis (applyOpsBatch without the encoding). */
export async function applyPreparedBatch(
  redis: Redis,
  target: BatchTarget,
  source: string,
  prepared: PreparedBatch,
): Promise<BatchResult> {
  const script = withScript(redis);
  const header = [
    versionPointerKey(target.prefix, target.projection),
    `${target.prefix}:${target.ns}`,
    target.version === undefined ? "" : String(target.version),
    source,
  ];
  let { pending, skipped, fields } = prepared;
  for (;;) {
    if (pending.length === 0) return { version: 0, applied: 0, skipped, scriptMicros: 0 };
    const first = pending[0]!.position;
    const last = pending[pending.length - 1]!.position;
    const [version, applied, skippedHere, stored, micros] = await script.reckonApplyBatch(
      ...header,
      first.transactionId.toString(),
      String(first.position),
      last.transactionId.toString(),
      String(last.position),
      String(pending.length),
      ...fields,
    );
    if (applied >= 0) return { version, applied, skipped: skipped + skippedHere, scriptMicros: micros ?? 0 };
    // The stored position lies inside the batch: send only what comes after it.
    const from = parsePositionToken(stored!)!;
    const rest = increasingAfter(pending, from);
    skipped += pending.length - rest.length;
    pending = rest;
    fields = streamFields(pending);
  }
}
