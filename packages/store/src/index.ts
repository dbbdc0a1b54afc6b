export { createRedis, pingRedis, redactUrl, type RedisClient } from './client.js';
export { keySchema, type KeySchema } from './keys.js';
// provisioning (api)
export {
  DirectoryRepo,
  didKeyOf,
  tenantFromHash,
  type DidMatch,
  type Page,
  type PageQuery,
  type TrunkMatch,
} from './provisioning/directory.js';
