/**
 * What the registrar needs from provisioning, as an interface so the registrar does not depend on how
 * the api stores tenants. `storeDirectory()` (directory-store.ts) implements it over @kumo/store.
 */
import type { DigestPolicy } from '@kumo/domain';

export type TenantStatus = 'active' | 'suspended' | 'terminated';

export interface DirectoryTenant {
  readonly id: string;
  /** The tenant's SIP domain: the digest realm of its phones. */
  readonly domain: string;
  readonly status: TenantStatus;
  /** The tenant's digest policy; unset: the server's. */
  readonly digestAlgorithms?: DigestPolicy | undefined;
}

export interface DigestSecrets {
  /** HA1 = MD5(`extension:domain:password`), hex. */
  readonly ha1Md5: string;
  /** HA1 = SHA-256(`extension:domain:password`), hex. */
  readonly ha1Sha256: string;
  /** The extension's own digest policy; unset: the tenant's. */
  readonly digestAlgorithms?: DigestPolicy | undefined;
}

export interface RegistrarDirectory {
  tenantByDomain(domain: string): Promise<DirectoryTenant | undefined>;
  credentials(tenantId: string, extension: string): Promise<DigestSecrets | undefined>;
}
