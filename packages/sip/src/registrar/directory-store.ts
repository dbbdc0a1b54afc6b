import type { DirectoryRepo } from '@kumo/store';
import type { RegistrarDirectory } from './directory.js';

/** The registrar's view of provisioning, read from Redis through the api's DirectoryRepo. */
export function storeDirectory(repo: DirectoryRepo): RegistrarDirectory {
  return {
    async tenantByDomain(domain) {
      const t = await repo.tenantByDomain(domain);
      return t ? { id: t.id, domain: t.sipDomain, status: t.status } : undefined;
    },
    async credentials(tenantId, extension) {
      const e = await repo.extension(tenantId, extension);
      return e ? { ha1Md5: e.ha1Md5, ha1Sha256: e.ha1Sha256 } : undefined;
    },
  };
}
