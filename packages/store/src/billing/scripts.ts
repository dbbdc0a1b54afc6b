/**
 * Lua scripts of the billing ledger. Each touches the keys of ONE tenant (hash tag
 * `{t:<id>}`): KEYS[1] is the tenant's billing key base (`<prefix>:{t:<id>}:bill`) and the
 * per-month keys are derived from it exactly as keys.ts builds them (`:calls:<M>`, `:idx:<M>`,
 * `:tot:<M>`), so they share the slot. The `#!lua` shebang makes Redis refuse the script up
 * front when out of memory, instead of failing after a partial write.
 */
import { LuaScript } from '../script.js';

const MONTH_HELPERS = `
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end
local function next_month(m)
  local y = tonumber(string.sub(m, 1, 4))
  local mo = tonumber(string.sub(m, 6, 7)) + 1
  if mo == 13 then mo = 1; y = y + 1 end
  return string.format('%04d-%02d', y, mo)
end
-- first instant after the JST month m, in epoch ms (JST = UTC+9, no DST)
local function month_end_ms(m)
  local n = next_month(m)
  return days_from_civil(tonumber(string.sub(n, 1, 4)), tonumber(string.sub(n, 6, 7)), 1) * 86400000 - 32400000
end
`;

/**
 * Charges a batch of CDRs of one tenant, each exactly once.
 * KEYS: [base, closedHash]
 * ARGV: graceMs, n, then 12 per CDR: cdrId, cdrMonth, score(startedAt), body (detail JSON without
 *       its opening brace), class, ext, dept, trunk (each `=<urlencoded value>` or '' when absent),
 *       answered (1/0), billable seconds, charge, tax rate bp.
 * For each CDR: if it is already booked in its month or any later month it was carried into,
 * it is a duplicate. Otherwise it is booked into its own month (section `main`) or, when that
 * month is closed (marker present, or Redis time past month end + grace: the marker is then
 * set), into the first open month after it (section `adj`). The month counters get the same
 * increments as `totalsIncrements` in @kumo/domain (the month-close check recomputes them
 * from the per-call records and compares).
 * Returns per CDR `dup|<month>` or `<month>|main` / `<month>|adj`.
 */
