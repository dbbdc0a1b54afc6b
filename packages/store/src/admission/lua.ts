/**
 * Admission Lua scripts. Each one touches the keys of one tenant (one `{t:<id>}` slot) or
 * one global key, so it runs atomically in standalone Redis, Sentinel and Cluster.
 *
 * `ADMIT` is the Redis twin of `evaluatePlan` in `@kumo/domain` (same checks, same order,
 * same arithmetic); test/integration/admission-conformance.test.ts proves they agree.
 */

/** Shared Lua helpers: the clock and number formatting. */
const PRELUDE = `
local function clock(arg)
  local n = tonumber(arg)
  if n then return n end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n) return string.format('%d', n) end
local function num(n) return string.format('%.17g', n) end
`;

/**
 * KEYS: 1 calls, 2 trunk zset (any tenant key when no trunk), 3 bucket, 4 flood failures
 *       (calls that ended unanswered), 5 flood completions (answered), 6 flood until, 7 lease record, 8 events, 9 trunks set, 10 event gate,
 *       11 tenant trunk calls
 * ARGV: 1 now ('' = server clock), 2 callId, 3 leaseTtlMs, 4 portLimit (-1: count only),
 *       5 trunkId ('' = none), 6 trunkLimit, 7 ratePerSec (-1: none), 8 burst,
 *       9 floodSource ('' = exempt), 10 windowMs, 11 attemptThreshold, 12 minCompletionRatio,
 *       13 coolingMs, 14 floodRejectStatus, 15 retryAfter port, 16 retryAfter trunk,
 *       17 priority, 18 events maxlen, 19 event gate ms, 20 max attempts kept per source,
 *       21 tenant trunk limit (-1: none)
 * Returns {admitted 0|1, reason, status, retryAfterSeconds, tripped 0|1, activeCalls, now, tokens}
 */
export const ADMIT = `${PRELUDE}
local now = clock(ARGV[1])
local callId, ttl = ARGV[2], tonumber(ARGV[3])
local portLimit = tonumber(ARGV[4])
local trunkId, trunkLimit = ARGV[5], tonumber(ARGV[6])
local rate, burst = tonumber(ARGV[7]), tonumber(ARGV[8])
local source, window, threshold, ratio = ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local cooling, floodStatus = tonumber(ARGV[13]), tonumber(ARGV[14])
local raPort, raTrunk, prio = tonumber(ARGV[15]), tonumber(ARGV[16]), ARGV[17]
local maxlen, gateMs, maxAttempts = ARGV[18], tonumber(ARGV[19]), tonumber(ARGV[20])
local tenantTrunkLimit = tonumber(ARGV[21])

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], callId) then
  return {1, 'duplicate', 0, 0, 0, redis.call('ZCARD', KEYS[1]), int(now), ''}
end
local active = redis.call('ZCARD', KEYS[1])

local function event(kind, extra)
  local args = {'XADD', KEYS[8], 'MAXLEN', '~', maxlen, '*', 'type', kind, 'at', int(now)}
  for i = 1, #extra do args[#args + 1] = extra[i] end
  redis.call(unpack(args))
end
local function gated(reason, extra)
  local last = tonumber(redis.call('HGET', KEYS[10], reason))
  if last == nil or now - last >= gateMs or now < last then
    redis.call('HSET', KEYS[10], reason, int(now))
    redis.call('PEXPIRE', KEYS[10], gateMs * 2)
    event(reason, extra)
  end
end
local function refuse(status, reason, ra, tripped)
  return {0, reason, status, ra, tripped, active, int(now), ''}
end

-- flood guard
if source ~= '' then
  local untilMs = tonumber(redis.call('GET', KEYS[6]))
  if untilMs and untilMs > now then
    return refuse(floodStatus, 'incomplete-call-flood', math.max(1, math.ceil((untilMs - now) / 1000)), 0)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - window)
  -- attempts = finished attempts (failed + answered); calls still in progress are not judged
  local c = redis.call('ZCARD', KEYS[5])
  local a = redis.call('ZCARD', KEYS[4]) + c
  if a > threshold and c < a * ratio then
    local u = now + cooling
    redis.call('SET', KEYS[6], int(u), 'PX', cooling)
    redis.call('DEL', KEYS[4], KEYS[5])
    event('incomplete-call-flood', {'source', source, 'until', int(u), 'attempts', a, 'completions', c})
    return refuse(floodStatus, 'incomplete-call-flood', math.max(1, math.ceil(cooling / 1000)), 1)
  end
end

-- ports
if portLimit >= 0 and active >= portLimit then
  gated('port-limit', {'ports', portLimit})
  return refuse(503, 'port-limit', raPort, 0)
end

-- trunk channels
if trunkId ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= trunkLimit then
    gated('trunk-channels', {'trunk', trunkId, 'channels', trunkLimit})
    return refuse(503, 'trunk-channels', raTrunk, 0)
  end
  if tenantTrunkLimit >= 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[11], '-inf', now)
    if redis.call('ZCARD', KEYS[11]) >= tenantTrunkLimit then
      gated('trunk-channels', {'trunk', '*', 'channels', tenantTrunkLimit})
      return refuse(503, 'trunk-channels', raTrunk, 0)
    end
  end
end

-- call rate
local tokensOut = ''
if rate > 0 then
  local b = redis.call('HMGET', KEYS[3], 'tokens', 'ts')
  local tk, ts = tonumber(b[1]), tonumber(b[2])
  if tk == nil or ts == nil then
    tk, ts = burst, now
  else
    local el = now - ts
    if el < 0 then el = 0 end
    tk = math.min(burst, tk + (el * rate) / 1000)
    if now > ts then ts = now end
  end
  if tk < 1 then
    gated('rate-limit', {'callsPerSecond', num(rate)})
    return refuse(503, 'rate-limit', math.max(1, math.ceil((1 - tk) / rate)), 0)
  end
  tk = tk - 1
  tokensOut = num(tk)
  redis.call('HSET', KEYS[3], 'tokens', tokensOut, 'ts', int(ts))
  redis.call('PEXPIRE', KEYS[3], math.ceil(burst / rate * 1000) + 1000)
end

-- take the leases
local exp = now + ttl
redis.call('ZADD', KEYS[1], int(exp), callId)
if trunkId ~= '' then
  redis.call('ZADD', KEYS[2], int(exp), callId)
  redis.call('ZADD', KEYS[11], int(exp), callId)
  redis.call('SADD', KEYS[9], trunkId)
end
redis.call('HSET', KEYS[7], 'trunk', trunkId, 'source', source, 'priority', prio, 'at', int(now))
redis.call('PEXPIRE', KEYS[7], ttl)
return {1, 'admitted', 0, 0, 0, active + 1, int(now), tokensOut}
`;

