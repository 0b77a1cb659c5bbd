package redis

import goredis "github.com/redis/go-redis/v9"

// The token scripts keep the denylist and the index of recorded access
// tokens (see the key layout in redis.go). ARGV[1] is the key base and
// ARGV[2] a caller's time or expiry in milliseconds.

// luaTokens: deny(jti, exp) puts a token on the denylist until exp,
// keeping a later expiry already there; forget(jti) drops a token's record
// from every index.
const luaTokens = luaNow + `
local base = ARGV[1]
local now = rnow()
local function deny(jti, exp)
  local k = base .. 'deny:' .. jti
  local cur = redis.call('GET', k)
  if cur and tonumber(cur) >= exp then return end
  redis.call('SET', k, string.format('%d', exp), 'PXAT', math.max(exp, now) + grace)
  redis.call('ZADD', base .. 'dx', exp, jti)
end
local function forget(jti)
  local v = redis.call('HGET', base .. 'atr', jti)
  if v then
    local n, rest = string.match(v, '^(%d+):(.*)$')
    n = tonumber(n)
    redis.call('ZREM', base .. 'at:s:' .. string.sub(rest, 1, n), jti)
    redis.call('ZREM', base .. 'at:u:' .. string.sub(rest, n + 1), jti)
  end
  redis.call('ZREM', base .. 'atx', jti)
  redis.call('HDEL', base .. 'atr', jti)
end
`

// recordScript: KEYS at:s:sid, at:u:user, atx, atr. ARGV base, exp, jti,
// owner (len(sid) ":" sid user). A jti already recorded is left alone.
var recordScript = goredis.NewScript(luaTokens + `
if redis.call('HEXISTS', KEYS[4], ARGV[3]) == 1 then return 0 end
redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
local at = math.max(tonumber(ARGV[2]), now) + grace
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
  expireNoSooner(KEYS[i], at)
end
return 1
`)

// denyScript: KEYS deny:jti, dx. ARGV base, exp, jti.
var denyScript = goredis.NewScript(luaTokens + `
deny(ARGV[3], tonumber(ARGV[2]))
return 1
`)

// denySessionsScript: KEYS dx, at:s:sid… ARGV base, now. Denies the
// sessions' tokens live after now and drops all their records.
var denySessionsScript = goredis.NewScript(luaTokens + `
for i = 2, #KEYS do
  local list = redis.call('ZRANGEBYSCORE', KEYS[i], '(' .. ARGV[2], '+inf', 'WITHSCORES')
  for j = 1, #list, 2 do deny(list[j], tonumber(list[j + 1])) end
  for _, jti in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do forget(jti) end
  redis.call('DEL', KEYS[i])
end
return 1
`)

// denyUserScript: KEYS at:u:user, dx. ARGV base, now, limit. Denies up to
// limit of the user's tokens live after now and drops their records;
// returns how many records it looked at.
var denyUserScript = goredis.NewScript(luaTokens + `
local list = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1, 'WITHSCORES')
for j = 1, #list, 2 do
  local exp = tonumber(list[j + 1])
  if exp > tonumber(ARGV[2]) then deny(list[j], exp) end
  forget(list[j])
  redis.call('ZREM', KEYS[1], list[j])
end
return #list / 2
`)

// pruneTokensScript: KEYS atx, atr, dx. ARGV base, now, limit. Drops up to
// limit records and denylist entries that expired at or before now;
// returns 1 while there may be more.
var pruneTokensScript = goredis.NewScript(luaTokens + `
local limit = tonumber(ARGV[3])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, limit)
for _, jti in ipairs(old) do forget(jti) end
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[2], 'LIMIT', 0, limit)
for _, jti in ipairs(gone) do
  local k = base .. 'deny:' .. jti
  local cur = redis.call('GET', k)
  if cur and tonumber(cur) <= tonumber(ARGV[2]) then redis.call('DEL', k) end
  redis.call('ZREM', KEYS[3], jti)
end
if #old == limit or #gone == limit then return 1 end
return 0
`)