export const CHARGE_ARGS_PER_CDR = 12;
export const chargeScript = new LuaScript(`#!lua
${MONTH_HELPERS}
local base = KEYS[1]
local closed_key = KEYS[2]
local grace = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local closed_cache = {}
local function is_closed(m)
  local c = closed_cache[m]
  if c ~= nil then return c end
  if redis.call('HEXISTS', closed_key, m) == 1 then
    c = true
  elseif now >= month_end_ms(m) + grace then
    c = true
    redis.call('HSETNX', closed_key, m, string.format('{"closedAt":%d,"revision":0,"by":"time"}', now))
  else
    c = false
  end
  closed_cache[m] = c
  return c
end
local out = {}
local incs = {}
local taxes = {}
local writes = {}   -- target month -> { hset = {field, value, ...}, zadd = {score, member, ...} }
local booked = {}   -- month|id booked by this call (duplicates inside one batch)
-- counters per (section|dimension|value|): {calls, answered, seconds, charge}, summed over the batch;
-- the field names are built once per distinct prefix at the end
local function count(acc, b, answered, secs, charge)
  local r = acc[b]
  if r == nil then r = { 0, 0, 0, 0 }; acc[b] = r end
  r[1] = r[1] + 1
  if answered then r[2] = r[2] + 1; r[3] = r[3] + secs end
  r[4] = r[4] + charge
end
local function is_booked(month, id)
  return booked[month .. '|' .. id] or redis.call('HEXISTS', base .. ':calls:' .. month, id) == 1
end
local i = 3
for k = 1, n do
  local id, m, score, body = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local cls, ext, dept, trunk = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local answered = ARGV[i + 8] == '1'
  local secs, charge, bp = tonumber(ARGV[i + 9]), tonumber(ARGV[i + 10]), ARGV[i + 11]
  i = i + 12
  local target = m
  local dup = false
  local hops = 0
  while true do
    if is_booked(target, id) then dup = true; break end
    if not is_closed(target) then break end
    target = next_month(target)
    hops = hops + 1
    if hops > 1200 then return redis.error_reply('KUMO_ERR_BILLING_NO_OPEN_MONTH no open month after ' .. m) end
  end
  if dup then
    out[k] = 'dup|' .. target
  else
    local section = 'main'
    if target ~= m then section = 'adj' end
    booked[target .. '|' .. id] = true
    local w = writes[target]
    if w == nil then w = { hset = {}, zadd = {} }; writes[target] = w end
    local h = w.hset
    h[#h + 1] = id
    h[#h + 1] = '{"section":"' .. section .. '",' .. body
    local z = w.zadd
    z[#z + 1] = score
    z[#z + 1] = id
    local tk = base .. ':tot:' .. target
    local acc = incs[tk]
    if acc == nil then acc = {}; incs[tk] = acc end
    local s = section .. '|'
    count(acc, s .. 'all||', answered, secs, charge)
    count(acc, s .. 'class|' .. cls .. '|', answered, secs, charge)
    if ext ~= '' then count(acc, s .. 'ext|' .. string.sub(ext, 2) .. '|', answered, secs, charge) end
    if dept ~= '' then count(acc, s .. 'dept|' .. string.sub(dept, 2) .. '|', answered, secs, charge) end
    if trunk ~= '' then count(acc, s .. 'trunk|' .. string.sub(trunk, 2) .. '|', answered, secs, charge) end
    if charge > 0 then
      local f = s .. 'tax|' .. bp .. '|c'
      local tx = taxes[tk]
      if tx == nil then tx = {}; taxes[tk] = tx end
      tx[f] = (tx[f] or 0) + charge
    end
    out[k] = target .. '|' .. section
  end
end
-- one multi-field HSET and one multi-member ZADD per month (in chunks), then the counters
local function chunked(cmd, key, list)
  for j = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, j, math.min(j + 999, #list)))
  end
end
for month, w in pairs(writes) do
  chunked('HSET', base .. ':calls:' .. month, w.hset)
  chunked('ZADD', base .. ':idx:' .. month, w.zadd)
end
for tk, acc in pairs(incs) do
  for b, r in pairs(acc) do
    redis.call('HINCRBY', tk, b .. 'n', r[1])
    if r[2] > 0 then redis.call('HINCRBY', tk, b .. 'a', r[2]) end
    if r[3] > 0 then redis.call('HINCRBY', tk, b .. 's', r[3]) end
    if r[4] > 0 then redis.call('HINCRBY', tk, b .. 'c', r[4]) end
  end
end
for tk, tx in pairs(taxes) do
  for f, v in pairs(tx) do redis.call('HINCRBY', tk, f, v) end
end
return out
`);

/**
 * Replaces stored per-call charges of one month after re-rating, applying the counter
 * differences; a call whose stored detail changed since it was read is skipped (reported).
 * KEYS: [callsHash, totalsHash]
 * ARGV: n, then per call: cdrId, expectedOld, newValue, nf, nf pairs (full field, delta).
 * Returns {changed, skipped}.
 */
export const rerateScript = new LuaScript(`#!lua
local n = tonumber(ARGV[1])
local i = 2
local changed, skipped = 0, 0
for k = 1, n do
  local id, old, new, nf = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local f0 = i + 4
  i = f0 + nf * 2
  if redis.call('HGET', KEYS[1], id) ~= old then
    skipped = skipped + 1
  elseif old ~= new then
    redis.call('HSET', KEYS[1], id, new)
    for j = f0, f0 + nf * 2 - 1, 2 do
      local d = tonumber(ARGV[j + 1])
      if d ~= 0 then
        if redis.call('HINCRBY', KEYS[2], ARGV[j], d) == 0 then redis.call('HDEL', KEYS[2], ARGV[j]) end
      end
    end
    changed = changed + 1
  end
end
return {changed, skipped}
`);

/**
 * Closes a month for one tenant (idempotent) and records the close check.
 * KEYS: [closedHash]  ARGV: month, checkJson ('' to only close; else fields merged into the marker + checkedAt)
 * Returns the marker JSON.
 */
export const closeScript = new LuaScript(`#!lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local marker
if cur then marker = cjson.decode(cur) else marker = { closedAt = now, revision = 0, by = 'sweep' } end
if ARGV[2] ~= '' then
  local check = cjson.decode(ARGV[2])
  for k, v in pairs(check) do marker[k] = v end
  marker.checkedAt = now
end
local s = cjson.encode(marker)
redis.call('HSET', KEYS[1], ARGV[1], s)
return s
`);
