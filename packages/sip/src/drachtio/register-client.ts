import type Srf from 'drachtio-srf';
import type { SendRegister } from '../trunks/registrant.js';

interface Res {
  status: number;
  get(name: string): string | undefined;
}
interface SentRequest {
  on(ev: 'response', cb: (res: Res) => void): void;
}
type RequestFn = (
  uri: string,
  opts: { method: string; headers: Record<string, string>; auth: { username: string; password: string } },
) => Promise<SentRequest>;

/** The expiry the registrar granted: the Contact's `expires` parameter, else the Expires header. */
function grantedExpires(res: Res): number | undefined {
  const c = /;\s*expires\s*=\s*(\d+)/i.exec(res.get('contact') ?? '');
  const v = c?.[1] ?? res.get('expires');
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** REGISTER through the engine; drachtio-srf answers the carrier's 401/407 with the credentials. */
export function registerClient(srf: Srf): SendRegister {
  const request = (srf.request as unknown as RequestFn).bind(srf);
  return (a, timeoutMs) =>
    new Promise((resolve) => {
      const g = a.gateway;
      const host = g.host.includes(':') ? `[${g.host}]` : g.host;
      const aor = `sip:${a.username}@${a.domain}`;
      const t = setTimeout(() => resolve(undefined), timeoutMs);
      request(`sip:${host}:${g.port};transport=${g.transport}`, {
        method: 'REGISTER',
        headers: {
          From: `<${aor}>`,
          To: `<${aor}>`,
          // `@localhost` becomes the server's own SIP address (drachtio rule, Kumo's engine alike).
          Contact: `<sip:${a.username}@localhost>`,
          Expires: String(a.expiresSec),
          'User-Agent': 'Kumo',
        },
        auth: { username: a.username, password: a.password },
      }).then(
        (req) =>
          req.on('response', (res) => {
            if (res.status < 200) return;
            clearTimeout(t);
            const e = grantedExpires(res);
            resolve({ status: res.status, ...(e !== undefined ? { expiresSec: e } : {}) });
          }),
        () => {
          clearTimeout(t);
          resolve(undefined);
        },
      );
    });
}
