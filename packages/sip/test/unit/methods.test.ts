import { describe, expect, it } from 'vitest';
import { answerOptions, drainAwareOptions, refuseMethod, type SipRequest, type SipResponse } from '@kumo/sip';

function call(method: string, to = '<sip:1001@acme.test>', draining?: boolean): { status?: number; reason?: string; headers: Record<string, string> } {
  const out: { status?: number; reason?: string; headers: Record<string, string> } = { headers: {} };
  const req: SipRequest = {
    method,
    uri: 'sip:1001@acme.test',
    source_address: '127.0.0.1',
    source_port: 5060,
    protocol: 'udp',
    get: (n) => (n.toLowerCase() === 'to' ? to : undefined),
    has: (n) => n.toLowerCase() === 'to',
  };
  const res: SipResponse = {
    finalResponseSent: false,
    send(status, reason, opts) {
      out.status = status;
      if (reason !== undefined) out.reason = reason;
      Object.assign(out.headers, opts.headers ?? {});
    },
  };
  if (method === 'OPTIONS') void (draining === undefined ? answerOptions : drainAwareOptions(() => draining))(req, res);
  else refuseMethod(req, res);
  return out;
}

describe('methods Kumo answers itself', () => {
  it.each([
    ['OPTIONS', undefined, 200],
    ['MESSAGE', undefined, 405],
    ['SUBSCRIBE', undefined, 405],
    ['PUBLISH', undefined, 405],
    ['REFER', undefined, 405],
    ['INFO', undefined, 481],
    ['UPDATE', undefined, 481],
    ['NOTIFY', undefined, 481],
    ['MESSAGE', '<sip:1001@acme.test>;tag=x', 481],
    ['OPTIONS', '<sip:1001@acme.test>;tag=x', 481],
    ['FOO', undefined, 501],
    ['DO', undefined, 501],
  ])('%s (To %s) → %i', (method, to, status) => {
    const r = call(method, to);
    expect(r.status).toBe(status);
    if (status === 405 || status === 501 || status === 200) expect(r.headers.Allow).toMatch(/^INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER/);
    if (status !== 200) {
      expect(r.headers.Reason).toMatch(new RegExp(`^SIP;cause=${status};text="[a-z-]+"$`));
      expect(r.headers['X-Kumo-Reason']).toMatch(/^[a-z-]+$/);
    }
    if (status === 200) {
      expect(r.headers.Accept).toBe('application/sdp');
      expect(r.headers.Supported).toBe('replaces');
    }
  });

  it('ACK is never answered', () => {
    expect(call('ACK').status).toBeUndefined();
  });

  it('while draining, an out-of-dialog OPTIONS (a load balancer probe) gets 503 + Retry-After; in-dialog OPTIONS do not', () => {
    const probe = call('OPTIONS', undefined, true);
    expect(probe.status).toBe(503);
    expect(probe.headers['Retry-After']).toBe('5');
    expect(probe.headers['X-Kumo-Reason']).toBe('shutting-down');
    expect(call('OPTIONS', '<sip:1001@acme.test>;tag=x', true).status).toBe(481);
    expect(call('OPTIONS', undefined, false).status).toBe(200);
  });
});
