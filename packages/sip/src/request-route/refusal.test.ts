import { describe, expect, it } from 'vitest';
import { refusalHeaders } from './refusal.js';

describe('refusalHeaders', () => {
  it.each([
    [503, 'trunk-channels', { Reason: 'SIP;cause=503;text="trunk-channels"', 'X-Kumo-Reason': 'trunk-channels', 'Retry-After': '5' }],
    [503, 'no-gateway', { Reason: 'SIP;cause=503;text="no-gateway"', 'X-Kumo-Reason': 'no-gateway', 'Retry-After': '30' }],
    [503, 'no-trunk', { Reason: 'SIP;cause=503;text="no-trunk"', 'X-Kumo-Reason': 'no-trunk' }],
    [404, 'unknown-did', { Reason: 'SIP;cause=404;text="unknown-did"', 'X-Kumo-Reason': 'unknown-did' }],
    [403, 'permission-denied', { Reason: 'SIP;cause=403;text="permission-denied"', 'X-Kumo-Reason': 'permission-denied' }],
  ])('%i %s', (status, code, expected) => {
    expect(refusalHeaders(status, code)).toEqual(expected);
  });

  it('headers a step set (admission’s Retry-After from its policy) win', () => {
    expect(refusalHeaders(503, 'port-limit', { 'Retry-After': '9', 'X-Kumo-Reason': 'port-limit' })).toEqual({
      Reason: 'SIP;cause=503;text="port-limit"',
      'Retry-After': '9',
      'X-Kumo-Reason': 'port-limit',
    });
  });
});
