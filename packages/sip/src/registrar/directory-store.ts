import type { DirectoryRepo } from '@kumo/store';
import type { DirectoryTenant, RegistrarDirectory } from './directory.js';

/** The registrar's view of provisioning, read from Redis through the api's DirectoryRepo. */
export function storeDirectory(repo: DirectoryRepo): RegistrarDirectory {
  return {
    async tenantByDomain(domain) {
      const t = await repo.tenantByDomain(domain);
      return t ? { id: t.id, domain: t.sipDomain, status: t.status, ...(t.digestAlgorithms ? { digestAlgorithms: t.digestAlgorithms } : {}) } : undefined;
    },
    async credentials(tenantId, extension) {
      const e = await repo.extension(tenantId, extension);
      return e ? { ha1Md5: e.ha1Md5, ha1Sha256: e.ha1Sha256, ...(e.digestAlgorithms ? { digestAlgorithms: e.digestAlgorithms } : {}) } : undefined;
    },
  };
}

/**
 * Caches tenant-by-domain answers (hits and misses) for `ttlMs`: every REGISTER of a tenant's phones
 * asks for the same tenant. A status change (suspend, terminate) is seen within `ttlMs`.
 */
export function cachedDirectory(inner: RegistrarDirectory, ttlMs: number, now: () => number = Date.now): RegistrarDirectory {
  const cache = new Map<string, { at: number; value: Promise<DirectoryTenant | undefined> }>();
  const MAX = 10_000;
  return {
    tenantByDomain(domain) {
      const hit = cache.get(domain);
      const t = now();
      if (hit && t - hit.at < ttlMs) return hit.value;
      if (cache.size >= MAX) cache.clear();
      const value = inner.tenantByDomain(domain);
      cache.set(domain, { at: t, value });
      value.catch(() => cache.delete(domain));
      return value;
    },
    credentials: (tenantId, extension) => inner.credentials(tenantId, extension),
  };
}
