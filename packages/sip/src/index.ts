export {
  CallAdmission,
  rejectionHeaders,
  type AdmissionRefusal,
  type AdmissionResult,
  type CallAdmissionOptions,
  type CallToAdmit,
} from './admission/call-admission.js';
export { createCallAdmission, type CreateCallAdmissionOptions } from './admission/create.js';
export { admissionPolicyFromConfig, admissionContractOf, trunkLimitOf, type AdmissionConfig } from './admission/policy-config.js';
export { RestrictionWatcher, type RestrictionWatcherOptions } from './admission/restrictions.js';
