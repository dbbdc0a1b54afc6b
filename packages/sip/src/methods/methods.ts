/**
 * Requests other than REGISTER and INVITE, answered by the sip app itself (not by the engine), so
 * Kumo answers the same on its own engine and on the C++ drachtio-server (RFC 3261 §11, §8.2.1):
 *
 * - OPTIONS (out of dialog, from phones and carriers alike, and inside calls): `200` with `Allow`,
 *   `Accept` and `Supported`: the keep-alive and health probe that phones and carriers send.
 * - Methods Kumo knows but does not serve out of a dialog (MESSAGE, SUBSCRIBE, PUBLISH, REFER):
 *   `405 Method Not Allowed` with `Allow`.
 * - Requests that only exist inside a dialog (INFO, UPDATE, NOTIFY, PRACK) arriving outside one,
 *   and any request with a To tag of a dialog Kumo does not know: `481`.
 * - Any other method that reaches the app: `501 Not Implemented` with `Allow`.
 */
import type { SipHandler, SipRequest, SipResponse } from '../drachtio/types.js';
import { refusalHeaders } from '../request-route/refusal.js';

/** What Kumo accepts: out of dialog REGISTER, INVITE, OPTIONS; inside calls the rest. */
export const ALLOWED_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER', 'INFO', 'UPDATE', 'REFER', 'NOTIFY', 'PRACK'] as const;
/** Option tags Kumo supports (RFC 3891 Replaces: attended transfer and INVITE with Replaces). */
export const SUPPORTED_OPTIONS = ['replaces'] as const;
/** Bodies Kumo understands in requests it answers itself: SDP offers (INFO and MESSAGE bodies inside calls are relayed as they are). */
export const ACCEPTED_TYPES = ['application/sdp'] as const;

/** The capability headers of a 200 to OPTIONS (and the Allow of 405/501). */
export function capabilityHeaders(): Record<string, string> {
  return {
    Allow: ALLOWED_METHODS.join(', '),
    Accept: ACCEPTED_TYPES.join(', '),
    'Accept-Encoding': 'identity',
    'Accept-Language': 'en, ja',
    Supported: SUPPORTED_OPTIONS.join(', '),
  };
}

/** The IANA "SIP Methods" registry: a method outside it is unknown (501), inside it known (405/481). */
export const KNOWN_METHODS = new Set(['ACK', 'BYE', 'CANCEL', 'INFO', 'INVITE', 'MESSAGE', 'NOTIFY', 'OPTIONS', 'PRACK', 'PUBLISH', 'REFER', 'REGISTER', 'SUBSCRIBE', 'UPDATE']);
/** Methods that only make sense inside a dialog or an INVITE transaction. */
const DIALOG_ONLY = new Set(['INFO', 'UPDATE', 'NOTIFY', 'PRACK', 'BYE']);
/** Known methods Kumo does not serve outside a dialog. */
export const NOT_SERVED_METHODS = ['MESSAGE', 'SUBSCRIBE', 'PUBLISH', 'REFER'] as const;

function hasToTag(req: SipRequest): boolean {
  return /;\s*tag=/i.test(req.get('to') ?? '');
}

/** OPTIONS: 200 with the capability headers (no authentication: a keep-alive or a health probe). */
export const answerOptions: SipHandler = (req, res) => {
  // An OPTIONS with a To tag belongs to a dialog; inside a call drachtio-srf hands it to the call's
  // dialog (srf-io.ts answers it there), so one arriving here names a dialog that does not exist.
  if (hasToTag(req)) res.send(481, 'Call/Transaction Does Not Exist', { headers: refusalHeaders(481, 'no-dialog') });
  else res.send(200, 'OK', { headers: capabilityHeaders() });
  return Promise.resolve();
};

/** Answers a request of a method Kumo does not serve here (405, 481 or 501, see above). */
export function refuseMethod(req: SipRequest, res: SipResponse): void {
  if (req.method === 'ACK' || res.finalResponseSent) return;
  const m = req.method.toUpperCase();
  const allow = { Allow: ALLOWED_METHODS.join(', ') };
  if (!KNOWN_METHODS.has(m)) res.send(501, 'Not Implemented', { headers: refusalHeaders(501, 'unknown-method', allow) });
  else if (hasToTag(req) || DIALOG_ONLY.has(m)) res.send(481, 'Call/Transaction Does Not Exist', { headers: refusalHeaders(481, 'no-dialog') });
  else res.send(405, 'Method Not Allowed', { headers: refusalHeaders(405, 'method-not-allowed', allow) });
}

/**
 * OPTIONS while the process drains (SIGTERM): `503` + `Retry-After` out of dialog, so a load balancer probing
 * with OPTIONS (Kamailio's dispatcher, infra/kamailio) stops sending new calls here before the process goes
 * (docs/scaling.md, rolling restart). In-dialog OPTIONS are the calls' own and are answered as usual.
 */
export function drainAwareOptions(draining: () => boolean): SipHandler {
  return (req, res) => {
    if (draining() && !hasToTag(req)) {
      res.send(503, 'Service Unavailable', { headers: refusalHeaders(503, 'shutting-down', { 'Retry-After': '5', 'X-Kumo-Reason': 'shutting-down' }) });
      return Promise.resolve();
    }
    return answerOptions(req, res);
  };
}

/** Handlers for the methods the app routes besides REGISTER and INVITE; `draining` makes OPTIONS answer 503 during a drain. */
export function methodHandlers(draining?: () => boolean): Record<string, SipHandler> {
  const refuse: SipHandler = (req, res) => {
    refuseMethod(req, res);
    return Promise.resolve();
  };
  const out: Record<string, SipHandler> = { OPTIONS: draining ? drainAwareOptions(draining) : answerOptions };
  for (const m of [...NOT_SERVED_METHODS, 'INFO', 'UPDATE', 'NOTIFY']) out[m] = refuse;
  return out;
}
