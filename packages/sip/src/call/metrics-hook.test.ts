import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { buildCdr } from '@kumo/domain';
import { createCallMetrics, END_CAUSES, endCauseOf, MAX_CALL_TENANT_LABELS } from '@kumo/runtime';
import { CallMetricsHook } from './metrics-hook.js';
import type { InboundInvite, Leg } from './types.js';

const leg: Leg = { callId: 'c', remoteSdp: '', hangup: () => Promise.resolve() };
const invite = (): InboundInvite & { sent: number[] } => {
  const sent: number[] = [];
  return {
    sent,
    callId: 'c1',
    fromTag: 'f1',
    sdp: '',
    progress: (s) => void sent.push(s),
    answer: () => {
      sent.push(200);
      return Promise.resolve(leg);
    },
    reject: (s) => void sent.push(s),
    onCancel: () => undefined,
  };
};
const value = async (r: Registry, name: string, labels: Record<string, string> = {}): Promise<number> => {
  const m = await r.getSingleMetric(name)!.get();
  const v = m.values.find((x) => Object.entries(labels).every(([k, l]) => (x.labels as Record<string, unknown>)[k] === l));
  return v?.value ?? 0;
};
const cdr = (tenantId: string, extra: Partial<Parameters<typeof buildCdr>[0]> = {}) =>
  buildCdr({
    tenantId,
    aLegCallId: 'a',
    aLegFromTag: 'b',
    direction: 'internal',
    caller: { dialled: '201' },
    callee: { dialled: '202' },
    startedAt: 0,
    endedAt: 1000,
    finalStatus: 486,
    ...extra,
  });

describe('call metrics hook', () => {
  it('forwards the answer’s headers (the connected party’s P-Asserted-Identity on the 200)', async () => {
    const hook = new CallMetricsHook(createCallMetrics(new Registry()), () => 0);
    const seen: unknown[] = [];
    const inv: InboundInvite = { ...invite(), answer: (...a) => (seen.push(a), Promise.resolve(leg)) };
    await hook.track(inv, (w) => w.answer('v=0', { 'P-Asserted-Identity': '<sip:1002@d>' }));
    expect(seen).toEqual([['v=0', { 'P-Asserted-Identity': '<sip:1002@d>' }]]);
  });

  it('active calls by state, setup time at the first 180/183/200, and back to 0 when the route ends', async () => {
    const registry = new Registry();
    let t = 0;
    const hook = new CallMetricsHook(createCallMetrics(registry), () => t);
    const inv = invite();
    let release!: () => void;
    const done = hook.track(inv, async (w) => {
      t = 250;
      w.progress(180);
      t = 900;
      w.progress(183);
      await w.answer('v=0');
      await new Promise<void>((r) => (release = r));
    });
    await new Promise((r) => setImmediate(r));
    expect(inv.sent).toEqual([180, 183, 200]);
    expect(await value(registry, 'kumo_sip_active_calls', { state: 'answered' })).toBe(1);
    expect(await value(registry, 'kumo_sip_active_calls', { state: 'ringing' })).toBe(0);
    release();
    await done;
    expect(await value(registry, 'kumo_sip_active_calls', { state: 'answered' })).toBe(0);
    const h = await registry.getSingleMetric('kumo_sip_call_setup_seconds')!.get();
    expect(h.values.find((v) => v.metricName === 'kumo_sip_call_setup_seconds_count')?.value).toBe(1);
    expect(h.values.find((v) => v.metricName === 'kumo_sip_call_setup_seconds_sum')?.value).toBeCloseTo(0.25, 9);
  });

  it('a route that throws still leaves no active call behind', async () => {
    const registry = new Registry();
    const hook = new CallMetricsHook(createCallMetrics(registry));
    await expect(hook.track(invite(), () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await value(registry, 'kumo_sip_active_calls', { state: 'ringing' })).toBe(0);
  });

  it('every published CDR counts a call by outcome and cause; a failed publish also counts a failure', async () => {
    const registry = new Registry();
    const hook = new CallMetricsHook(createCallMetrics(registry));
    await hook.publisher(() => Promise.resolve('id'))(cdr('t1'));
    await expect(hook.publisher(() => Promise.reject(new Error('redis down')))(cdr('t1', { rejectionReason: 'port-limit', finalStatus: 503 }))).rejects.toThrow();
    expect(await value(registry, 'kumo_sip_calls_total', { tenant: 't1', disposition: 'busy', cause: 'sip-486' })).toBe(1);
    expect(await value(registry, 'kumo_sip_calls_total', { tenant: 't1', disposition: 'rejected', cause: 'rejected-port-limit' })).toBe(1);
    expect(await value(registry, 'kumo_sip_cdr_publish_failures_total')).toBe(1);
  });

  it('tenant labels are bounded', async () => {
    const registry = new Registry();
    const hook = new CallMetricsHook(createCallMetrics(registry));
    const pub = hook.publisher(() => Promise.resolve());
    for (let i = 0; i < MAX_CALL_TENANT_LABELS + 20; i++) await pub(cdr(`t${i}`));
    const m = await registry.getSingleMetric('kumo_sip_calls_total')!.get();
    const tenants = new Set(m.values.map((v) => v.labels.tenant));
    expect(tenants.size).toBe(MAX_CALL_TENANT_LABELS + 1);
    expect(await value(registry, 'kumo_sip_calls_total', { tenant: '_other' })).toBe(20);
  });

  it.each([
    [{ disposition: 'answered', hangupBy: 'caller', finalStatus: 200, rejectionReason: null }, 'caller-hangup'],
    [{ disposition: 'cancelled', hangupBy: null, finalStatus: 487, rejectionReason: null }, 'cancelled'],
    [{ disposition: 'rejected', hangupBy: null, finalStatus: 503, rejectionReason: 'something-new' }, 'rejected-other'],
    [{ disposition: 'failed', hangupBy: null, finalStatus: 499, rejectionReason: null }, 'sip-4xx'],
    [{ disposition: 'failed', hangupBy: null, finalStatus: 0, rejectionReason: null }, 'other'],
  ])('end cause %o → %s', (c, cause) => {
    expect(endCauseOf(c)).toBe(cause);
    expect(END_CAUSES).toContain(cause);
  });
});
