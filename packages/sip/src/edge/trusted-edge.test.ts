import { describe, expect, it } from 'vitest';
import type { SipRequest, SipResponse } from '../drachtio/types.js';
import { planBindings } from '../registrar/registrar.js';
import { edgeSource, throughEdge, type EdgeAware } from './trusted-edge.js';

const EDGES = new Set(['198.51.100.9']);

function req(source: string, h: Record<string, string>): SipRequest & EdgeAware {
  const lower = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'REGISTER', uri: 'sip:acme.example', source_address: source, source_port: 5060, protocol: 'udp', get: (n) => lower[n.toLowerCase()], has: (n) => n.toLowerCase() in lower };
}

const VIA_EDGE = 'SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKedge';
const VIA_PHONE = 'SIP/2.0/TCP 10.0.0.5:5062;branch=z9hG4bKphone;rport=40001;received=203.0.113.44';
const PATH = '<sip:198.51.100.9:5060;lr;received=sip:203.0.113.44:40001%3btransport%3dtcp>';

describe('trusted edge (KUMO_SIP_TRUSTED_EDGES)', () => {
  it('takes the device from the Via below the edge: received and rport first, else sent-by', () => {
    expect(edgeSource(req('198.51.100.9', { Via: `${VIA_EDGE}, ${VIA_PHONE}` }), EDGES)).toEqual({ address: '203.0.113.44', port: 40001, transport: 'tcp' });
    expect(edgeSource(req('198.51.100.9', { Via: `${VIA_EDGE},SIP/2.0/UDP [2001:db8::5]:5070;branch=z9hG4bKx` }), EDGES)).toEqual({ address: '2001:db8::5', port: 5070, transport: 'udp' });
  });

  it('trusts nothing from other addresses, and nothing without a second Via', () => {
    expect(edgeSource(req('192.0.2.1', { Via: `${VIA_EDGE}, ${VIA_PHONE}` }), EDGES)).toBeUndefined();
    expect(edgeSource(req('198.51.100.9', { Via: VIA_EDGE }), EDGES)).toBeUndefined();
    expect(edgeSource(req('198.51.100.9', { Via: `${VIA_EDGE}, ${VIA_PHONE}` }), new Set())).toBeUndefined();
  });

  it('the registrar stores the Path of a REGISTER relayed by the edge, with the device as source', async () => {
    const r = req('198.51.100.9', { Via: `${VIA_EDGE}, ${VIA_PHONE}`, Path: PATH, Contact: '<sip:1001@10.0.0.5:5062;transport=tcp>', Expires: '300' });
    let seen: (SipRequest & EdgeAware) | undefined;
    await throughEdge((q) => {
      seen = q;
      return Promise.resolve();
    }, EDGES)(r, {} as SipResponse);
    expect(seen?.source_address).toBe('203.0.113.44');
    expect(seen?.edge).toEqual({ address: '198.51.100.9', port: 5060, protocol: 'udp' });
    const plan = planBindings(seen as SipRequest & EdgeAware, { minExpires: 60, maxExpires: 3600, defaultExpires: 600 });
    expect(plan.kind === 'plan' && plan.updates[0]).toMatchObject({ source: { address: '203.0.113.44', port: 40001, transport: 'tcp' }, path: [PATH] });
  });

  it('an edge that adds no Path is itself the route; a Path from anyone else is ignored', async () => {
    const settings = { minExpires: 60, maxExpires: 3600, defaultExpires: 600 };
    let seen: (SipRequest & EdgeAware) | undefined;
    await throughEdge((q) => {
      seen = q;
      return Promise.resolve();
    }, EDGES)(req('198.51.100.9', { Via: `${VIA_EDGE}, ${VIA_PHONE}`, Contact: '<sip:1001@10.0.0.5>' }), {} as SipResponse);
    const viaEdge = planBindings(seen as SipRequest & EdgeAware, settings);
    expect(viaEdge.kind === 'plan' && viaEdge.updates[0]?.path).toEqual(['<sip:198.51.100.9:5060;transport=udp;lr>']);
    const direct = planBindings(req('192.0.2.1', { Path: PATH, Contact: '<sip:1001@10.0.0.5>' }), settings);
    expect(direct.kind === 'plan' && direct.updates[0]?.path).toBeUndefined();
  });
});
