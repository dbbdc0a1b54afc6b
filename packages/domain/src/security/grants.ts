/**
 * Operator-owned numbers and carriers (docs/security.md): what an operator has assigned to a
 * tenant. Tenant admins may add DIDs only for granted numbers (listed, or inside a granted block
 * of consecutive numbers: a pool) and point trunks only at granted gateway addresses. A special
 * address (loopback, unspecified, broadcast, …) can be granted only with `allowSpecial`.
 */
import { canonicalHost, isIpLiteral, normalizeE164, type Problem, type Validation } from '../provisioning/index.js';
import { classifyAddress, isSpecialAddress } from './addresses.js';

export interface NumberBlock {
  /** First number of the block (E.164). */
  readonly first: string;
  /** How many consecutive numbers (1–10,000). */
  readonly count: number;
}

export interface Grants {
  /** E.164 numbers assigned to the tenant. */
  readonly numbers: readonly string[];
  /** Pools of consecutive numbers assigned to the tenant. */
  readonly blocks: readonly NumberBlock[];
  /** Carrier gateway addresses (IP literals or host names, canonical) the tenant's trunks may use. */
  readonly gateways: readonly string[];
}

export const NO_GRANTS: Grants = { numbers: [], blocks: [], gateways: [] };

export interface GrantsInput {
  readonly numbers?: readonly string[];
  readonly blocks?: readonly NumberBlock[];
  readonly gateways?: readonly string[];
  /** Required to grant a loopback, unspecified, broadcast, multicast, link-local or reserved address. */
  readonly allowSpecial?: boolean;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function validateGrants(v: GrantsInput): Validation<Grants> {
  const problems: Problem[] = [];
  const numbers = new Set<string>();
  (v.numbers ?? []).forEach((n, i) => {
    const e = normalizeE164(n);
    if (e === undefined) problems.push({ field: `numbers/${i}`, message: 'must be a public number (+81… or 0…)' });
    else numbers.add(e);
  });
  const blocks: NumberBlock[] = [];
  (v.blocks ?? []).forEach((b, i) => {
    const first = normalizeE164(b.first);
    if (first === undefined) problems.push({ field: `blocks/${i}/first`, message: 'must be a public number (+81… or 0…)' });
    if (!Number.isInteger(b.count) || b.count < 1 || b.count > 10_000) problems.push({ field: `blocks/${i}/count`, message: 'must be an integer between 1 and 10000' });
    else if (first !== undefined) {
      const last = BigInt(first.slice(1)) + BigInt(b.count - 1);
      if (String(last).length !== first.length - 1) problems.push({ field: `blocks/${i}`, message: 'must not change the number length' });
      else blocks.push({ first, count: b.count });
    }
  });
  const gateways = new Set<string>();
  (v.gateways ?? []).forEach((g, i) => {
    const host = canonicalHost(g);
    if (!isIpLiteral(host) && !HOSTNAME.test(host)) problems.push({ field: `gateways/${i}`, message: 'must be an IP address or host name' });
    else if (isSpecialAddress(host) && v.allowSpecial !== true) {
      problems.push({ field: `gateways/${i}`, message: `is a ${classifyAddress(host)} address; set allowSpecial to grant it explicitly` });
    } else gateways.add(host);
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { numbers: [...numbers].sort(), blocks, gateways: [...gateways].sort() } };
}

/** Whether an E.164 number is granted (listed or inside a block). */
export function isNumberGranted(g: Grants, e164: string): boolean {
  if (g.numbers.includes(e164)) return true;
  if (!/^\+[0-9]+$/.test(e164)) return false;
  const n = BigInt(e164.slice(1));
  return g.blocks.some((b) => b.first.length === e164.length && n >= BigInt(b.first.slice(1)) && n < BigInt(b.first.slice(1)) + BigInt(b.count));
}

/** Whether a gateway host (canonical) is granted. */
export function isGatewayGranted(g: Grants, host: string): boolean {
  return g.gateways.includes(canonicalHost(host));
}
