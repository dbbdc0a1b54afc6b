/**
 * The digest computation (RFC 2617 / 7616 / 8760), both sides: the hash, HA1, the `response` value, and the client
 * side (answering a challenge). One copy for the sip process (which verifies) and for Kumo's own clients (the ops
 * prober's probe account, test phones), and for the HA1 that provisioning stores (`ha1Of`). Pure functions over
 * strings plus node:crypto (which is why they live here and not in the I/O-free domain package).
 */
import * as crypto from 'node:crypto';
import { digestA1Input } from '@kumo/domain';

export type DigestAlgorithm = 'SHA-256' | 'MD5';
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];

const HASH_OF: Record<DigestAlgorithm, string> = { 'SHA-256': 'sha256', MD5: 'md5' };

/** One-shot hashing (Node ≥ 20.12: no Hash object per digest, half the time); older Node 20 releases build the object. */
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;

export function digestHash(alg: DigestAlgorithm, s: string): string {
  return oneShot !== undefined ? oneShot(HASH_OF[alg], s, 'hex') : crypto.createHash(HASH_OF[alg]).update(s, 'utf8').digest('hex');
}

/** HA1 = H(username:realm:password): what the store keeps instead of the password. */
export function computeHa1(alg: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(alg, digestA1Input(username, realm, password));
}

/** A quoted-string (RFC 3261 §25.1). */
export function quoteDigestParam(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** The `response` value a client computes (qop=auth, or the RFC 2069 form without qop). */
export function computeDigestResponse(o: {
  readonly algorithm: DigestAlgorithm;
  readonly ha1: string;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  readonly qop?: string | undefined;
  readonly nc?: string | undefined;
  readonly cnonce?: string | undefined;
}): string {
  const ha2 = digestHash(o.algorithm, `${o.method}:${o.uri}`);
  if (o.qop === undefined) return digestHash(o.algorithm, `${o.ha1}:${o.nonce}:${ha2}`);
  return digestHash(o.algorithm, `${o.ha1}:${o.nonce}:${o.nc ?? ''}:${o.cnonce ?? ''}:${o.qop}:${ha2}`);
}

/** Client side: builds an Authorization value answering one challenge. */
export function buildDigestAuthorization(o: {
  readonly algorithm: DigestAlgorithm;
  readonly username: string;
  readonly password: string;
  readonly realm: string;
  readonly nonce: string;
  readonly method: string;
  readonly uri: string;
  readonly nc: number;
  readonly cnonce: string;
}): string {
  const nc = o.nc.toString(16).padStart(8, '0');
  const ha1 = computeHa1(o.algorithm, o.username, o.realm, o.password);
  const response = computeDigestResponse({ ...o, ha1, qop: 'auth', nc });
  const q = quoteDigestParam;
  return (
    `Digest username=${q(o.username)}, realm=${q(o.realm)}, nonce=${q(o.nonce)}, uri=${q(o.uri)}, ` +
    `response="${response}", algorithm=${o.algorithm}, qop=auth, nc=${nc}, cnonce=${q(o.cnonce)}`
  );
}

/** Parses one challenge value (`Digest realm=…, nonce=…, algorithm=…`), client side. */
export function parseChallenge(v: string): { realm: string; nonce: string; algorithm: DigestAlgorithm; stale: boolean } | null {
  const get = (k: string): string | undefined => new RegExp(`${k}=(?:"([^"]*)"|([^,\\s]+))`, 'i').exec(v)?.slice(1).find((x) => x !== undefined);
  const realm = get('realm');
  const nonce = get('nonce');
  const alg = (get('algorithm') ?? 'MD5').toUpperCase();
  const algorithm = DIGEST_ALGORITHMS.find((a) => a === alg);
  if (realm === undefined || nonce === undefined || !algorithm) return null;
  return { realm, nonce, algorithm, stale: get('stale')?.toLowerCase() === 'true' };
}
