import { isIP } from 'node:net';
import type { AppConnection } from '../control/server.js';
import { SipHeaders, SipRequest, finishMessage, formatNameAddr, newParams, parseNameAddr, parseUri, type NameAddr, type SipResponse } from '../sip/index.js';
import type { Dest } from '../transaction/types.js';
import { bareHost, isStream, type Proto } from '../transport/types.js';
import { randomCSeq } from '../util.js';
import type { Dialog } from './dialog.js';

/** Pure dialog-state functions of the UA core (RFC 3261 §12): creating dialogs and building in-dialog requests. */

/**
 * A From/To value without its tag, as a dialog's local/remote URI. `parsed`: the message's own parse of this very
 * value (its `from`/`to`), so that it is not parsed twice.
 */
export function stripTag(value: string, parsed?: NameAddr): string {
  if (!/tag/i.test(value)) return value; // no tag parameter can be there: no parse (a new request's To)
  const na = parsed ?? parseNameAddr(value);
  if (!na || na.tag === undefined) return value;
  // the other parameters, in order, into a fresh set (a `delete` would turn the object into a slow dictionary)
  const params = newParams();
  for (const k in na.params) if (k !== 'tag') params[k] = na.params[k] ?? null;
  return formatNameAddr({ ...na, params, tag: undefined, bracketed: true });
}

function firstContact(m: SipRequest | SipResponse): string | undefined {
  const c = m.contact;
  return c && !c.star ? c.contacts[0]?.uriText : undefined;
}

/** The remote URI of a UAC dialog: the response's To (the request's when it has none), without its tag. */
function remoteOf(res: SipResponse, req: SipRequest): string {
  const to = res.headers.get('to');
  return to !== undefined ? stripTag(to, res.to) : stripTag(req.headers.get('to') ?? '', req.to);
}

/** UAC dialog from our INVITE and a 1xx-with-tag or 2xx (§12.1.2): route set = Record-Route reversed. */
export function uacDialog(req: SipRequest, res: SipResponse, id: string, state: 'early' | 'confirmed', dest: Dest, app: AppConnection | undefined): Dialog {
  return {
    id,
    role: 'uac',
    callId: req.callId ?? '',
    localTag: req.from?.tag ?? '',
    remoteTag: res.to?.tag ?? '',
    localUri: stripTag(req.headers.get('from') ?? '', req.from),
    remoteUri: remoteOf(res, req),
    remoteTarget: firstContact(res) ?? req.uri,
    routeSet: res.headers.values('record-route').reverse(),
    localSeq: req.cseq?.seq ?? 1,
    remoteSeq: 0,
    localContact: req.headers.get('contact') ?? '',
    app,
    dest,
    state,
    isInvite: true,
    ackWait: undefined,
    inviteTxnId: '',
    inviteCSeq: req.cseq?.seq ?? 1,
    lastAck: undefined,
    byeAfterAck: false,
    hop: undefined,
    created: Date.now(),
  };
}

/** An early UAC dialog confirmed by the 2xx: its tag, target and route set win (§12.1.2, §13.2.2.4). */
export function confirmUacDialog(d: Dialog, res: SipResponse): void {
  d.state = 'confirmed';
  d.remoteTag = res.to?.tag ?? d.remoteTag;
  const target = firstContact(res);
  if (target !== undefined) d.remoteTarget = target;
  d.routeSet = res.headers.values('record-route').reverse();
}

/** UAS dialog from a request and our 1xx/2xx (§12.1.1): route set = Record-Route as received. */
export function uasDialog(
  req: SipRequest,
  id: string,
  state: 'early' | 'confirmed',
  o: { localTag: string; localContact: string; inviteTxnId: string; dest: Dest; app: AppConnection | undefined },
): Dialog {
  return {
    id,
    role: 'uas',
    callId: req.callId ?? '',
    localTag: o.localTag,
    remoteTag: req.from?.tag ?? '',
    localUri: stripTag(req.headers.get('to') ?? '', req.to),
    remoteUri: stripTag(req.headers.get('from') ?? '', req.from),
    remoteTarget: firstContact(req) ?? '',
    routeSet: req.headers.values('record-route'),
    localSeq: randomCSeq(),
    remoteSeq: req.cseq?.seq ?? 0,
    localContact: o.localContact,
    app: o.app,
    dest: o.dest,
    state,
    isInvite: req.method === 'INVITE',
    ackWait: undefined,
    inviteTxnId: o.inviteTxnId,
    inviteCSeq: 0,
    lastAck: undefined,
    byeAfterAck: false,
    hop: undefined,
    created: Date.now(),
  };
}

