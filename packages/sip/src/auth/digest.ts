/**
 * SIP digest authentication (RFC 3261 §22, RFC 7616, RFC 8760), server side.
 *
 * Pure functions over strings plus node:crypto; no I/O. Used by the registrar (401/WWW-Authenticate)
 * and by call control (407/Proxy-Authenticate): both build challenges with `buildChallenges`, parse
 * the answer with `parseDigestCredentials` and check it with `verifyDigest`.
 *
 * Nonces are stateless: `<issued-ms hex>.<random hex>.<hmac hex>`, where the HMAC-SHA-256 covers the
 * time, the random part and the realm under a server secret. Any process holding the secret can check
 * a nonce; an old one is answered with `stale=true`. Replays (non-increasing `nc` for one nonce) are
 * caught by the caller with the nonce-count store (Redis), since that needs shared state.
 */
import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { DIGEST_ALGORITHMS, computeDigestResponse, digestHash, quoteDigestParam as quote, type DigestAlgorithm } from '@kumo/store';

// The computation itself (hash, HA1, response, the client side) is one copy in @kumo/store (with ha1Of).
export { DIGEST_ALGORITHMS, buildDigestAuthorization, computeDigestResponse, computeHa1, digestHash, parseChallenge, type DigestAlgorithm } from '@kumo/store';

// ---- nonces -------------------------------------------------------------------------------------

export interface NonceOptions {
  readonly secret: string;
  readonly realm: string;
  readonly nowMs: number;
}

function nonceMac(secret: string, ts: string, rnd: string, realm: string): string {
  return createHmac('sha256', secret).update(`${ts}:${rnd}:${realm.toLowerCase()}`).digest('hex').slice(0, 32);
}

/** Nonce randomness from the CSPRNG, drawn 4 KiB at a time (one call into it per 512 challenges, not per challenge). */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function random8Hex(): string {
  if (poolAt + 8 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  // Each byte is used once: the cursor only moves forward until the next refill.
  const hex = pool.toString('hex', poolAt, poolAt + 8);
  poolAt += 8;
  return hex;
}

export function createNonce(o: NonceOptions): string {
  const ts = Math.floor(o.nowMs).toString(16);
  const rnd = random8Hex();
  return `${ts}.${rnd}.${nonceMac(o.secret, ts, rnd, o.realm)}`;
}

export type NonceCheck = 'valid' | 'stale' | 'invalid';

/** `invalid`: not ours (forged, other realm, other secret); `stale`: ours but older than `lifetimeMs`. */
export function checkNonce(nonce: string, o: NonceOptions & { readonly lifetimeMs: number }): NonceCheck {
  const m = /^([0-9a-f]{1,14})\.([0-9a-f]{16})\.([0-9a-f]{32})$/.exec(nonce);
  if (!m) return 'invalid';
  const [, ts, rnd, mac] = m as unknown as [string, string, string, string];
  const want = Buffer.from(nonceMac(o.secret, ts, rnd, o.realm), 'hex');
  if (!timingSafeEqual(want, Buffer.from(mac, 'hex'))) return 'invalid';
  const issued = parseInt(ts, 16);
  if (issued > o.nowMs + 5_000) return 'invalid';
  return o.nowMs - issued > o.lifetimeMs ? 'stale' : 'valid';
}

// ---- challenges ---------------------------------------------------------------------------------

export interface ChallengeOptions {
  readonly realm: string;
  readonly nonce: string;
  /** In preference order; one header value per algorithm (RFC 8760: the preferred one first). */
  readonly algorithms: readonly DigestAlgorithm[];
  readonly stale?: boolean;
}

/** The values of the `WWW-Authenticate` (or `Proxy-Authenticate`) headers, one per algorithm. */
export function buildChallenges(o: ChallengeOptions): string[] {
  return o.algorithms.map(
    (alg) =>
      `Digest realm=${quote(o.realm)}, nonce=${quote(o.nonce)}, algorithm=${alg}, qop="auth"` +
      (o.stale === true ? ', stale=true' : ''),
  );
}

// ---- credentials --------------------------------------------------------------------------------

export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm: DigestAlgorithm;
  readonly qop?: string;
  readonly nc?: string;
  readonly cnonce?: string;
  readonly opaque?: string;
}

/** Parses `Digest k=v, k="v", …`; null when it is not a well-formed digest answer we support. */
export function parseDigestCredentials(header: string | undefined): DigestCredentials | null {
  if (header === undefined) return null;
  const m = /^\s*Digest\s+([\s\S]*)$/i.exec(header);
  if (!m?.[1]) return null;
  const params = new Map<string, string>();
  const re = /\s*([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/gy;
  const body = m[1].trim();
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const p = re.exec(body);
    if (!p?.[1]) return null;
    const v = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
    params.set(p[1].toLowerCase(), v);
    pos = re.lastIndex;
    if (p[0].length === 0) return null;
  }
  const get = (k: string): string | undefined => params.get(k);
  const username = get('username');
  const realm = get('realm');
  const nonce = get('nonce');
  const uri = get('uri');
  const response = get('response');
  if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined) {
    return null;
  }
  const rawAlg = (get('algorithm') ?? 'MD5').toUpperCase();
  const algorithm = DIGEST_ALGORITHMS.find((a) => a === rawAlg);
  if (!algorithm) return null;
  const qop = get('qop');
  const nc = get('nc');
  const cnonce = get('cnonce');
  const opaque = get('opaque');
  return {
    username,
    realm,
    nonce,
    uri,
    response: response.toLowerCase(),
    algorithm,
    ...(qop !== undefined ? { qop } : {}),
    ...(nc !== undefined ? { nc } : {}),
    ...(cnonce !== undefined ? { cnonce } : {}),
    ...(opaque !== undefined ? { opaque } : {}),
  };
}

/** Parses `nc` (8 hex digits); undefined when absent or malformed. */
export function nonceCount(c: DigestCredentials): number | undefined {
  if (c.nc === undefined || !/^[0-9a-fA-F]{8}$/.test(c.nc)) return undefined;
  return parseInt(c.nc, 16);
}

/**
 * Checks the answer against HA1 in constant time. We only offer qop=auth, so an answer must carry
 * qop=auth with nc and cnonce (the RFC 2069 form is refused: it has no nonce count to stop replays).
 */
export function verifyDigest(c: DigestCredentials, ha1: string, method: string): boolean {
  if (c.qop?.toLowerCase() !== 'auth' || c.cnonce === undefined || nonceCount(c) === undefined) return false;
  const want = computeDigestResponse({
    algorithm: c.algorithm,
    ha1,
    method,
    uri: c.uri,
    nonce: c.nonce,
    qop: 'auth',
    nc: c.nc,
    cnonce: c.cnonce,
  });
  const a = Buffer.from(want, 'utf8');
  const b = Buffer.from(c.response, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A stand-in HA1 for users that do not exist, so the server does the same work (and answers the same
 * way) whether or not the user exists. Derived from the secret so it is stable but unguessable.
 */
export function dummyHa1(alg: DigestAlgorithm, secret: string, username: string, realm: string): string {
  return digestHash(alg, `${username}:${realm}:${createHmac('sha256', secret).update(`dummy:${username}@${realm}`).digest('hex')}`);
}
