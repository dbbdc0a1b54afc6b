import { describe, expect, it } from 'vitest';
import { admissionSpec, ConfigError, readConfig } from '@kumo/config';
import { DEFAULT_ADMISSION_POLICY, REJECT_REASONS } from '@kumo/domain';
import { ADMISSION_REASON_LABELS } from '@kumo/runtime';
import { admissionContractOf, admissionPolicyFromConfig, trunkLimitOf } from './policy-config.js';
import { rejectionHeaders } from './call-admission.js';

describe('admission config', () => {
  it('the defaults give the default policy', () => {
    const c = readConfig({ admission: admissionSpec }, {}).admission;
    expect(admissionPolicyFromConfig(c)).toEqual(DEFAULT_ADMISSION_POLICY);
  });

  it('reports every bad setting at once', () => {
    try {
      readConfig(
        { admission: admissionSpec },
        { KUMO_ADMISSION_RESTRICTION_SHARES: '10,50,0', KUMO_ADMISSION_FLOOD_REJECT_STATUS: '404', KUMO_ADMISSION_RESTRICTION_POLL_MS: '5000' },
      );
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems).toHaveLength(3);
    }
  });

  it('maps percentages and the flood status', () => {
    const c = readConfig(
      { admission: admissionSpec },
      { KUMO_ADMISSION_RESTRICTION_SHARES: '80,40,5', KUMO_ADMISSION_FLOOD_REJECT_STATUS: '403', KUMO_ADMISSION_FLOOD_MIN_COMPLETION_PERCENT: '35' },
    ).admission;
    const p = admissionPolicyFromConfig(c);
    expect(p.restrictionShares).toEqual([0.8, 0.4, 0.05]);
    expect(p.flood.rejectStatus).toBe(403);
    expect(p.flood.minCompletionRatio).toBe(0.35);
  });
});

describe('provisioning → admission input', () => {
  it('derives the burst from the rate and keeps the tenant-wide trunk channels', () => {
    expect(admissionContractOf({ ports: 100, trunkChannels: 30, callsPerSecond: 5 }, 2)).toEqual({ ports: 100, callsPerSecond: 5, burst: 10, trunkChannels: 30 });
    expect(admissionContractOf({ ports: 100, trunkChannels: 30, callsPerSecond: 1 }, 0)).toMatchObject({ burst: 1 });
    expect(trunkLimitOf({ id: 'carrier', channelLimit: 23 })).toEqual({ trunkId: 'carrier', channels: 23 });
  });
});

describe('admission reasons', () => {
  it('every domain rejection reason is a metric label value (plus "other")', () => {
    expect([...ADMISSION_REASON_LABELS].sort()).toEqual([...REJECT_REASONS, 'other'].sort());
  });
  it('rejection headers', () => {
    expect(rejectionHeaders({ reason: 'port-limit', retryAfter: 5 })).toEqual({ 'Retry-After': '5', 'X-Kumo-Reason': 'port-limit' });
    expect(rejectionHeaders({ reason: 'tenant-suspended' })).toEqual({ 'X-Kumo-Reason': 'tenant-suspended' });
  });
});
