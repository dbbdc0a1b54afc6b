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
  optional,
  type ConfigOf,
  type Env,
  type HostPort,
  type Parser,
  type Setting,
  type Spec,
} from './spec.js';
export { commonSpec } from './sections/common.js';
export { admissionSpec } from './sections/admission.js';
export { apiSpec } from './sections/api.js';
export { allSpecs, renderConfigDoc } from './doc.js';
