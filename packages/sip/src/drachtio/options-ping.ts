import type Srf from 'drachtio-srf';
import type { GatewayPing } from '../trunks/gateway-monitor.js';

interface SentRequest {
  on(ev: 'response', cb: (res: { status: number }) => void): void;
}
type RequestFn = (uri: string, opts: { method: string; headers: Record<string, string> }) => Promise<SentRequest>;

/** OPTIONS to a gateway through the engine (Kumo's or the C++ drachtio-server): the final status, or undefined on timeout/error. */
export function optionsPing(srf: Srf): GatewayPing {
  const request = (srf.request as unknown as RequestFn).bind(srf);
  return (g, timeoutMs) =>
    new Promise<number | undefined>((resolve) => {
      const host = g.host.includes(':') ? `[${g.host}]` : g.host;
      const t = setTimeout(() => resolve(undefined), timeoutMs);
      request(`sip:${host}:${g.port};transport=${g.transport}`, {
        method: 'OPTIONS',
        headers: { 'Max-Forwards': '70', Accept: 'application/sdp', 'User-Agent': 'Kumo gateway monitor' },
      }).then(
        (req) =>
          req.on('response', (res) => {
            if (res.status < 200) return;
            clearTimeout(t);
            resolve(res.status);
          }),
        () => {
          clearTimeout(t);
          resolve(undefined);
        },
      );
    });
}
