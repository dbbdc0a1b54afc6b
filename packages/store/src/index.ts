export { createRedis, pingRedis, redactUrl, type RedisClient } from './client.js';
export { keySchema, type KeySchema } from './keys.js';
export { repairAofTail, startLocalRedis, type AofRepair, type LocalRedis, type LocalRedisOptions } from './local-server.js';
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
  gatewayIdentity,
  type DidMatch,
  type GatewayMatch,
  type Page,
  type PageQuery,
  type TrunkMatch,
} from './provisioning/directory.js';
export { ProvisioningRepo, ha1Of } from './provisioning/provisioning.js';
export { CachedDirectoryRepo, CONFIG_CACHE_FRESH_MS } from './provisioning/cached-directory.js';
export { secretBox, isSealed, type SecretBox } from './provisioning/secrets.js';
export {
  DIGEST_ALGORITHMS, buildDigestAuthorization, computeDigestResponse, computeHa1, digestHash, parseChallenge, quoteDigestParam, type DigestAlgorithm,
} from './provisioning/digest.js';
export {
  AuditRepo,
  AUDIT_GENESIS,
  DEFAULT_AUDIT_RETENTION_MS,
  SYSTEM_ACTOR,
  redactSecrets,
  type Actor,
  type AuditEntry,
  type AuditInput,
  type AuditVerification,
} from './provisioning/audit.js';
export {
  ApiKeyRepo,
  generateApiKey,
  hashApiKey,
  isWellFormedApiKey,
  type ApiKeyRecord,
  type ApiRole,
  type IssuedKey,
} from './provisioning/apikeys.js';
export {
  BILLING_GROUP,
  BillingLedger,
  CdrStreams,
  type CdrReplication,
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
// call routing (hunt state shared by sip processes)
export { HuntStateStore, STATE_TTL_MS, type HuntState } from './calls/hunt.js';
export { RingingIndex } from './calls/ringing.js';
export { GatewayHealthStore, type GatewayHealth } from './calls/gateway-health.js';
export { TrunkRegistrationStore, type TrunkRegistrationState } from './calls/trunk-registration.js';
// call records (reliability: recovery of calls of a dead sip process)
export { CallRecordStore, type CallRecord, type LegRecord, type OwnerBeat } from './calls/records.js';
// ops (traffic report, incidents, help desk, configuration history)
export { accumulateMonthTraffic, monthTrafficReport, trafficCapacity } from './ops/traffic.js';
export {
  IncidentStore,
  affectsTenant,
  periodOf,
  type Incident,
  type IncidentAction,
  type IncidentImpact,
  type IncidentPatch,
  type IncidentScope,
  type NewIncident,
  type ProbeState,
} from './ops/incidents.js';
export { DataQuotaStore, MIN_CDR_DETAIL_DAYS, type DataQuotas } from './security/quotas.js';
export { ensureProbeAccount, type ProbeAccount, type ProbeUser } from './ops/probe-account.js';
export { TicketStore, WorkStore, type Ticket, type TicketNote, type NewTicket, type TicketPatch, type Work, type NewWork, type WorkPatch } from './ops/helpdesk.js';
export { ConfigHistoryStore, CONFIG_SECTIONS, describeChange, fieldDiff, type ConfigChange, type ConfigSection, type ConfigVersion } from './ops/config-history.js';
// console (people: users, sessions, log-in lockout)
export {
  UserRepo,
  USER_ROLES,
  LOGIN_RE,
  SCRYPT_PARAMS,
  hashPassword,
  verifyPassword,
  dummyPasswordHash,
  passwordProblem,
  userView,
  type UserCreate,
  type UserLang,
  type UserRecord,
  type UserRole,
  type UserView,
} from './console/users.js';
export { SessionStore, LoginGuard, DEFAULT_LOCKOUT, type LockoutPolicy, type SessionOptions, type SessionRecord } from './console/sessions.js';
// security (api rate limits)
export { ApiRateLimits } from './security/ratelimit.js';
export {
  TenantDataLifecycle,
  DEFAULT_BILLING_RETENTION_MS,
  type PurgeResult,
  type RetentionRecord,
} from './lifecycle/tenant-data.js';
export { GrantRepo } from './security/grants.js';
export { TollFraudStore, type TollAttempt, type TollBlock, type TollStatus } from './security/toll-fraud.js';
// branch (survivable branch servers, docs/branch.md)
export {
  SiteRepo,
  applySiteConfig,
  BRANCH_STATES,
  type BranchPeriod,
  type BranchReport,
  type BranchState,
  type BranchStatus,
  type SiteCredentialOwner,
  type SiteRecord,
  type SiteValue,
} from './branch/sites.js';
export {
  loadSigningKey,
  loadVerifyKey,
  publicKeyText,
  signSnapshot,
  siteConfigHash,
  verifySnapshot,
  type SignedSnapshot,
  type SiteConfig,
  type SnapshotCheck,
  type SnapshotPayload,
} from './branch/snapshot.js';