/** Where in-dialog requests go: first route (loose routing) or the remote target; reuse the TCP connection. */
export function dialogDest(d: Dialog): Dest {
  const first = d.routeSet[0];
  let hop = d.hop;
  if (hop === undefined || hop.route !== first || hop.target !== d.remoteTarget) {
    const target = first !== undefined ? parseNameAddr(first)?.uri : parseUri(d.remoteTarget);
    const u = target && target.kind === 'sip' ? target : undefined;
    hop = { route: first, target: d.remoteTarget, uri: u, ip: u !== undefined && isIP(bareHost(u.host)) !== 0 };
    d.hop = hop;
  }
  const u = hop.uri;
  if (!u) return d.dest;
  const tp = (u.params.transport ?? '').toLowerCase();
  const proto: Proto = u.scheme === 'sips' || tp === 'tls' ? 'tls' : tp === 'tcp' ? 'tcp' : d.dest.proto;
  const addr = bareHost(u.host);
  const port = u.port ?? (proto === 'tls' ? 5061 : 5060);
  if (d.dest.conn && !d.dest.conn.closed && isStream(proto)) return d.dest; // connection reuse
  if (!hop.ip) return d.dest; // no DNS for in-dialog targets: use where the dialog came from
  return { proto, addr, port };
}

/**
 * Request-URI and Route values of an in-dialog request (§12.2.1.1): the remote target (or the app's URI, unless it is
 * drachtio's `sip:placeholder`) with the route set; strict routing when the first route has no `lr` (its URI becomes
 * the Request-URI and the remote target the last route).
 */
function inDialogTarget(d: Dialog, method: string, uri: string | undefined): { ruri: string; routes: readonly string[] } {
  const ruri = uri !== undefined && uri !== 'sip:placeholder' && method !== 'ACK' ? uri : d.remoteTarget;
  const first = d.routeSet[0];
  if (first !== undefined) {
    const na = parseNameAddr(first);
    const fu = na?.uri;
    if (na && fu && fu.kind === 'sip' && !('lr' in fu.params)) return { ruri: na.uriText, routes: [...d.routeSet.slice(1), `<${ruri}>`] };
  }
  return { ruri, routes: d.routeSet };
}

/**
 * Builds an in-dialog request (§12.2.1.1), without Via: Request-URI and route set as `inDialogTarget` says,
 * From/To/Call-ID from the dialog, the next local CSeq unless `cseq` is given (the ACK reuses the INVITE's).
 */
export function buildInDialog(d: Dialog, method: string, uri: string | undefined, extra: SipHeaders, body: Buffer, cseq?: number): SipRequest {
  const h = new SipHeaders();
  const { ruri, routes } = inDialogTarget(d, method, uri);
  for (const r of routes) h.append('Route', r);
  h.append('Max-Forwards', '70');
  h.append('From', `${d.localUri};tag=${d.localTag}`);
  h.append('To', d.remoteTag ? `${d.remoteUri};tag=${d.remoteTag}` : d.remoteUri);
  h.append('Call-ID', d.callId);
  let seq = cseq;
  if (seq === undefined) {
    d.localSeq += 1;
    seq = d.localSeq;
  }
  h.append('CSeq', `${seq} ${method}`);
  for (const f of extra) h.append(f.name, f.value);
  return new SipRequest(method, ruri, h, body);
}

/**
 * An in-dialog request as wire bytes, written straight into text: `via` first, then what `buildInDialog` writes (the
 * route set, Max-Forwards, From, To, Call-ID, CSeq: the next local one unless `cseq` is given) and the `extra` header
 * fields in order, Content-Length and the body; byte for byte `buildInDialog` + `serialize` (a unit test compares
 * them). `owned`: in memory of its own rather than a view of a shared pool slab, for bytes kept for the call's life.
 */
export function inDialogBytes(
  d: Dialog,
  method: string,
  uri: string | undefined,
  via: string,
  extra: readonly (readonly [string, string])[],
  body: Buffer,
  cseq?: number,
  owned = false,
): Buffer {
  const { ruri, routes } = inDialogTarget(d, method, uri);
  let seq = cseq;
  if (seq === undefined) {
    d.localSeq += 1;
    seq = d.localSeq;
  }
  let head = `${method} ${ruri} SIP/2.0\r\nVia: ${via}`;
  for (const r of routes) head += `\r\nRoute: ${r}`;
  head += `\r\nMax-Forwards: 70\r\nFrom: ${d.localUri};tag=${d.localTag}\r\nTo: ${d.remoteTag ? `${d.remoteUri};tag=${d.remoteTag}` : d.remoteUri}`;
  head += `\r\nCall-ID: ${d.callId}\r\nCSeq: ${seq} ${method}`;
  for (const [name, value] of extra) head += `\r\n${name}: ${value}`;
  return finishMessage(head, body, owned);
}

/**
 * The ACK of the dialog's last INVITE 2xx (§13.2.2.4) as wire bytes of their own: the dialog keeps it for the call's
 * life to answer retransmitted 2xx, so it must not be a view of a shared pool slab (util.ts ownedCopy).
 */
export function dialogAckBytes(d: Dialog, via: string, body: Buffer, contentType: string | undefined): Buffer {
  const extra: [string, string][] = body.length > 0 ? [['Content-Type', contentType ?? 'application/sdp']] : [];
  return inDialogBytes(d, 'ACK', undefined, via, extra, body, d.inviteCSeq, true);
}
