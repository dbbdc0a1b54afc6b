import type { AdmissionPolicy } from '@kumo/domain';
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
