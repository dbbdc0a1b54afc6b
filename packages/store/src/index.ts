export { createRedis, pingRedis, redactUrl, type RedisClient } from './client.js';
export { keySchema, type KeySchema } from './keys.js';
export { startLocalRedis, type LocalRedis, type LocalRedisOptions } from './local-server.js';
export {
  BILLING_GROUP,
  BillingLedger,
  CdrStreams,
  cdrShardOf,
  compareStreamIds,
  decodeStoredCall,
  type AuditRecord,
  type BookedCall,
  type ChargeOutcome,
  type CloseMarker,
  type DeadLetter,
  type LedgerOptions,
  type StreamEntry,
} from './billing/index.js';
