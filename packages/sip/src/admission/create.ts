import { createAdmissionMetrics, createOverloadDetector, type Logger, type ProcessContext } from '@kumo/runtime';
import { AdmissionStore, type KeySchema, type RedisClient } from '@kumo/store';
import { CallAdmission } from './call-admission.js';
import { admissionPolicyFromConfig, type AdmissionConfig } from './policy-config.js';
import { RestrictionWatcher } from './restrictions.js';

export interface CreateCallAdmissionOptions {
  readonly redis: RedisClient;
  readonly keys: KeySchema;
  readonly config: AdmissionConfig;
  readonly log: Logger;
  readonly registry: ProcessContext['registry'];
}

/**
 * Wires call admission for one sip process from its config. Call `start()` before serving
 * and register `close()` on the lifecycle.
 */
export function createCallAdmission(o: CreateCallAdmissionOptions): CallAdmission {
  const { config, log } = o;
  const alog = log.child({ area: 'admission' });
  const metrics = createAdmissionMetrics(o.registry);
  const policy = admissionPolicyFromConfig(config);
  const store = new AdmissionStore(o.redis, o.keys, {
    leaseTtlMs: config.leaseTtlMs,
    floodWindowMs: config.floodWindowMs,
    eventsMaxLen: config.eventsMaxLen,
  });
  const restrictions = new RestrictionWatcher({
    store,
    log: alog,
    pollMs: config.restrictionPollMs,
    onChange: (level) => metrics.setRestriction(level),
  });
  const ref: { current?: CallAdmission } = {};
  const overload = createOverloadDetector({
    lagThresholdMs: config.overloadLagMs,
    maxQueueDepth: config.overloadQueueDepth,
    queueDepth: () => ref.current?.pending ?? 0,
    onSample: (lagMs) => metrics.setEventLoopLag(lagMs / 1000),
    onChange: (on, lagMs) => {
      metrics.setOverloaded(on);
      if (on) alog.warn({ lagMs, pending: ref.current?.pending }, 'overloaded: refusing new non-priority calls');
      else alog.info({ lagMs }, 'overload cleared');
    },
  });
  const admission = new CallAdmission({
    store,
    policy,
    restrictions,
    overload,
    metrics,
    log: alog,
    leaseRenewMs: config.leaseRenewMs,
    sweepMs: config.sweepMs,
    register: { perSecond: config.registerPerSecond, burst: config.registerBurst },
  });
  ref.current = admission;
  return admission;
}
