export { createRedis, pingRedis, redactUrl, type RedisClient } from './client.js';
export { keySchema, type KeySchema } from './keys.js';
export {
  AdmissionStore,
  type AdmissionEvent,
  type AdmissionStoreOptions,
  type AdmissionTicket,
  type AdmitOutcome,
  type RestrictionLevels,
  type Scope,
} from './admission/store.js';
