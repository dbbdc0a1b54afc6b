import { randomBytes } from 'node:crypto';
import {
  buildDigestAuthorization,
  computeHa1,
  parseChallenge,
  type DigestAlgorithm,
  type RegistrarDirectory,
  type SipRequest,
  type SipResponse,
} from '@kumo/sip';

export interface Sent {
  status: number;
  reason: string | undefined;
  headers: Record<string, string>;
}

/** A drachtio-like request for handler tests. */
export function fakeRequest(headers: Record<string, string>, o: { ip?: string; port?: number; protocol?: string; uri?: string } = {}): SipRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: 'REGISTER',
    uri: o.uri ?? 'sip:demo.kumo.test',
    source_address: o.ip ?? '127.0.0.1',
    source_port: o.port ?? 5062,
    protocol: o.protocol ?? 'udp',
    get: (n) => lower[n.toLowerCase()],
    has: (n) => n.toLowerCase() in lower,
  };
}

export function fakeResponse(): SipResponse & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    get finalResponseSent() {
      return sent.some((s) => s.status >= 200);
    },
    send(status, reason, opts) {
      sent.push({ status, reason, headers: { ...(opts.headers ?? {}) } });
    },
  };
}

/** In-memory provisioning: tenants by domain and extensions with passwords. */
export function memoryDirectory(
  tenants: { id: string; domain: string; status?: 'active' | 'suspended' | 'terminated'; extensions: Record<string, string> }[],
): RegistrarDirectory & { setStatus(id: string, s: 'active' | 'suspended' | 'terminated'): void } {
  const status = new Map(tenants.map((t) => [t.id, t.status ?? 'active']));
  return {
    setStatus: (id, s) => status.set(id, s),
    tenantByDomain: (domain) => {
      const t = tenants.find((x) => x.domain === domain);
      return Promise.resolve(t ? { id: t.id, domain: t.domain, status: status.get(t.id) ?? 'active' } : undefined);
    },
    credentials: (tenantId, ext) => {
      const t = tenants.find((x) => x.id === tenantId);
      const pw = t?.extensions[ext];
      return Promise.resolve(
        t && pw !== undefined
          ? { ha1Md5: computeHa1('MD5', ext, t.domain, pw), ha1Sha256: computeHa1('SHA-256', ext, t.domain, pw) }
          : undefined,
      );
    },
  };
}

/** Splits the WWW-Authenticate value made by multiHeader() back into challenges. */
export function challengesOf(s: Sent): string[] {
  const v = s.headers['WWW-Authenticate'];
  return v === undefined ? [] : v.split('\r\nWWW-Authenticate: ');
}

/** Answers the challenge of `algorithm` in a 401. */
export function answer(
  s: Sent,
  o: { algorithm: DigestAlgorithm; username: string; password: string; uri?: string; nc?: number },
): string {
  const ch = challengesOf(s).map(parseChallenge).find((c) => c?.algorithm === o.algorithm);
  if (!ch) throw new Error(`no ${o.algorithm} challenge in ${JSON.stringify(s)}`);
  return buildDigestAuthorization({
    algorithm: o.algorithm,
    username: o.username,
    password: o.password,
    realm: ch.realm,
    nonce: ch.nonce,
    method: 'REGISTER',
    uri: o.uri ?? `sip:${ch.realm}`,
    nc: o.nc ?? 1,
    cnonce: randomBytes(6).toString('hex'),
  });
}
