import type { AdmissionContract, AdmissionPolicy, Contract, TrunkLimit, TrunkRecord } from '@kumo/domain';
import type { ConfigOf, admissionSpec } from '@kumo/config';

export type AdmissionConfig = ConfigOf<typeof admissionSpec>;

/** The operator's admission settings as the pure policy's input. */
export function admissionPolicyFromConfig(c: AdmissionConfig): AdmissionPolicy {
  const [l1, l2, l3] = c.restrictionShares;
  return {
    suspendedAllowsInbound: c.suspendedAllowsInbound,
    emergencyTrunkReserve: c.emergencyTrunkReserve,
    restrictionShares: [l1 / 100, l2 / 100, l3 / 100],
    flood: {
      windowMs: c.floodWindowMs,
      attemptThreshold: c.floodAttempts,
      minCompletionRatio: c.floodMinCompletionPercent / 100,
      coolingMs: c.floodCoolingMs,
      rejectStatus: c.floodRejectStatus === '403' ? 403 : 503,
    },
    retryAfterSeconds: {
      portLimit: c.retryAfterPortsS,
      trunkChannels: c.retryAfterTrunkS,
      restricted: c.retryAfterRestrictedS,
      overload: c.retryAfterOverloadS,
    },
  };
}

/**
 * A tenant's contract (provisioning model) as admission's input: the burst of the call-rate
 * bucket is `KUMO_ADMISSION_RATE_BURST_S` seconds' worth of calls (at least one).
 */
export function admissionContractOf(c: Contract, burstSeconds: number): AdmissionContract {
  return {
    ports: c.ports,
    callsPerSecond: c.callsPerSecond,
    burst: Math.max(1, Math.ceil(c.callsPerSecond * burstSeconds)),
    trunkChannels: c.trunkChannels,
  };
}

/** A provisioned trunk's channel limit as admission's input. */
export function trunkLimitOf(t: Pick<TrunkRecord, 'id' | 'channelLimit'>): TrunkLimit {
  return { trunkId: t.id, channels: t.channelLimit };
}
