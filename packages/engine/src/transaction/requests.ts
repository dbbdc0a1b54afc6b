import { SipHeaders, SipRequest, SipResponse, reasonPhrase } from '../sip/index.js';
import { newTag } from '../util.js';

/**
 * The messages the transaction layer writes itself, from the request it serves or sent (RFC 3261 §8.2.6, §9.1,
 * §17.1.1.3). Pure: no I/O, no state; the engine serializes and sends what they return.
 */

/**
 * A response to a request from the network: every Via in order, From, To (with a To-tag added when it has none and the
 * status is above 100: `toTag`, or a new one), Call-ID and CSeq as written, then `extra`, Content-Length 0.
 */
export function buildResponse(req: SipRequest, status: number, reason?: string, toTag?: string, extra: readonly (readonly [string, string])[] = []): SipResponse {
  const h = new SipHeaders();
  for (const v of req.headers.getAll('via')) h.append('Via', v);
  const from = req.headers.get('from');
  if (from !== undefined) h.append('From', from);
  let to = req.headers.get('to');
  if (to !== undefined && status > 100 && req.to?.tag === undefined) to = `${to};tag=${toTag ?? newTag()}`;
  if (to !== undefined) h.append('To', to);
  const cid = req.headers.get('call-id');
  if (cid !== undefined) h.append('Call-ID', cid);
  const cseq = req.headers.get('cseq');
  if (cseq !== undefined) h.append('CSeq', cseq);
  for (const [k, v] of extra) h.append(k, v);
  h.append('Content-Length', '0');
  return new SipResponse(status, reason ?? reasonPhrase(status), h);
}

/** The head an ACK or CANCEL shares with its INVITE (§17.1.1.3, §9.1): the INVITE's top Via and Route set. */
function sameTransactionHead(req: SipRequest): SipHeaders {
  const h = new SipHeaders();
  h.append('Via', req.headers.get('via') ?? '');
  for (const r of req.headers.getAll('route')) h.append('Route', r);
  h.append('Max-Forwards', '70');
  h.append('From', req.headers.get('from') ?? '');
  return h;
}

/**
 * The ACK for a non-2xx final response to an INVITE client transaction (RFC 3261 §17.1.1.3): the INVITE's Request-URI,
 * top Via (same branch), Route, From, Call-ID and CSeq number; the To of the response (with its tag).
 */
export function buildNon2xxAck(invite: SipRequest, res: SipResponse): SipRequest {
  const h = sameTransactionHead(invite);
  h.append('To', res.headers.get('to') ?? invite.headers.get('to') ?? '');
  h.append('Call-ID', invite.headers.get('call-id') ?? '');
  h.append('CSeq', `${invite.cseq?.seq ?? 1} ACK`);
  h.append('Content-Length', '0');
  return new SipRequest('ACK', invite.uri, h);
}

/**
 * A CANCEL of an INVITE (RFC 3261 §9.1): the INVITE's Request-URI, top Via (same branch), Route, From, To, Call-ID and
 * CSeq number; `reason` (RFC 3326, e.g. `SIP;cause=200;text="Call completed elsewhere"`) when given.
 */
export function buildCancel(invite: SipRequest, reason?: string): SipRequest {
  const h = sameTransactionHead(invite);
  h.append('To', invite.headers.get('to') ?? '');
  h.append('Call-ID', invite.headers.get('call-id') ?? '');
  h.append('CSeq', `${invite.cseq?.seq ?? 1} CANCEL`);
  if (reason !== undefined && reason !== '') h.append('Reason', reason);
  h.append('Content-Length', '0');
  return new SipRequest('CANCEL', invite.uri, h);
}

/**
 * A final response the client transaction reports for a request that got none (408 on timer B/F or C, 503 when it
 * could not be sent; RFC 3261 §8.1.3.1): the request's Via, From, To, Call-ID and CSeq.
 */
export function buildLocalFailure(req: SipRequest, status: number, reason: string): SipResponse {
  const h = new SipHeaders();
  h.append('Via', req.headers.get('via') ?? '');
  h.append('From', req.headers.get('from') ?? '');
  h.append('To', req.headers.get('to') ?? '');
  h.append('Call-ID', req.headers.get('call-id') ?? '');
  h.append('CSeq', req.headers.get('cseq') ?? '');
  h.append('Content-Length', '0');
  return new SipResponse(status, reason, h);
}
