export {
  ConfigError,
  readConfig,
  readSpec,
  str,
  int,
  num,
  bool,
  oneOf,
  hostPort,
  list,
  url,
  redisUrl,
  optional,
  type ConfigOf,
  type Env,
  type HostPort,
  type Parser,
  type Setting,
  type Spec,
} from './spec.js';
export { commonSpec } from './sections/common.js';
export { upSpec } from './sections/up.js';
export { engineSpec, sipListen, type SipListen } from './sections/engine.js';
export { sipSpec } from './sections/sip.js';
export { admissionSpec } from './sections/admission.js';
export { apiSpec } from './sections/api.js';
export { routingSpec } from './sections/routing.js';
export { billingSpec, cdrStreamSpec } from './sections/billing.js';
export { opsSpec } from './sections/ops.js';
export { branchCloudSpec, branchSpec } from './sections/branch.js';
export { allSpecs, renderConfigDoc } from './doc.js';
export { isLoopbackHost, isPlaceholderSecret, placeholderSecretProblems } from './secrets.js';
