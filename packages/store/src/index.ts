export { createRedis, pingRedis, redactUrl, type RedisClient } from './client.js';
export { keySchema, type KeySchema } from './keys.js';
export {
  AdmissionStore,
  type AdmissionEvent,
  type AdmissionStoreOptions,
  type AdmissionTicket,
  type AdmitOutcome,
  type Scope,
} from './admission/store.js';
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
export { ProvisioningRepo, ha1Of } from './provisioning/provisioning.js';
export { AuditRepo, SYSTEM_ACTOR, redactSecrets, type Actor, type AuditEntry } from './provisioning/audit.js';
export {
  ApiKeyRepo,
  generateApiKey,
  hashApiKey,
  isWellFormedApiKey,
  type ApiKeyRecord,
  type ApiRole,
  type IssuedKey,
} from './provisioning/apikeys.js';
