import { REPLAY_SOURCE } from "../../core/read-models/keys.ts";

/**
 * Lua shared by the Redis batch scripts (single node: redis-batch.ts; per slot on a cluster: cluster-batch.ts)
 * and the version switches (replay.ts), so the op stream means the same thing on both paths.
 */

/** `after(tx1, p1, tx2, p2)`: is position token (tx1, p1) later than (tx2, p2)? (decimal strings, any length) */
export const LUA_AFTER = `
local function after(tx1, p1, tx2, p2)
  if #tx1 ~= #tx2 then return #tx1 > #tx2 end
  if tx1 ~= tx2 then return tx1 > tx2 end
  return tonumber(p1) > tonumber(p2)
end
`;

/**
 * `trim(key, cap)`: keeps a sorted set's `cap` highest-ranked members. `zincrCapped(key, by, member, cap)`:
 * ZINCRBY, then trim only if the member is new (its score is now `by`): an increment of a member already present
 * leaves the size as it was, which the trim after the member's arrival kept within `cap`. Co-occurrence sends two
 * capped increments per pair of items, so this saves most of the ZCARDs a batch sent. (A lowered cap therefore
 * applies to a set when it next gains a member.)
 */
export const LUA_TRIM = `
local function trim(key, cap)
  local n = redis.call('ZCARD', key)
  if n > cap then redis.call('ZREMRANGEBYRANK', key, 0, n - cap - 1) end
end
local function zincrCapped(key, by, member, cap)
  if tonumber(redis.call('ZINCRBY', key, by, member)) == tonumber(by) then trim(key, cap) end
end
`;

/**
 * Sets `a` (the op fields) and `i` (the first op's index) from the stream: ARGV[modeArg] is 'packed' (one
 * string, fields each ended by \x1e; see batch-encoding.ts packStream) or 'args' (the fields follow as
 * arguments from modeArg + 1).
 */
export const luaOpStream = (modeArg: number) => `
local a, i = ARGV, ${modeArg + 1}
if ARGV[${modeArg}] == 'packed' then
  a, i = {}, 1
  local k = 0
  for f in string.gmatch(ARGV[${modeArg + 1}], '([^\\30]*)\\30') do k = k + 1; a[k] = f end
end
local n = #a
`;

/**
 * The branches of the op loop both paths share (`kind` is a[i]; `base` prefixes relative keys): `I` HINCRBY,
 * `Z` ZINCRBY, `M` hash field max, `H` merged hash increments and maxima, `G` ZADD GT, `N` a catalog write that
 * only a newer version wins, after which `afterCatalogWrite` runs (with `key` in scope); an undo's `J`
 * (zincrby_drop), `K` (incrby_drop), `U` (hincrby_drop), `P` (zreplace) and `Q` (hreplace), which read only the
 * key they write. Needs LUA_TRIM. Starts with `if`;
 * the caller adds its own `elseif` branches and the `end`.
 */
