/**
 * Requests other than REGISTER and INVITE, over the wire through Kumo's engine to the sip app
 * (issue 12 item 7): OPTIONS from phones and carriers answered 200 with Allow/Accept/Supported,
 * known methods Kumo does not serve 405 with Allow, dialog-only methods outside a dialog 481.
 * These answers come from the sip app, so the C++ drachtio-server gives the same (the `drachtio` vitest
 * project runs this file on it) — except where drachtio-server never hands the request to an app: it
 * discards an out-of-dialog REFER and any unknown method itself (docs/deploy-drachtio.md; the
 * Kamailio edge answers them in front of it).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateTenantCreate, validateTrunk } from '@kumo/domain';
import { ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { externalDrachtio, freePort } from '@kumo/testkit';
import { TestUac } from '../helpers/sip-client.js';
import { startStack, type Stack } from '../helpers/stack.js';

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}

describe.each(['udp', 'tcp'] as const)('OPTIONS, 405 and 481 over %s', (transport) => {
  const domain = `methods-${transport}.kumo.test`;
  let s: Stack;
  const clients: TestUac[] = [];
  const open = async (localHost = '127.0.0.1'): Promise<TestUac> => {
    const c = await TestUac.open(transport, '127.0.0.1', s.sipPort, localHost);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    s = await startStack({ redisUrl: inject('redisUrl'), calls: { cdrShards: 1, trunkSetupTimeoutSec: 2, trunkRingCapSec: 30 } });
    const repo = new ProvisioningRepo(s.redis, s.keys);
    const tenantId = `methods-${transport}`;
    await repo.createTenant(ok(validateTenantCreate({ id: tenantId, name: 'Methods', sipDomain: domain, ports: 100, trunkChannels: 2, callsPerSecond: 5 })), SYSTEM_ACTOR);
    const gw = await freePort('127.0.0.4');
    await repo.createTrunk(
      tenantId,
      ok(validateTrunk({ id: 'carrier', name: 'Carrier', channelLimit: 2, numberFormat: 'national', callerId: '+81312340000', gateways: [{ host: '127.0.0.4', port: gw, transport, priority: 1 }] })),
      SYSTEM_ACTOR,
    );
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await s.close();
  });

  const capabilities = (r: Awaited<ReturnType<TestUac['request']>>): void => {
    expect(r.status).toBe(200);
    const allow = (r.one('allow') ?? '').split(/\s*,\s*/);
    expect(allow).toEqual(expect.arrayContaining(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER', 'INFO', 'UPDATE', 'REFER']));
    expect(allow).not.toContain('MESSAGE');
    expect(r.one('accept')).toContain('application/sdp');
    expect(r.one('supported')).toContain('replaces');
  };

  it('OPTIONS from a phone (keep-alive to the domain, no credentials) → 200 with Allow, Accept, Supported', async () => {
    const c = await open();
    capabilities(await c.request({ method: 'OPTIONS', uri: `sip:${domain}`, domain, headers: ['Accept: application/sdp'] }));
    capabilities(await c.request({ method: 'OPTIONS', uri: `sip:1001@${domain}`, domain, fromUser: '1001' }));
  });

  it('OPTIONS from a carrier gateway (health ping to the server address) → 200', async () => {
    const c = await open('127.0.0.4');
    capabilities(await c.request({ method: 'OPTIONS', uri: `sip:127.0.0.1:${s.sipPort}`, domain: '127.0.0.4', fromUser: 'ping' }));
  });

  // drachtio-server discards these two itself (its stateless path has no case for them): no answer at all.
  const discardedByDrachtio = externalDrachtio() !== undefined;

  it.each(['MESSAGE', 'SUBSCRIBE', 'PUBLISH', 'REFER'])('%s out of a dialog → 405 with Allow', async (method) => {
    const c = await open();
    const p = c.request({ method, uri: `sip:1001@${domain}`, domain, fromUser: '1002', headers: method === 'SUBSCRIBE' || method === 'PUBLISH' ? ['Event: presence', 'Expires: 60'] : method === 'REFER' ? [`Refer-To: <sip:1003@${domain}>`] : [] });
    if (method === 'REFER' && discardedByDrachtio) {
      await expect(p).rejects.toThrow(/no final response/);
      return;
    }
    const r = await p;
    expect(r.status).toBe(405);
    expect(r.one('allow')).toContain('INVITE');
  });

  it('an unknown method → 501 Not Implemented', async () => {
    const c = await open();
    const p = c.request({ method: 'FROBNICATE', uri: `sip:1001@${domain}`, domain, fromUser: '1002' });
    if (discardedByDrachtio) await expect(p).rejects.toThrow(/no final response/);
    else expect((await p).status).toBe(501);
  });

  it.each(['INFO', 'UPDATE', 'NOTIFY'])('%s outside a dialog → 481', async (method) => {
    const c = await open();
    const r = await c.request({ method, uri: `sip:1001@${domain}`, domain, fromUser: '1002', headers: method === 'NOTIFY' ? ['Event: dialog', 'Subscription-State: active'] : [] });
    expect(r.status).toBe(481);
  });

  it('OPTIONS naming a dialog Kumo does not have (To tag) → 481', async () => {
    const c = await open();
    expect((await c.request({ method: 'OPTIONS', uri: `sip:1001@${domain}`, domain, toTag: 'nosuch' })).status).toBe(481);
  });
});
