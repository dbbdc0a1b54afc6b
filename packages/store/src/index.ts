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
// registrar (location service, brute-force guard)
export {
  LocationStore,
  AuthGuardStore,
  decodeBinding,
  type Binding,
  type BindingUpdate,
  type FailureScope,
  type RegisterRequest,
  type RegisterResult,
  type RegistrationListEntry,
} from './registrar/location.js';
