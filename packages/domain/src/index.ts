export { stableId } from './hash.js';
export {
  buildCdr,
  cdrIdFor,
  factsEndedAt,
  dispositionOf,
  type CallDirection,
  type CallFacts,
  type Cdr,
  type Disposition,
  type HangupBy,
  type EndCause,
  type PartyFacts,
} from './cdr.js';
export {
  admitCall,
  planAdmission,
  evaluatePlan,
  isAdmissionPlan,
  refillBucket,
  floodTrips,
  restrictionShare,
  trunkLimitFor,
  tenantTrunkLimitFor,
  isRejectReason,
  REJECT_REASONS,
  DEFAULT_ADMISSION_POLICY,
  type AdmissionContract,
  type AdmissionCounters,
  type AdmissionDecision,
  type AdmissionDirection,
  type AdmissionPlan,
  type AdmissionPolicy,
  type AdmissionRequest,
  type CallPriority,
  type FloodGuardSettings,
  type FloodState,
  type Lease,
  type RejectReason,
  type Rejection,
  type TokenBucketState,
  type TrunkLimit,
} from './admission/policy.js';
export { classifyCall, isEmergencyNumber, admissionSample, type PriorityFacts } from './admission/classify.js';
// provisioning (api): tenants, extensions, groups, trunks, DIDs, numbering plan
export * from './provisioning/index.js';
// routing (call control): numbering plan, permissions, planRoute, hunt strategies, failover
export * from './routing/index.js';
export * from './rating/index.js';
// security: gateway address classes, operator grants, caller-ID rules, toll-fraud guard
export * from './security/index.js';
// traffic (ops): Erlang-B, busy hour, the traffic report
export * from './traffic/index.js';
// SLA (ops): Article 33 evidence
export * from './sla/index.js';
// ops: help desk tickets and maintenance works
export * from './ops/helpdesk.js';
export * from './ops/probe-account.js';