/**
 * Takes a trunk channel for an already admitted call (outbound trunk chosen after routing).
 * KEYS: 1 trunk zset, 2 lease record, 3 trunks set, 4 events, 5 event gate, 6 tenant trunk calls
 * ARGV: 1 now, 2 callId, 3 trunkId, 4 limit, 5 leaseTtlMs, 6 events maxlen, 7 gate ms,
 *       8 tenant trunk limit (-1: none)
 * Returns {taken 0|1, reason, channelsInUse}
 */
export const LEASE_TRUNK = `${PRELUDE}
local now = clock(ARGV[1])
local callId, trunkId, limit, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], callId) then return {1, 'duplicate', redis.call('ZCARD', KEYS[1])} end
local n = redis.call('ZCARD', KEYS[1])
local tenantLimit = tonumber(ARGV[8])
local all = 0
if tenantLimit >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
  all = redis.call('ZCARD', KEYS[6])
end
if n >= limit or (tenantLimit >= 0 and all >= tenantLimit) then
  local gateMs = tonumber(ARGV[7])
  local last = tonumber(redis.call('HGET', KEYS[5], 'trunk-channels'))
  if last == nil or now - last >= gateMs or now < last then
    redis.call('HSET', KEYS[5], 'trunk-channels', int(now))
    redis.call('PEXPIRE', KEYS[5], gateMs * 2)
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'type', 'trunk-channels', 'at', int(now), 'trunk', trunkId, 'channels', limit)
  end
  return {0, 'trunk-channels', n}
end
local exp = now + ttl
local pttl = redis.call('PTTL', KEYS[2])
if pttl > 0 then exp = now + pttl end
redis.call('ZADD', KEYS[1], int(exp), callId)
redis.call('ZADD', KEYS[6], int(exp), callId)
redis.call('SADD', KEYS[3], trunkId)
if pttl > 0 then redis.call('HSET', KEYS[2], 'trunk', trunkId) end
return {1, 'admitted', n + 1}
`;

