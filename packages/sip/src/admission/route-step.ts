/**
 * The `admitCall` step of the INVITE route (request-route/route.ts), backed by CallAdmission,
 * and the REGISTER rate cap in front of the registrar.
 */
import { parseDialled, type PriorityFacts } from '@kumo/domain';
import { isKumoError } from '@kumo/runtime';
import type { SipHandler } from '../drachtio/types.js';
import type { AdmissionAnswer, AdmitCall, CallToAdmit } from '../request-route/route.js';
import type { AdmissionCall, CallAdmission } from './call-admission.js';
import { admissionContractOf, trunkLimitOf } from './policy-config.js';

const REASON_PHRASE: Readonly<Record<number, string>> = { 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

/** What the route knows about a call, as admission's input. */
export function admissionCallOf(c: CallToAdmit, burstSeconds: number): AdmissionCall {
  const t = c.tenant;
  const d = parseDialled(c.dialled);
  const inbound = c.caller.kind === 'trunk';
  const facts: PriorityFacts = {
    dialled: c.emergency && d.type === 'emergency' ? d.service : c.dialled,
    ...(d.type === 'external' && d.e164 !== null ? { calleeE164: d.e164 } : {}),
    ...(inbound && c.dialled.startsWith('+') ? { calleeE164: c.dialled } : {}),
    ...(d.type === 'internal' ? { calleeExtension: d.number } : {}),
    ...(c.caller.kind === 'extension' ? { callerExtension: c.caller.extension } : {}),
    ...(c.caller.kind === 'trunk' && c.caller.number.startsWith('+') ? { callerE164: c.caller.number } : {}),
  };
  return {
    tenantId: t.id,
    callId: c.callId,
    status: t.status,
    restrictionLevel: t.restrictionLevel,
    contract: admissionContractOf(t, burstSeconds),
    direction: inbound ? 'inbound' : c.emergency || d.type === 'external' ? 'outbound' : 'internal',
    facts,
    ...(c.trunk ? { trunk: trunkLimitOf(c.trunk) } : {}),
    source: c.caller.kind === 'extension' ? `ext:${c.caller.extension}` : `trunk:${c.caller.trunkId}`,
  };
}

/**
 * The route's admission step: refusals carry the SIP status, `X-Kumo-Reason` / `Retry-After`
 * headers and the stable reason as the CDR's `rejectionReason`; admitted calls release their
 * leases on every ending path (the route's `finally`). Redis trouble answers 503
 * `admission-unavailable` (emergency calls are still admitted, see CallAdmission).
 */
export function admissionStep(admission: CallAdmission, o: { burstSeconds: number }): AdmitCall {
  return async (c): Promise<AdmissionAnswer> => {
    let r;
    try {
      r = await admission.admit(admissionCallOf(c, o.burstSeconds));
    } catch (err) {
      if (!isKumoError(err)) throw err;
      return { admit: false, status: 503, reason: 'Service Unavailable', code: 'admission-unavailable', headers: { 'Retry-After': '5', 'X-Kumo-Reason': 'admission-unavailable' } };
    }
    if (!r.admit) return { admit: false, status: r.status, reason: REASON_PHRASE[r.status] ?? 'Service Unavailable', code: r.reason, headers: r.headers };
    const ticket = r.ticket;
    let answered = false;
    return {
      admit: true,
      release: () => admission.release(ticket, { answered }),
      answered: () => {
        answered = true;
        return Promise.resolve();
      },
    };
  };
}

/** The REGISTER rate cap per source address: 503 + Retry-After beyond it, else the registrar. */
export function registerRateCap(admission: CallAdmission, registrar: SipHandler): SipHandler {
  return async (req, res) => {
    const r = await admission.admitRegister(req.source_address);
    if (!r.allowed) {
      res.send(503, 'Service Unavailable', { headers: r.headers });
      return;
    }
    await registrar(req, res);
  };
}
