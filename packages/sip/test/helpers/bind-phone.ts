import { waitPortBound } from '@kumo/testkit';
import type { Stack } from './stack.js';

/**
 * Binds extension `ext` of `tenantId` to a phone listening on 127.0.0.1:`port` (a sipp UAS), straight
 * into the location store as its REGISTER would: one binding per port, added to the extension's others,
 * for `expires` seconds (default 300). Waits first until the phone has its socket open, so that a call made
 * right after does not find it unreachable.
 */
export async function bindPhone(s: Stack, o: { tenantId: string; ext: string; port: number; transport: 'udp' | 'tcp'; expires?: number }): ReturnType<Stack['app']['location']['register']> {
  await waitPortBound(o.port, o.transport);
  return s.app.location.register({
    tenantId: o.tenantId,
    extension: o.ext,
    callId: `reg-${o.ext}-${o.port}`,
    cseq: 1,
    maxContacts: 5,
    policy: 'replace-oldest',
    mode: 'update',
    updates: [{ id: `b${o.port}`, expires: o.expires ?? 300, contact: `sip:${o.ext}@127.0.0.1:${o.port}`, source: { address: '127.0.0.1', port: o.port, transport: o.transport } }],
  });
}
