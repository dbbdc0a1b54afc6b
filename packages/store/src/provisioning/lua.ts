/**
 * Lua scripts of the provisioning writes. Each touches the keys of ONE tenant (one hash
 * slot) or one global key, so they run on Redis Cluster too. Replies are arrays:
 * `{'OK', …}` or `{'ERR', <code>, <detail>…}`; the repository maps codes to KumoErrors.
 */
import type { RedisClient } from '../client.js';

/**
 * Put / delete one tenant entity, atomically with its contract, number-space and reference rules.
 *
 * KEYS: 1 tenant record (hash), 2 numbers (hash), 3 index (zset), 4 entity (string),
 *       5 references index (zset of `<target>|<referrer>|<field>`)
 * ARGV: 1 kind ('' = not in the number space), 2 number-space number or '', 3 mode
 *       create|update|delete, 4 json, 5 expected json (update/delete compare-and-set),
 *       6 '1' = count against `ports`, 7 contract field limit ('' = none), 8 value that must
 *       be <= that field, 9 index member (defaults to 2), 10 referrer label (`<resource>:<id>`),
 *       11 n, then n triples (number, kind, field) the entity refers to (kind `any` = an
 *       extension or a ring group), then the references index members the entity made before.
 * Delete refuses (IN_USE, with up to 50 referrers) while anything refers to the number.
 */
export const PUT_ENTITY = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'ERR', 'TENANT_NOT_FOUND'} end
if status == 'terminated' then return {'ERR', 'TENANT_TERMINATED'} end
local kind, num, mode = ARGV[1], ARGV[2], ARGV[3]
local member = ARGV[9]
if member == nil or member == '' then member = num end
local label = ARGV[10]
local n = tonumber(ARGV[11])
local firstOld = 12 + n * 3
local function dropOld()
  for i = firstOld, #ARGV do redis.call('ZREM', KEYS[5], ARGV[i]) end
end
local function addNew()
  for i = 12, 11 + n * 3, 3 do redis.call('ZADD', KEYS[5], 0, ARGV[i] .. '|' .. label .. '|' .. ARGV[i + 2]) end
end
if mode == 'delete' then
  local cur = redis.call('GET', KEYS[4])
  if not cur then return {'ERR', 'NOT_FOUND'} end
  if ARGV[5] ~= '' and cur ~= ARGV[5] then return {'ERR', 'RETRY'} end
  if kind ~= '' then
    local refs = redis.call('ZRANGEBYLEX', KEYS[5], '[' .. num .. '|', '[' .. num .. '|\\255', 'LIMIT', 0, 50)
    if refs[1] then
      local out = {'ERR', 'IN_USE'}
      for _, r in ipairs(refs) do out[#out + 1] = r end
      return out
    end
  end
  redis.call('DEL', KEYS[4])
  redis.call('ZREM', KEYS[3], member)
  if kind ~= '' and redis.call('HGET', KEYS[2], num) == kind then redis.call('HDEL', KEYS[2], num) end
  dropOld()
  return {'OK', cur}
end
for i = 12, 11 + n * 3, 3 do
  local k = redis.call('HGET', KEYS[2], ARGV[i])
  local want = ARGV[i + 1]
  local ok = (k == want) or (want == 'any' and (k == 'extension' or k == 'ringGroup'))
  if not ok then return {'ERR', 'UNKNOWN_REFERENCE', ARGV[i], want, ARGV[i + 2]} end
end
if ARGV[7] ~= '' then
  local lim = tonumber(redis.call('HGET', KEYS[1], ARGV[7]) or '0')
  if tonumber(ARGV[8]) > lim then return {'ERR', 'CONTRACT_LIMIT', ARGV[7], tostring(lim), ARGV[8]} end
end
if mode == 'create' then
  if kind ~= '' then
    local taken = redis.call('HGET', KEYS[2], num)
    if taken then return {'ERR', 'NUMBER_TAKEN', taken, num} end
  end
  if redis.call('EXISTS', KEYS[4]) == 1 then return {'ERR', 'EXISTS'} end
  if ARGV[6] == '1' then
    local ports = tonumber(redis.call('HGET', KEYS[1], 'ports') or '0')
    if redis.call('ZCARD', KEYS[3]) >= ports then return {'ERR', 'PORT_LIMIT', tostring(ports)} end
  end
  if kind ~= '' then redis.call('HSET', KEYS[2], num, kind) end
  redis.call('ZADD', KEYS[3], 0, member)
  redis.call('SET', KEYS[4], ARGV[4])
  addNew()
  return {'OK'}
end
-- update
local cur = redis.call('GET', KEYS[4])
if not cur then return {'ERR', 'NOT_FOUND'} end
if cur ~= ARGV[5] then return {'ERR', 'RETRY'} end
redis.call('SET', KEYS[4], ARGV[4])
dropOld()
addNew()
return {'OK', cur}
`;

/**
 * Create a tenant record.
 * KEYS: 1 record, 2 numbers. ARGV: 1 n, then n field/value pairs, then feature code numbers.
 */
export const CREATE_TENANT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'ERR', 'EXISTS'} end
local n = tonumber(ARGV[1])
for i = 2, 1 + n * 2, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = 2 + n * 2, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], 'feature') end
return {'OK'}
`;

/**
 * Update tenant fields under the contract rules.
 * KEYS: 1 record, 2 extensions (zset). ARGV: 1 mode patch|status, then field/value pairs.
 * `ports` may not go below the provisioned extensions; a terminated tenant is final.
 * status mode: ARGV[2] is the new status; suspend/resume/terminate transitions only.
 */
export const UPDATE_TENANT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'ERR', 'TENANT_NOT_FOUND'} end
if status == 'terminated' then return {'ERR', 'TENANT_TERMINATED'} end
if ARGV[1] == 'status' then
  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updatedAt', ARGV[3])
  return {'OK', status}
