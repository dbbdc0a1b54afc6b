import { NO_GRANTS, type Grants } from '@kumo/domain';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';
import type { AuditRepo, Actor } from '../provisioning/audit.js';

/** What an operator assigned to a tenant (numbers, number blocks, gateway addresses): docs/security.md. */
export class GrantRepo {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly audit: AuditRepo,
  ) {}

  async get(tenantId: string): Promise<Grants> {
    const raw = await this.redis.get(this.keys.tenant.grants(tenantId));
    return raw === null ? NO_GRANTS : { ...NO_GRANTS, ...(JSON.parse(raw) as Partial<Grants>) };
  }

  async set(tenantId: string, g: Grants, actor: Actor): Promise<Grants> {
    const before = await this.get(tenantId);
    await this.redis.set(this.keys.tenant.grants(tenantId), JSON.stringify(g));
    await this.audit.append(tenantId, { actor, action: 'grants.update', target: 'grants', before, after: g });
    return g;
  }
}
