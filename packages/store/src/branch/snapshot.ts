import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Did, ExtensionRecord, NumberingPlan, PickupGroup, RingGroup, TrunkRecord } from '@kumo/domain';

/**
 * The part of a tenant a site's branch serves, in the store's own record shapes (extensions carry
 * their HA1 digest values, the local line its registration password), so the branch writes it into
 * its own Redis under the same keys the cloud uses and the sip app serves it unchanged.
 */
export interface SiteConfig {
  /** The tenant hash as stored (contract, SIP domain, restriction level). */
  readonly tenant: Readonly<Record<string, string>>;
  /** Number space entries of the site (its extensions and ring groups) and the tenant's feature codes. */
  readonly numbers: Readonly<Record<string, string>>;
  readonly extensions: readonly ExtensionRecord[];
  readonly ringGroups: readonly RingGroup[];
  readonly pickupGroups: readonly PickupGroup[];
  /** The site's local line (one trunk): outbound, inbound and emergency (110/118/119) while alone. */
  readonly trunks: readonly TrunkRecord[];
  /** The tenant's DIDs that ring a number of the site (inbound on the local line). */
  readonly dids: readonly Did[];
  readonly plan: NumberingPlan | null;
  /** The operator's grants (JSON as stored), or null. */
  readonly grants: string | null;
}

export interface SnapshotPayload {
  readonly tenantId: string;
  readonly siteId: string;
  /** Monotonic per site: a branch refuses a snapshot older than the one it holds. */
  readonly version: number;
  readonly issuedAt: string;
  readonly config: SiteConfig;
}

/** What the cloud sends: the payload as JSON text and an Ed25519 signature over exactly those bytes. */
export interface SignedSnapshot {
  readonly payload: string;
  /** base64 */
  readonly signature: string;
}

/** SHA-256 (hex) of a site's configuration: the snapshot version moves only when this changes. */
export function siteConfigHash(config: SiteConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex');
}

/** A private Ed25519 key from PEM (PKCS#8) or base64 of the DER. */
export function loadSigningKey(text: string): KeyObject {
  const t = text.trim();
  return t.startsWith('-----') ? createPrivateKey(t) : createPrivateKey({ key: Buffer.from(t, 'base64'), format: 'der', type: 'pkcs8' });
}

/** A public Ed25519 key from PEM (SPKI) or base64 of the DER. */
export function loadVerifyKey(text: string): KeyObject {
  const t = text.trim();
  return t.startsWith('-----') ? createPublicKey(t) : createPublicKey({ key: Buffer.from(t, 'base64'), format: 'der', type: 'spki' });
}

/** base64 DER (SPKI) of the public half of a signing key: what a branch is configured with. */
export function publicKeyText(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ format: 'der', type: 'spki' }).toString('base64');
}

export function signSnapshot(payload: SnapshotPayload, key: KeyObject): SignedSnapshot {
  const text = JSON.stringify(payload);
  return { payload: text, signature: sign(null, Buffer.from(text), key).toString('base64') };
}

export type SnapshotCheck =
  | { readonly ok: true; readonly payload: SnapshotPayload }
  | { readonly ok: false; readonly reason: 'bad-signature' | 'malformed' | 'wrong-site' | 'stale' };

/**
 * Verifies a snapshot for a branch: the signature over the payload bytes, the tenant and site it
 * serves, and that it is not older than `heldVersion` (an equal version is accepted: nothing new).
 */
export function verifySnapshot(
  s: unknown,
  key: KeyObject,
  expect: { tenantId?: string | undefined; siteId?: string | undefined; heldVersion: number },
): SnapshotCheck {
  if (typeof s !== 'object' || s === null) return { ok: false, reason: 'malformed' };
  const { payload, signature } = s as Partial<SignedSnapshot>;
  if (typeof payload !== 'string' || typeof signature !== 'string') return { ok: false, reason: 'malformed' };
  let good = false;
  try {
    good = verify(null, Buffer.from(payload), key, Buffer.from(signature, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'bad-signature' };
  let p: SnapshotPayload;
  try {
    p = JSON.parse(payload) as SnapshotPayload;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof p.version !== 'number' || typeof p.config !== 'object' || p.config === null) return { ok: false, reason: 'malformed' };
  if ((expect.tenantId !== undefined && p.tenantId !== expect.tenantId) || (expect.siteId !== undefined && p.siteId !== expect.siteId)) {
    return { ok: false, reason: 'wrong-site' };
  }
  if (p.version < expect.heldVersion) return { ok: false, reason: 'stale' };
  return { ok: true, payload: p };
}