export const luaKeyedOps = (afterCatalogWrite = "") => `
  if kind == 'I' then
    redis.call('HINCRBY', base .. a[i + 1], a[i + 2], a[i + 3]); i = i + 4
  elseif kind == 'Z' then
    redis.call('ZINCRBY', base .. a[i + 1], a[i + 2], a[i + 3]); i = i + 4
  elseif kind == 'M' then
    local key = base .. a[i + 1]
    local cur = redis.call('HGET', key, a[i + 2])
    if (not cur) or tonumber(a[i + 3]) > tonumber(cur) then redis.call('HSET', key, a[i + 2], a[i + 3]) end
    i = i + 4
  elseif kind == 'H' then
    local key, ni, nm, j0 = base .. a[i + 1], tonumber(a[i + 2]), tonumber(a[i + 3]), i + 4
    local fields = {}
    for j = 1, ni + nm do fields[j] = a[j0 + 2 * (j - 1)] end
    local cur = redis.call('HMGET', key, unpack(fields))
    local args = {}
    for j = 1, ni do
      args[#args + 1] = fields[j]
      args[#args + 1] = string.format('%d', (tonumber(cur[j]) or 0) + tonumber(a[j0 + 2 * j - 1]))
    end
    for j = ni + 1, ni + nm do
      local v = a[j0 + 2 * j - 1]
      if (not cur[j]) or tonumber(v) > tonumber(cur[j]) then
        args[#args + 1] = fields[j]
        args[#args + 1] = v
      end
    end
    if #args > 0 then redis.call('HSET', key, unpack(args)) end
    i = j0 + 2 * (ni + nm)
  elseif kind == 'G' then
    redis.call('ZADD', base .. a[i + 1], 'GT', a[i + 2], a[i + 3]); i = i + 4
  elseif kind == 'N' then
    local key, v, nf = base .. a[i + 1], a[i + 2], tonumber(a[i + 3])
    local cur = redis.call('HGET', key, 'v')
    if (not cur) or tonumber(v) > tonumber(cur) then
      local args = {'v', v}
      for j = i + 4, i + 3 + nf do args[#args + 1] = a[j] end
      redis.call('HSET', key, unpack(args))
      ${afterCatalogWrite}
    end
    i = i + 4 + nf
  elseif kind == 'J' then
    local key, by, member = base .. a[i + 1], a[i + 2], a[i + 3]
    local score = tonumber(redis.call('ZINCRBY', key, by, member))
    if score <= 0 then redis.call('ZREM', key, member)
    elseif score == tonumber(by) then trim(key, tonumber(a[i + 4])) end
    i = i + 5
  elseif kind == 'K' then
    local key = base .. a[i + 1]
    if redis.call('INCRBY', key, a[i + 2]) <= 0 then redis.call('DEL', key) end
    i = i + 3
  elseif kind == 'U' then
    local key, field = base .. a[i + 1], a[i + 2]
    if redis.call('HINCRBY', key, field, a[i + 3]) <= 0 then redis.call('HDEL', key, field) end
    i = i + 4
  elseif kind == 'P' then
    local key, m = base .. a[i + 1], tonumber(a[i + 2])
    redis.call('DEL', key)
    if m > 0 then redis.call('ZADD', key, unpack(a, i + 3, i + 2 + 2 * m)) end
    i = i + 3 + 2 * m
  elseif kind == 'Q' then
    local key, m = base .. a[i + 1], tonumber(a[i + 2])
    redis.call('DEL', key)
    if m > 0 then redis.call('HSET', key, unpack(a, i + 3, i + 2 + 2 * m)) end
    i = i + 3 + 2 * m`;

/**
 * The ops after the stream's `|` marker, which run once per key after every write: `T` trims a capped sorted
 * set, `E` sets a key's expiry (the last one wins, collected in the caller's `expire` table, then applied).
 */
export const LUA_TAIL_OPS = `
while i <= n do
  local kind = a[i]
  if kind == 'T' then trim(base .. a[i + 1], tonumber(a[i + 2]))
  elseif kind == 'E' then expire[base .. a[i + 1]] = a[i + 2]
  else error('unknown tail op ' .. tostring(kind)) end
  i = i + 3
end
for key, ms in pairs(expire) do redis.call('PEXPIRE', key, ms) end
`;

/**
 * `liveAhead(applied, tx, pos)`: has any live source in the `applied` hash (all but the replay's) applied past
 * (tx, pos)? A version switch must then wait: the rebuild reads on. Needs LUA_AFTER.
 */
export const LUA_LIVE_AHEAD = `
local function liveAhead(applied, tx, pos)
  local current = redis.call('HGETALL', applied)
  for i = 1, #current, 2 do
    if current[i] ~= '${REPLAY_SOURCE}' then
      local ltx, lpos = string.match(current[i + 1], '^(%d+)%.(%d+)$')
      if after(ltx, lpos, tx, pos) then return true end
    end
  end
  return false
end
`;
