export { freePort, reservePorts, testPortRange, waitPortBound } from './ports.js';
export { lintScenario, resolveBranchRefs, scenarioElements, type ScenarioElement } from './scenario.js';
export {
  SDP,
  carrierRegistrar,
  gatewayUas,
  optionsPing,
  register,
  reply,
  scenario,
  uacCall,
  uasAnswer,
  uasInDialog,
  uasRingCancel,
  uasTransferor,
  type ReplyOptions,
  type UacCall,
  type UasAnswer,
} from './sipp-scenarios.js';
export { startRedis, type RedisHandle, type RedisOptions } from './redis.js';
export { uniquePrefix } from './ids.js';
export { runSipp, startSipp, type SippOptions, type SippResult, type SippHandle } from './sipp.js';
export { startSentinelSet, startRedisCluster, type SentinelSet, type SentinelOptions, type RedisClusterHandle } from './redis-topologies.js';
export { bindUdp } from './udp.js';
export { drachtioConfig, externalDrachtio, startDrachtio, type DrachtioHandle } from './drachtio.js';