/**
 * Releases a call's leases; idempotent. The first release of a call with a flood-guard source
 * records how it ended: answered (completions) or not (failures).
 * KEYS: 1 calls, 2 lease record, 3 trunk zset (or the lease record again when none), 4 tenant trunk calls,
 *       5 flood failures, 6 flood completions (any tenant key when no source)
 * ARGV: 1 callId, 2 has trunk 0|1, 3 flood source '' | name, 4 answered 0|1, 5 now, 6 windowMs, 7 max kept
 * Returns 1 when a port was held.
 */
export const RELEASE = `${PRELUDE}
local held = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if ARGV[2] == '1' then redis.call('ZREM', KEYS[3], ARGV[1]) end
redis.call('DEL', KEYS[2])
if held == 1 and ARGV[3] ~= '' then
  local now, window, maxKept = clock(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
  local key = KEYS[5]
  if ARGV[4] == '1' or redis.call('ZSCORE', KEYS[6], ARGV[1]) then key = KEYS[6] end
  redis.call('ZADD', key, 'NX', int(now), ARGV[1])
  local n = redis.call('ZCARD', key)
  if n > maxKept then redis.call('ZREMRANGEBYRANK', key, 0, n - maxKept - 1) end
  redis.call('PEXPIRE', key, window)
end
return held
`;

/**
 * Releases only the trunk channel (failover to the next trunk).
 * KEYS: 1 trunk zset, 2 lease record, 3 tenant trunk calls. ARGV: 1 callId
 */
export const RELEASE_TRUNK = `
local held = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], 'trunk', '') end
return held
`;

/**
 * Extends the leases of calls still in progress; a lease whose record is gone (expired) is lost.
 * KEYS: 1 calls, 2 tenant trunk calls, then per call: lease record, trunk zset (or the lease record again)
 * ARGV: 1 now, 2 leaseTtlMs, then per call: callId, has trunk 0|1
 * Returns the call ids whose leases were lost.
 */
export const RENEW = `${PRELUDE}
local now = clock(ARGV[1])
local ttl = tonumber(ARGV[2])
local exp = int(now + ttl)
local lost = {}
local n = (#ARGV - 2) / 2
for i = 1, n do
  local callId, hasTrunk = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local rec, trunk = KEYS[2 * i + 1], KEYS[2 * i + 2]
  if redis.call('EXISTS', rec) == 1 and redis.call('ZSCORE', KEYS[1], callId) then
    redis.call('ZADD', KEYS[1], 'XX', exp, callId)
    if hasTrunk == '1' then
      redis.call('ZADD', trunk, 'XX', exp, callId)
      redis.call('ZADD', KEYS[2], 'XX', exp, callId)
    end
    redis.call('PEXPIRE', rec, ttl)
  else
    lost[#lost + 1] = callId
    redis.call('ZREM', KEYS[1], callId)
    redis.call('ZREM', KEYS[2], callId)
    if hasTrunk == '1' then redis.call('ZREM', trunk, callId) end
  end
end
return lost
`;

/**
 * Removes expired leases of one tenant.
 * KEYS: 1 calls, 2 trunks set, 3 tenant trunk calls, then one trunk zset per trunk id. ARGV: 1 now, then the trunk ids.
 * Returns {expired port leases, expired channel leases}.
 */
export const SWEEP = `${PRELUDE}
local now = clock(ARGV[1])
local ports = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local channels = 0
for i = 4, #KEYS do
  channels = channels + redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('EXISTS', KEYS[i]) == 0 then redis.call('SREM', KEYS[2], ARGV[i - 2]) end
end
return {ports, channels}
`;

/**
 * Records an answered call for its flood-guard source.
 * KEYS: 1 completions zset. ARGV: 1 now, 2 callId, 3 windowMs
 */
export const COMPLETE = `${PRELUDE}
local now = clock(ARGV[1])
redis.call('ZADD', KEYS[1], 'NX', int(now), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
`;

/**
 * A token bucket on one key (REGISTER rate per source).
 * KEYS: 1 bucket. ARGV: 1 now, 2 perSecond, 3 burst. Returns {allowed 0|1, retryAfterSeconds}.
 */
export const TAKE_TOKEN = `${PRELUDE}
local now = clock(ARGV[1])
local rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tk, ts = tonumber(b[1]), tonumber(b[2])
if tk == nil or ts == nil then
  tk, ts = burst, now
else
  local el = now - ts
  if el < 0 then el = 0 end
  tk = math.min(burst, tk + (el * rate) / 1000)
  if now > ts then ts = now end
end
if tk < 1 then return {0, math.max(1, math.ceil((1 - tk) / rate))} end
redis.call('HSET', KEYS[1], 'tokens', num(tk - 1), 'ts', int(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {1, 0}
`;
