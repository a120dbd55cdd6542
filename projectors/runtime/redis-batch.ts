import type { Redis } from "ioredis";
import type { LogPosition } from "../../core/contracts/position.ts";
import { parsePositionToken } from "../../core/contracts/position.ts";
import { APPLIED_KEY, versionBase, versionPointerKey } from "./keys.ts";

/**
 * Applies a batch of messages' effects to Redis atomically and idempotently: one Lua script per batch skips
 * every message whose log position is at or below the position already applied for the batch's source
 * (topic:partition, or "log" for a replay), applies the rest, and stores the new applied position, all in one
 * atomic step. A projector killed mid-batch therefore either applied the whole batch (and skips it on
 * redelivery) or none of it. Kafka delivers a partition in log order, so "≤ applied" means "already applied".
 *
 * Effects are data (`Op`), computed in TypeScript by pure functions; keys in ops are relative and the script
 * prepends the version base it reads from the version pointer in the same atomic step, so a version switch
 * (see replay.ts) can never split a batch between two versions.
 *
 * Redis Cluster: the script builds key names itself, which a cluster only allows within one slot. The
 * per-slot variant keeps a guard per user slot (`{u:ID}:applied`, the user's last applied position) and
 * sends each message's effects grouped by slot, each group guarded by the message position; see README.md.
 */
export type Op =
  | ["zadd_gt", key: string, score: string, member: string]
  | ["zcap", key: string, cap: string]
  | ["hincrby", key: string, field: string, by: string]
  | ["hmax", key: string, field: string, value: string]
  | ["zincrby", key: string, by: string, member: string]
  | ["pexpire", key: string, ms: string]
  /** Sets the fields only when `version` is greater than the stored `v` field (an older write never wins). */
  | ["hset_newer", key: string, version: string, ...fieldsAndValues: string[]]
  /** Runs `ops` once per category in the JSON array stored in `field` of `key`, with `$c` replaced by it. */
  | ["catfan", key: string, field: string, ops: Op[]]
  /**
   * Online co-occurrence: when `item` is new in the user history `histKey`, counts it once for every item
   * already there (both directions, in `{i:X}:nbrs`, capped at `nbrCap`) and once in `{i:item}:cnt`; then
   * records it (score `timeMs`) and trims the history to `histCap`.
   */
  | ["cooc", histKey: string, item: string, timeMs: string, histCap: string, nbrCap: string];

export interface OpsMessage {
  position: LogPosition;
  ops: Op[];
}

export interface BatchTarget {
  prefix: string;
  ns: string;
  projection: string;
  /** Write into this version instead of the one the pointer names (rebuilds). */
  version?: number;
}

export interface BatchResult {
  version: number;
  applied: number;
  skipped: number;
}

