export { KumoError, isKumoError } from './errors.js';
export { createLogger, silentLogger, REDACT_PATHS, type Logger, type LoggerSettings } from './logger.js';
export { Lifecycle, type Closer } from './shutdown.js';
export { createRegistry } from './metrics/registry.js';
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
