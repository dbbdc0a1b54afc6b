/**
 * The ops prober's probe account (docs/operations.md, "Probe account"), provisioned idempotently when the prober
 * takes its lease: the unlisted probe tenant (`PROBE_TENANT_ID`, domain `PROBE_SIP_DOMAIN`) with two extensions.
 * The password is generated once per installation and kept in `kumo:ops:probe-account`, sealed with
 * KUMO_SECRET_KEY when one is configured (like trunk registration passwords); every prober of the installation reads
 * the same one. A stored extension whose digests do not match it (e.g. the key changed) is re-keyed.
 */
import { randomBytes } from 'node:crypto';
import { PROBE_EXTENSIONS, PROBE_SIP_DOMAIN, PROBE_TENANT_ID, PROBE_TENANT_PORTS, validateExtension } from '@kumo/domain';
import type { KeySchema } from '../keys.js';
import type { RedisClient } from '../client.js';
import { ha1Of, ProvisioningRepo } from '../provisioning/provisioning.js';
import type { SecretBox } from '../provisioning/secrets.js';

export interface ProbeUser {
  readonly user: string;
  readonly password: string;
}

export interface ProbeAccount {
  readonly tenantId: string;
  readonly domain: string;
  /** The caller (probe A) and the callee (probe B). */
  readonly a: ProbeUser;
  readonly b: ProbeUser;
}

const ACTOR = { keyId: 'ops-prober', role: 'system' } as const;

export async function ensureProbeAccount(redis: RedisClient, keys: KeySchema, box?: SecretBox): Promise<ProbeAccount> {
  const k = keys.global.opsProbeAccount();
  await redis.hsetnx(k, 'password', (box ? box.seal.bind(box) : (x: string) => x)(randomBytes(18).toString('base64url')));
  const stored = (await redis.hget(k, 'password')) ?? '';
  const password = box ? box.open(stored) : stored;
  const repo = new ProvisioningRepo(redis, keys);
  if ((await repo.tenantById(PROBE_TENANT_ID)) === null) {
    await repo.createTenant(
      {
        id: PROBE_TENANT_ID, name: 'Kumo probe account (platform)', sipDomain: PROBE_SIP_DOMAIN, ports: PROBE_TENANT_PORTS,
        trunkChannels: 0, callsPerSecond: 10, status: 'active', restrictionLevel: 0, notes: 'owned by the ops prober; not a customer',
      },
      ACTOR,
      { listed: false },
    );
  }
  for (const user of PROBE_EXTENSIONS) {
    const cur = await repo.extension(PROBE_TENANT_ID, user);
    if (cur !== null && cur.ha1Md5 === ha1Of(user, PROBE_SIP_DOMAIN, password).ha1Md5) continue;
    const v = validateExtension({ number: user, displayName: `probe ${user}`, password, permissionClass: 'internal' });
    if (!v.ok) throw new Error(`probe extension ${user}: ${JSON.stringify(v.problems)}`);
    if (cur === null) await repo.createExtension(PROBE_TENANT_ID, v.value, ACTOR);
    else await repo.replaceExtension(PROBE_TENANT_ID, user, () => v.value, ACTOR);
  }
  const [a, b] = PROBE_EXTENSIONS;
  return { tenantId: PROBE_TENANT_ID, domain: PROBE_SIP_DOMAIN, a: { user: a, password }, b: { user: b, password } };
}
