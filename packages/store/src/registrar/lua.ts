/**
 * Lua scripts of the location service. Each touches one tenant's slot only (KEYS share `{t:<id>}`)
 * or one global key, so they run unchanged on Redis Cluster.
 *
 * A binding is stored as one hash field: `<expiresAtMs>|<updatedAtMs>|<cseq>|<callId>|<json>`; the
 * numeric prefix lets the script prune, order and check CSeq without decoding JSON.
 */

/**
 * KEYS[1] bindings hash of the extension, KEYS[2] tenant index (sorted set).
 * ARGV: extension, callId ('' = skip CSeq ordering checks), cseq, maxContacts, policy
 * ('replace-oldest'|'reject'), mode ('update'|'wildcard'|'query'), n, then n × (bindingId, expiresSec, json).
 * Returns { 'OK', nowMs, evicted, id1, v1, id2, v2, … } with every live binding after the update,
 * or { 'TOO_MANY', max } / { 'OUT_OF_ORDER' } without changing anything.
 */
export const REGISTER_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ext, callid, cseq = ARGV[1], ARGV[2], tonumber(ARGV[3])
local maxc, policy, mode, n = tonumber(ARGV[4]), ARGV[5], ARGV[6], tonumber(ARGV[7])
local cur, dels = {}, {}
local raw = redis.call('HGETALL', KEYS[1])
for i = 1, #raw, 2 do
  local bid, v = raw[i], raw[i + 1]
  local e, u, cs, ci = string.match(v, '^(%d+)|(%d+)|(%d+)|([^|]*)|')
  e = tonumber(e)
  if e == nil or e <= now then
    dels[#dels + 1] = bid
  else
    cur[bid] = { e = e, u = tonumber(u), cs = tonumber(cs), ci = ci, v = v }
  end
end
local evicted = 0
if mode == 'wildcard' then
  for _, b in pairs(cur) do
    if callid ~= '' and b.ci == callid and b.cs >= cseq then return { 'OUT_OF_ORDER' } end
  end
  for bid, _ in pairs(cur) do dels[#dels + 1] = bid end
  cur = {}
elseif mode == 'update' then
  local touched = {}
  for j = 0, n - 1 do
    local bid, exp, json = ARGV[8 + j * 3], tonumber(ARGV[9 + j * 3]), ARGV[10 + j * 3]
    local b = cur[bid]
    if b and callid ~= '' and b.ci == callid and b.cs >= cseq then return { 'OUT_OF_ORDER' } end
    if exp <= 0 then
      if b then cur[bid] = nil; dels[#dels + 1] = bid end
      touched[bid] = nil
    else
      local e = now + exp * 1000
      cur[bid] = { e = e, u = now, cs = cseq, ci = callid, v = e .. '|' .. now .. '|' .. cseq .. '|' .. callid .. '|' .. json, new = true }
      touched[bid] = true
    end
  end
  local count = 0
  for _ in pairs(cur) do count = count + 1 end
  if count > maxc then
    if policy == 'reject' then return { 'TOO_MANY', tostring(maxc) } end
    local cands = {}
    for bid, b in pairs(cur) do
      if not touched[bid] then cands[#cands + 1] = { bid, b.u } end
    end
    table.sort(cands, function(a, b) return a[2] < b[2] end)
    local k = 1
    while count > maxc and k <= #cands do
      cur[cands[k][1]] = nil
      dels[#dels + 1] = cands[k][1]
      count = count - 1
      evicted = evicted + 1
      k = k + 1
    end
    if count > maxc then return { 'TOO_MANY', tostring(maxc) } end
  end
end
if #dels > 0 then
  redis.call('HDEL', KEYS[1], unpack(dels))
  local members = {}
  for i, bid in ipairs(dels) do members[i] = ext .. ' ' .. bid end
  redis.call('ZREM', KEYS[2], unpack(members))
end
local out = { 'OK', tostring(now), tostring(evicted) }
local maxe = 0
for bid, b in pairs(cur) do
  if b.new then
    redis.call('HSET', KEYS[1], bid, b.v)
    redis.call('ZADD', KEYS[2], b.e, ext .. ' ' .. bid)
  end
  if b.e > maxe then maxe = b.e end
  out[#out + 1] = bid
  out[#out + 1] = b.v
end
if maxe > 0 then redis.call('PEXPIREAT', KEYS[1], maxe) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if top[2] then redis.call('PEXPIREAT', KEYS[2], top[2]) end
return out
`;

/**
 * Sliding-window failure counter with a block. KEYS[1] failures sorted set, KEYS[2] block key.
 * ARGV: windowMs, threshold, blockMs, member (unique per attempt). Returns {count, blockedNow(0|1)}.
 */
export const FAIL_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, threshold, blockms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
local count = redis.call('ZCARD', KEYS[1])
if count >= threshold then
  local fresh = redis.call('SET', KEYS[2], tostring(now), 'PX', blockms, 'NX')
  if fresh then
    redis.call('DEL', KEYS[1])
    return { count, 1 }
  end
end
return { count, 0 }
`;

/**
 * Nonce-count replay guard. KEYS[1] the nonce's counter. ARGV: nc, ttlMs.
 * Returns 1 when nc is higher than any seen for this nonce (and records it), else 0.
 */
export const NONCE_COUNT_LUA = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local nc = tonumber(ARGV[1])
if nc <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
`;

/**
 * What authenticating a request of one tenant's extension reads, in one command: whether the extension's
 * block and the (extension, address) block are set, and the device's digest state; with a fourth key (the source
 * address's block, a global key: given only where one Redis holds every key, not on a Cluster where it is in another
 * slot), whether that is set too.
 * KEYS: aor block, pair block, device state[, address block]. Returns { aor blocked 0/1, pair blocked 0/1, learned,
 * pending, address blocked 0/1 (0 without the fourth key) }.
 */
export const AUTH_STATE_LUA = `
local d = redis.call('HMGET', KEYS[3], 'learned', 'pending')
local ip = 0
if #KEYS >= 4 then ip = redis.call('EXISTS', KEYS[4]) end
return { redis.call('EXISTS', KEYS[1]), redis.call('EXISTS', KEYS[2]), d[1], d[2], ip }
`;

/** The bindings of several extensions of one tenant in one command. KEYS: their bindings hashes. Returns one HGETALL reply per key. */
export const BINDINGS_OF_LUA = `
local out = {}
for i = 1, #KEYS do out[i] = redis.call('HGETALL', KEYS[i]) end
return out
`;
