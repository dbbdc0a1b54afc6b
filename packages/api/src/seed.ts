import { validateExtension, validatePickupGroup, validateRingGroup, validateTenantCreate, type Validation } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import { GrantRepo, ProvisioningRepo, SYSTEM_ACTOR, isWellFormedApiKey, type KeySchema, type RedisClient } from '@kumo/store';

export const DEMO = {
  tenantId: 'demo',
  sipDomain: 'demo.kumo.test',
  ports: 100,
  trunkChannels: 10,
  callsPerSecond: 10,
  extensions: Array.from({ length: 10 }, (_, i) => String(1001 + i)),
  /** SIP password of an extension: `pass` + number. */
  password: (ext: string) => `pass${ext}`,
  ringGroup: '500',
  /** Pickup group `desk` (1001–1005): `*8` from any of them answers a call ringing another. */
  pickupGroup: 'desk',
  /** Numbers the operator assigned to the demo tenant for its DIDs (docs/security.md): 03-1234-5600 … 5699. */
  numberBlock: { first: '+81312345600', count: 100 },
  operatorKeyName: 'demo operator',
  tenantKeyName: 'demo tenant admin',
} as const;

export interface DemoCredentials {
  readonly tenantId: string;
  readonly sipDomain: string;
  readonly operatorKey: string;
  readonly tenantAdminKey: string;
  /** SIP user → password of the demo extensions. */
  readonly extensions: Readonly<Record<string, string>>;
  /** What this call changed: true when the tenant was created now. */
  readonly tenantCreated: boolean;
  /** True when new keys were issued (write them to the credentials file). */
  readonly keysIssued: boolean;
}

function ok<T>(v: Validation<T>): T {
  if (!v.ok) throw new KumoError('KUMO_ERR_INTERNAL', 'demo data invalid', { problems: v.problems });
  return v.value;
}

/**
 * Seeds the demo tenant idempotently: tenant `demo` (`demo.kumo.test`, 100 ports, 10 trunk
 * channels), extensions 1001–1010 (password `pass`+number), ring group 500 (ring-all over
 * 1001–1003), pickup group `desk`, the number pool 03-1234-5600…5699 for DIDs, an operator key and a
 * tenant-admin key.
 *
 * Keys are stored hashed, so they cannot be read back. Pass the keys from the previous run
 * (e.g. `.kumo/demo-credentials.json`) as `keys`: valid ones are kept; well-formed ones that
 * Redis no longer knows (fresh Redis) are re-imported, so the file stays valid; missing or
 * malformed ones are issued anew (`keysIssued: true`).
 */
export async function seedDemo(
  deps: { redis: RedisClient; keys: KeySchema },
  opts: { keys?: { operatorKey?: string | undefined; tenantAdminKey?: string | undefined } } = {},
): Promise<DemoCredentials> {
  const repo = new ProvisioningRepo(deps.redis, deps.keys);
  let tenantCreated = false;
  if ((await repo.tenantById(DEMO.tenantId)) === null) {
    await repo.createTenant(
      ok(
        validateTenantCreate({
          id: DEMO.tenantId,
          name: 'Kumo demo',
          sipDomain: DEMO.sipDomain,
          ports: DEMO.ports,
          trunkChannels: DEMO.trunkChannels,
          callsPerSecond: DEMO.callsPerSecond,
          notes: 'seeded by kumo up --demo',
        }),
      ),
      SYSTEM_ACTOR,
    );
    tenantCreated = true;
  }
  const plan = await repo.numberingPlan(DEMO.tenantId);
  for (const n of DEMO.extensions) {
    if ((await repo.extension(DEMO.tenantId, n)) !== null) continue;
    const v = ok(validateExtension({ number: n, displayName: `Demo ${n}`, password: DEMO.password(n), department: 'demo', device: { location: 'demo desk' } }, plan));
    try {
      await repo.createExtension(DEMO.tenantId, v, SYSTEM_ACTOR);
    } catch (e) {
      if ((e as KumoError).code !== 'KUMO_ERR_EXISTS') throw e;
    }
  }
  if ((await repo.ringGroup(DEMO.tenantId, DEMO.ringGroup)) === null) {
    const v = ok(
      validateRingGroup(
        { number: DEMO.ringGroup, name: 'Demo ring-all', strategy: 'ring-all', members: DEMO.extensions.slice(0, 3).map((extension) => ({ extension })) },
        plan,
      ),
    );
    try {
      await repo.createRingGroup(DEMO.tenantId, v, SYSTEM_ACTOR);
    } catch (e) {
      if ((e as KumoError).code !== 'KUMO_ERR_EXISTS') throw e;
    }
  }

  if ((await repo.pickupGroup(DEMO.tenantId, DEMO.pickupGroup)) === null) {
    const v = ok(validatePickupGroup({ id: DEMO.pickupGroup, name: 'Demo desk', members: DEMO.extensions.slice(0, 5) }));
    try {
      await repo.createPickupGroup(DEMO.tenantId, v, SYSTEM_ACTOR);
    } catch (e) {
      if ((e as KumoError).code !== 'KUMO_ERR_EXISTS') throw e;
    }
  }

  // Numbers are the operator's to assign (docs/security.md): the demo tenant gets a pool for its DIDs, once.
  const grants = new GrantRepo(deps.redis, deps.keys, repo.audit);
  const granted = await grants.get(DEMO.tenantId);
  if (granted.numbers.length === 0 && granted.blocks.length === 0) {
    await grants.set(DEMO.tenantId, { ...granted, blocks: [DEMO.numberBlock] }, SYSTEM_ACTOR);
  }

  let keysIssued = false;
  const ensure = async (given: string | undefined, role: 'operator' | 'tenant-admin', name: string): Promise<string> => {
    if (given !== undefined && isWellFormedApiKey(given)) {
      const p = await repo.apiKeys.authenticate(given);
      if (p !== null && p.role === role && (role === 'operator' || p.tenantId === DEMO.tenantId)) return given;
      if (p === null && (await repo.apiKeys.byId(given.slice(5, 17))) === null) {
        await repo.apiKeys.issue({ role, name, importKey: given, ...(role === 'tenant-admin' ? { tenantId: DEMO.tenantId } : {}) });
        return given;
      }
    }
    keysIssued = true;
    return (await repo.apiKeys.issue({ role, name, ...(role === 'tenant-admin' ? { tenantId: DEMO.tenantId } : {}) })).key;
  };
  const operatorKey = await ensure(opts.keys?.operatorKey, 'operator', DEMO.operatorKeyName);
  const tenantAdminKey = await ensure(opts.keys?.tenantAdminKey, 'tenant-admin', DEMO.tenantKeyName);

  return {
    tenantId: DEMO.tenantId,
    sipDomain: DEMO.sipDomain,
    operatorKey,
    tenantAdminKey,
    extensions: Object.fromEntries(DEMO.extensions.map((n) => [n, DEMO.password(n)])),
    tenantCreated,
    keysIssued,
  };
}

/** Issues an operator API key (production bootstrap, e.g. `kumo api-key create-operator`). The key is returned once. */
export async function createOperatorKey(deps: { redis: RedisClient; keys: KeySchema }, name: string): Promise<{ id: string; key: string }> {
  const repo = new ProvisioningRepo(deps.redis, deps.keys);
  const issued = await repo.apiKeys.issue({ role: 'operator', name });
  await repo.audit.append(null, { actor: SYSTEM_ACTOR, action: 'apiKey.issue', target: `apiKey:${issued.record.id}`, after: issued.record });
  return { id: issued.record.id, key: issued.key };
}