end
for i = 2, #ARGV, 2 do
  if ARGV[i] == 'ports' then
    local used = redis.call('ZCARD', KEYS[2])
    if tonumber(ARGV[i + 1]) < used then return {'ERR', 'PORTS_BELOW_PROVISIONED', tostring(used)} end
  end
end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return {'OK', status}
`;

/**
 * Replace the numbering plan.
 * KEYS: 1 record, 2 numbers, 3 plan, 4 extensions (zset), 5 ring groups (zset)
 * ARGV: 1 new plan json, 2 new extension length, 3 n old feature codes, then the old codes,
 *       then n2, the new codes, then prefixes no extension/group may start with.
 */
export const SET_PLAN = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'ERR', 'TENANT_NOT_FOUND'} end
if status == 'terminated' then return {'ERR', 'TENANT_TERMINATED'} end
local cur = redis.call('GET', KEYS[3])
local first = redis.call('ZRANGE', KEYS[4], 0, 0)
if first[1] and string.len(first[1]) ~= tonumber(ARGV[2]) then
  return {'ERR', 'PLAN_CONFLICT', 'extensionLength', first[1]}
end
local n = tonumber(ARGV[3])
local n2 = tonumber(ARGV[4 + n])
local newCodes = {}
for i = 5 + n, 4 + n + n2 do newCodes[ARGV[i]] = true end
for i = 5 + n, 4 + n + n2 do
  local k = redis.call('HGET', KEYS[2], ARGV[i])
  if k and k ~= 'feature' then return {'ERR', 'NUMBER_TAKEN', k, ARGV[i]} end
end
for i = 5 + n + n2, #ARGV do
  local p = ARGV[i]
  for _, z in ipairs({KEYS[4], KEYS[5]}) do
    local hit = redis.call('ZRANGEBYLEX', z, '[' .. p, '[' .. p .. '\\255', 'LIMIT', 0, 1)
    if hit[1] then return {'ERR', 'PLAN_CONFLICT', 'prefix', hit[1]} end
  end
end
for i = 4, 3 + n do
  if not newCodes[ARGV[i]] and redis.call('HGET', KEYS[2], ARGV[i]) == 'feature' then redis.call('HDEL', KEYS[2], ARGV[i]) end
end
for code, _ in pairs(newCodes) do redis.call('HSET', KEYS[2], code, 'feature') end
redis.call('SET', KEYS[3], ARGV[1])
return {'OK', cur or ''}
`;

/** Global index compare-and-delete. KEYS: 1 hash. ARGV: 1 field, 2 expected value. */
export const HDEL_IF = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`;

/** Delete every key of a tenant slot given explicitly. KEYS: all of them. */
export const DELETE_KEYS = `
local n = 0
for i = 1, #KEYS, 1000 do
  n = n + redis.call('UNLINK', unpack(KEYS, i, math.min(i + 999, #KEYS)))
end
return n
`;

export type LuaReply = [string, ...string[]];

export interface ProvisioningScripts {
  /** 5 keys then ARGV. */
  kumoPutEntity(...keysThenArgv: string[]): Promise<LuaReply>;
  kumoCreateTenant(record: string, numbers: string, ...argv: string[]): Promise<LuaReply>;
  kumoUpdateTenant(record: string, extensions: string, ...argv: string[]): Promise<LuaReply>;
  /** 5 keys then ARGV. */
  kumoSetPlan(...keysThenArgv: string[]): Promise<LuaReply>;
  kumoHdelIf(hash: string, field: string, expected: string): Promise<number>;
  kumoDeleteKeys(numKeys: number, ...keys: string[]): Promise<number>;
}

const defined = new WeakSet<object>();

/** Registers the scripts on a client once (EVALSHA with automatic EVAL fallback). */
export function provisioningScripts(redis: RedisClient): ProvisioningScripts {
  if (!defined.has(redis)) {
    redis.defineCommand('kumoPutEntity', { numberOfKeys: 5, lua: PUT_ENTITY });
    redis.defineCommand('kumoCreateTenant', { numberOfKeys: 2, lua: CREATE_TENANT });
    redis.defineCommand('kumoUpdateTenant', { numberOfKeys: 2, lua: UPDATE_TENANT });
    redis.defineCommand('kumoSetPlan', { numberOfKeys: 5, lua: SET_PLAN });
    redis.defineCommand('kumoHdelIf', { numberOfKeys: 1, lua: HDEL_IF });
    redis.defineCommand('kumoDeleteKeys', { lua: DELETE_KEYS });
    defined.add(redis);
  }
  return redis as unknown as ProvisioningScripts;
}