const SCRIPT = `
local pointer, ns, forced, source = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local version = forced
if version == '' then version = redis.call('GET', pointer) or '1' end
local base = ns .. ':v' .. version .. ':'
local applied = base .. '${APPLIED_KEY}'

local function after(tx1, p1, tx2, p2)
  if #tx1 ~= #tx2 then return #tx1 > #tx2 end
  if tx1 ~= tx2 then return tx1 > tx2 end
  return tonumber(p1) > tonumber(p2)
end

local function trim(key, cap)
  local n = redis.call('ZCARD', key)
  if n > cap then redis.call('ZREMRANGEBYRANK', key, 0, n - cap - 1) end
end

local run
local function sub(s, c) if c then return (string.gsub(s, '%$c', function() return c end)) end return s end

run = function(op, c)
  local kind = op[1]
  local key = base .. sub(op[2], c)
  if kind == 'zadd_gt' then
    redis.call('ZADD', key, 'GT', op[3], op[4])
  elseif kind == 'zcap' then
    trim(key, tonumber(op[3]))
  elseif kind == 'hincrby' then
    redis.call('HINCRBY', key, sub(op[3], c), op[4])
  elseif kind == 'hmax' then
    local cur = redis.call('HGET', key, op[3])
    if (not cur) or tonumber(op[4]) > tonumber(cur) then redis.call('HSET', key, op[3], op[4]) end
  elseif kind == 'zincrby' then
    redis.call('ZINCRBY', key, op[3], sub(op[4], c))
  elseif kind == 'pexpire' then
    redis.call('PEXPIRE', key, op[3])
  elseif kind == 'hset_newer' then
    local cur = redis.call('HGET', key, 'v')
    if (not cur) or tonumber(op[3]) > tonumber(cur) then
      local args = {'v', op[3]}
      for i = 4, #op do args[#args + 1] = op[i] end
      redis.call('HSET', key, unpack(args))
    end
  elseif kind == 'catfan' then
    local raw = redis.call('HGET', key, op[3])
    if raw then
      for _, cat in ipairs(cjson.decode(raw)) do
        for _, inner in ipairs(op[4]) do run(inner, cat) end
      end
    end
  elseif kind == 'cooc' then
    local item, t, histCap, nbrCap = op[3], op[4], tonumber(op[5]), tonumber(op[6])
    if redis.call('ZSCORE', key, item) then
      redis.call('ZADD', key, 'GT', t, item)
    else
      for _, other in ipairs(redis.call('ZRANGE', key, 0, -1)) do
        local a = base .. '{i:' .. other .. '}:nbrs'
        local b = base .. '{i:' .. item .. '}:nbrs'
        redis.call('ZINCRBY', a, 1, item)
        redis.call('ZINCRBY', b, 1, other)
        trim(a, nbrCap)
        trim(b, nbrCap)
      end
      redis.call('INCR', base .. '{i:' .. item .. '}:cnt')
      redis.call('ZADD', key, t, item)
      trim(key, histCap)
    end
  else
    error('unknown op ' .. tostring(kind))
  end
end

local last = redis.call('HGET', applied, source)
local ltx, lpos = '0', '0'
if last then ltx, lpos = string.match(last, '^(%d+)%.(%d+)$') end
local done, skipped = 0, 0
for _, m in ipairs(cjson.decode(ARGV[5])) do
  if after(m[1], m[2], ltx, lpos) then
    for _, op in ipairs(m[3]) do run(op, nil) end
    ltx, lpos = m[1], m[2]
    done = done + 1
  else
    skipped = skipped + 1
  end
end
if done > 0 then redis.call('HSET', applied, source, ltx .. '.' .. lpos) end
return {tonumber(version), done, skipped}
`;

const defined = new WeakSet<Redis>();
type WithScript = Redis & { reckonApplyBatch(...args: string[]): Promise<[number, number, number]> };

function withScript(redis: Redis): WithScript {
  if (!defined.has(redis)) {
    redis.defineCommand("reckonApplyBatch", { numberOfKeys: 0, lua: SCRIPT });
    defined.add(redis);
  }
  return redis as WithScript;
}

export async function applyOpsBatch(
  redis: Redis,
  target: BatchTarget,
  source: string,
  messages: readonly OpsMessage[],
): Promise<BatchResult> {
  const payload = JSON.stringify(
    messages.map((m) => [m.position.transactionId.toString(), String(m.position.position), m.ops]),
  );
  const [version, applied, skipped] = await withScript(redis).reckonApplyBatch(
    versionPointerKey(target.prefix, target.projection),
    `${target.prefix}:${target.ns}`,
    target.version === undefined ? "" : String(target.version),
    source,
    payload,
  );
  return { version, applied, skipped };
}

/** The version readers and the live consumer use now. */
export async function currentVersion(redis: Redis, prefix: string, projection: string): Promise<number> {
  const v = await redis.get(versionPointerKey(prefix, projection));
  return v === null ? 1 : Number(v);
}

/** The applied position stored for `source` in the current version (or `version`). */
export async function readAppliedPosition(
  redis: Redis,
  target: BatchTarget,
  source: string,
): Promise<LogPosition | undefined> {
  const version = target.version ?? (await currentVersion(redis, target.prefix, target.projection));
  const token = await redis.hget(versionBase(target.prefix, target.ns, version) + APPLIED_KEY, source);
  return token === null ? undefined : parsePositionToken(token);
}
