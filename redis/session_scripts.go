package redis

import goredis "github.com/redis/go-redis/v9"

// The session scripts. Each runs atomically in Redis, which is what keeps
// the session model's promise: a session is created, touched, rotated or
// ended in one step, and every write but creation first checks that the
// session hash exists, so nothing ever writes an ended session back.
//
// ARGV[1] is always the key base (prefix + "{lacop}:"); keys named by data
// found inside a script (a session's user index, its secret key) are built
// from it. They share the base's hash tag, so they live in the declared
// keys' Cluster slot.

// luaFields are the session hash's fields in the order scripts return them
// (see parseSession): HMGET with these is one session, or a list of nils.
const luaFields = `
local fields = {'id', 'h', 'u', 'l', 'r', 'c', 'a', 'e', 'ip', 'ua'}
`

// luaEnd ends one session: it returns the session's fields, or nil when
// the hash is gone, and always drops the id from the global indexes so a
// dangling id (a hash expired by its safety TTL) is cleaned up too.
const luaEnd = luaFields + `
local base = ARGV[1]
local function finish(id)
  redis.call('ZREM', base .. 'sx', id)
  redis.call('ZREM', base .. 'si', id)
  local k = base .. 's:' .. id
  local f = redis.call('HMGET', k, unpack(fields))
  if not f[1] then return nil end
  redis.call('DEL', k, base .. 'sh:' .. f[2])
  redis.call('ZREM', base .. 'u:' .. f[3], id)
  return f
end
`

// luaNow is Redis's clock in milliseconds, for safety TTLs only, and
// expireNoSooner, which moves a key's expiry later, never earlier (-1 is
// "no expiry yet", -2 "no such key").
const luaNow = `
local grace = ` + graceMS + `
local function rnow()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function expireNoSooner(k, at)
  local cur = redis.call('PEXPIRETIME', k)
  if cur ~= -2 and cur < at then redis.call('PEXPIREAT', k, at) end
end
`

// createScript: KEYS s:id, sh:hex, u:user, sx, si. ARGV base, id, hex,
// user, level, remember (1/0), created, active, expires, ip, ua.
// Returns 0 on a duplicate id or secret.
var createScript = goredis.NewScript(luaNow + `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'h', ARGV[3], 'u', ARGV[4], 'l', ARGV[5], 'r', ARGV[6],
  'c', ARGV[7], 'a', ARGV[8], 'e', ARGV[9], 'ip', ARGV[10], 'ua', ARGV[11])
redis.call('SET', KEYS[2], ARGV[2])
local at = math.max(tonumber(ARGV[9]), rnow()) + grace
redis.call('PEXPIREAT', KEYS[1], at)
redis.call('PEXPIREAT', KEYS[2], at)
redis.call('ZADD', KEYS[3], ARGV[8], ARGV[2])
expireNoSooner(KEYS[3], at)
redis.call('ZADD', KEYS[4], ARGV[9], ARGV[2])
if ARGV[6] == '0' then redis.call('ZADD', KEYS[5], ARGV[8], ARGV[2]) end
return 1
`)

// byHashScript: KEYS sh:hex. ARGV base. The session's fields, or nil.
var byHashScript = goredis.NewScript(luaFields + `
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('HMGET', ARGV[1] .. 's:' .. id, unpack(fields))
`)

// userScript: KEYS u:user. ARGV base. Every session of the user, dropping
// ids whose hash is gone.
var userScript = goredis.NewScript(luaFields + `
local out = {}
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', ARGV[1] .. 's:' .. id, unpack(fields))
  if not f[1] then redis.call('ZREM', KEYS[1], id) else out[#out + 1] = f end
end
return out
`)

// touchScript: KEYS s:id, si. ARGV base, id, at. Moves last activity
// forward only, on an existing session only.
var touchScript = goredis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'a', 'u', 'r')
if not v[1] or tonumber(v[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'a', ARGV[3])
redis.call('ZADD', ARGV[1] .. 'u:' .. v[2], 'XX', ARGV[3], ARGV[2])
if v[3] == '0' then redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[2]) end
return 1
`)

// rekeyScript: KEYS s:id, sh:newhex. ARGV base, id, newhex, level ("" to
// keep). Returns 0 when the session is gone, -1 when the new secret is
// another session's.
var rekeyScript = goredis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'h')
if not old then return 0 end
if old ~= ARGV[3] then
  local owner = redis.call('GET', KEYS[2])
  if owner and owner ~= ARGV[2] then return -1 end
  redis.call('DEL', ARGV[1] .. 'sh:' .. old)
  redis.call('SET', KEYS[2], ARGV[2])
  local at = redis.call('PEXPIRETIME', KEYS[1])
  if at > 0 then redis.call('PEXPIREAT', KEYS[2], at) end
  redis.call('HSET', KEYS[1], 'h', ARGV[3])
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'l', ARGV[4]) end
return 1
`)

// deleteScript: KEYS s:id, sx, si. ARGV base, id. 1 if this call ended it.
var deleteScript = goredis.NewScript(luaEnd + `
if finish(ARGV[2]) then return 1 end
return 0
`)

// deleteUserScript: KEYS u:user, sx, si. ARGV base, keep, limit. Ends up
// to limit of the user's sessions; returns {scanned, removed, sessions}.
var deleteUserScript = goredis.NewScript(luaEnd + `
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
local out, removed = {}, 0
for _, id in ipairs(ids) do
  if id ~= ARGV[2] then
    local f = finish(id)
    redis.call('ZREM', KEYS[1], id)
    removed = removed + 1
    if f then out[#out + 1] = f end
  end
end
return {#ids, removed, out}
`)

// expiredScript: KEYS sx, si. ARGV base, now, idle cutoff, limit. Ends up
// to limit sessions past their end and limit idle ones; returns {scanned,
// more, sessions} where more is 1 when either range was full.
var expiredScript = goredis.NewScript(luaEnd + `
local limit = tonumber(ARGV[4])
local a = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, limit)
local b = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, limit)
local out = {}
for _, list in ipairs({a, b}) do
  for _, id in ipairs(list) do
    local f = finish(id)
    if f then out[#out + 1] = f end
  end
end
local more = 0
if #a == limit or #b == limit then more = 1 end
return {#a + #b, more, out}
`)
