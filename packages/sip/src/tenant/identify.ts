/**
 * Which tenant a phone's request is for, from the host part of its address (the AoR's host for
 * REGISTER, the From host, then the request-URI host for calls). One rule for the registrar and the
 * call path, so a phone that registers can also call:
 *
 * 1. the host, lower case, without brackets, port or a trailing dot;
 * 2. a configured alias (`KUMO_SIP_DOMAIN_ALIASES`, e.g. the server's own host names) → its domain;
 * 3. an IP address (a softphone given the server address, such as `127.0.0.1`, as its domain) → the
 *    configured `KUMO_SIP_IP_HOST_DOMAIN` (the demo tenant with `kumo up --demo`);
 * 4. otherwise the host itself, looked up as a tenant SIP domain.
 */
export interface TenantHostSettings {
  /** Tenant domain for IP hosts. */
  readonly ipHostDomain?: string | undefined;
  /** Alias host → tenant domain. */
  readonly domainAliases?: ReadonlyMap<string, string> | undefined;
}

/** The host of a SIP URI or host[:port] string, normalised (lower case, no brackets/port/trailing dot). */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (v6) return v6[1] as string;
  if (/^[^:]+:\d+$/.test(h)) h = h.slice(0, h.lastIndexOf(':'));
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

export function isIpHost(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

/** The SIP domain to look a tenant up by, for a phone that used `host` as its domain. */
export function tenantDomainOf(host: string, s: TenantHostSettings): string {
  const h = normaliseHost(host);
  const alias = s.domainAliases?.get(h);
  if (alias !== undefined) return alias;
  if (s.ipHostDomain !== undefined && isIpHost(h)) return s.ipHostDomain;
  return h;
}
