export { KumoError, isKumoError } from './errors.js';
export { createLogger, silentLogger, REDACT_PATHS, type Logger, type LoggerSettings } from './logger.js';
export { Lifecycle, type Closer } from './shutdown.js';
export { createRegistry } from './metrics/registry.js';
export { createBillingMetrics, type BillingMetrics } from './metrics/billing.js';
export { startOpsServer, type OpsServerOptions } from './http.js';
export type { Env, ProcessContext, ProcessEntry } from './process.js';
export {
  createAdmissionMetrics,
  ADMISSION_REASON_LABELS,
  type AdmissionMetrics,
  type AdmissionReasonLabel,
} from './metrics/admission.js';
export { createOverloadDetector, type OverloadDetector, type OverloadDetectorOptions } from './overload.js';
export { createApiMetrics, type ApiMetrics } from './metrics/api.js';
export { createEngineMetrics, metricMethod, statusClass, ENGINE_METRIC_METHODS, type EngineMetrics } from './metrics/engine.js';
export {
  createSipMetrics,
  REGISTER_OUTCOMES,
  AUTH_FAILURE_REASONS,
  MAX_TENANT_LABELS,
  type SipMetrics,
  type RegisterOutcome,
  type AuthFailureReason,
  type BlockScope,
} from './metrics/sip.js';
export { createTrunkMetrics, type TrunkMetrics } from './metrics/trunks.js';
export { createReliabilityMetrics, SYSTEM_END_CAUSES, type ReliabilityMetrics } from './metrics/reliability.js';
export { createSecurityMetrics, type SecurityMetrics } from './metrics/security.js';
// --- ops: call metrics (sip) and the ops process ---
export {
  createCallMetrics,
  endCauseOf,
  END_CAUSES,
  CALL_DIRECTIONS,
  CALL_DISPOSITIONS,
  MAX_CALL_TENANT_LABELS,
  type CallMetrics,
  type CallEnd,
} from './metrics/calls.js';
export { createOpsMetrics, PROBE_KINDS, REGISTRATION_STATES, REGISTRATION_TRANSPORTS, type OpsMetrics, type ProbeKind } from './metrics/ops.js';
// --- branch (survivable branch servers) ---
export { createBranchCloudMetrics, createBranchMetrics, BRANCH_VIEW_STATES, type BranchCloudMetrics, type BranchSiteView } from './metrics/branch.js';
