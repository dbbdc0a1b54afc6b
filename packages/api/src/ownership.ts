/**
 * Operator-owned numbers and carriers (docs/security.md): tenant admins add DIDs only for
 * numbers an operator granted to the tenant and point trunks only at granted gateway addresses;
 * special addresses (loopback, unspecified, broadcast, …) need an explicit operator grant for
 * everyone. Refusals never say that another tenant has a number or an address.
 */
import { canonicalHost, classifyAddress, isGatewayGranted, isNumberGranted, isSpecialAddress } from '@kumo/domain';
import { KumoError, isKumoError } from '@kumo/runtime';
import type { GrantRepo, ProvisioningRepo } from '@kumo/store';
import type { FastifyRequest } from 'fastify';

const isOperator = (req: FastifyRequest): boolean => req.principal?.role === 'operator';

/** A tenant admin may add a DID only for a granted number (operators may add any). */
export async function checkDidGranted(grants: GrantRepo, req: FastifyRequest, tenantId: string, e164: string): Promise<void> {
  if (isOperator(req)) return;
  if (!isNumberGranted(await grants.get(tenantId), e164)) {
    throw new KumoError('KUMO_ERR_NOT_ASSIGNED', `number ${e164} is not assigned to this tenant; numbers are assigned by the operator`, { number: e164 });
  }
}

/**
 * Gateways new to the trunk: tenant admins only granted ones; special addresses only when
 * granted (explicitly, with allowSpecial) — for operators too.
 */
export async function checkGatewaysGranted(grants: GrantRepo, req: FastifyRequest, tenantId: string, hosts: readonly string[], existing: readonly string[] = []): Promise<void> {
  const fresh = [...new Set(hosts.map(canonicalHost))].filter((h) => !existing.map(canonicalHost).includes(h));
  if (fresh.length === 0) return;
  const g = await grants.get(tenantId);
  for (const h of fresh) {
    if (isGatewayGranted(g, h)) continue;
    if (isSpecialAddress(h)) {
      throw new KumoError('KUMO_ERR_ADDRESS_NOT_ALLOWED', `gateway ${h} is a ${classifyAddress(h)} address; only an operator grant can allow it`, { host: h, class: classifyAddress(h) });
    }
    if (!isOperator(req)) {
      throw new KumoError('KUMO_ERR_NOT_ASSIGNED', `gateway ${h} is not assigned to this tenant; carrier gateways are assigned by the operator`, { host: h });
    }
  }
}

/**
 * Caller-ID rule: an outbound caller ID (extension `outboundCallerId`, trunk `callerId`) must be
 * one of the tenant's numbers — its DIDs, or numbers the operator approved (granted). The trunk's
 * `numberFormat` decides how it is sent (`formatForTrunk`); 184/186 per call are unaffected.
 */
export async function checkCallerIdOwned(grants: GrantRepo, repo: ProvisioningRepo, tenantId: string, e164: string | undefined, field: string): Promise<void> {
  if (e164 === undefined || e164 === '') return;
  if (isNumberGranted(await grants.get(tenantId), e164)) return;
  if ((await repo.did(tenantId, e164)) !== null) return;
  throw new KumoError('KUMO_ERR_CALLER_ID_NOT_OWNED', `${field} ${e164} is not one of this tenant's numbers (its DIDs or numbers the operator approved)`, {
    problems: [{ field, message: "must be one of the tenant's DIDs or operator-approved numbers" }],
    number: e164,
  });
}

/** For tenant admins, "taken by another tenant" becomes "not available" (no other tenant is revealed). */
export function hideOtherTenants(err: unknown, req: FastifyRequest): unknown {
  if (isOperator(req) || !isKumoError(err)) return err;
  if (err.code === 'KUMO_ERR_DID_TAKEN') return new KumoError('KUMO_ERR_NOT_ASSIGNED', 'the number is not available to this tenant; ask the operator');
  if (err.code === 'KUMO_ERR_GATEWAY_TAKEN') return new KumoError('KUMO_ERR_NOT_ASSIGNED', 'the gateway is not available to this tenant; ask the operator');
  return err;
}
