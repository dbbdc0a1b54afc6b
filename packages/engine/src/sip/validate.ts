import { parseUInt } from './grammar.js';
import type { SipRequest } from './message.js';

/** What the engine accepts, for the semantic checks of `validateRequest`. */
export interface ValidationPolicy {
  /**
   * Option tags the engine (and its apps) support: a Require tag outside this list → 420 with Unsupported
   * (never for ACK and CANCEL). Default none.
   */
  supported?: readonly string[];
  /**
   * Content types accepted in request bodies, lower-case, without parameters; `'*'` accepts any. Checked only for
   * the methods in `contentTypeMethods`. A body of another type → 415 with Accept. Default `DEFAULT_ACCEPT`.
   */
  acceptContentTypes?: readonly string[] | '*';
  /** Methods whose body type is checked. Default INVITE, UPDATE, PRACK (session descriptions). */
  contentTypeMethods?: readonly string[];
  /**
   * Body types the engine/app would answer with (e.g. `application/sdp`). When set, a request in
   * `contentTypeMethods` whose Accept header lists none of them → 406. Default: not checked.
   */
  answerContentTypes?: readonly string[];
  /** Request-URI schemes served. Default sip, sips, tel. Others → 416. */
  uriSchemes?: readonly string[];
  /** True when the request would be forwarded (proxy/B2BUA leg): Max-Forwards 0 → 483. Default false. */
  forwarding?: boolean;
}

export type ValidationResult =
  | { ok: true }
  | {
      ok: false;
      status: number;
      reason: string;
      /** Header fields to add to the error response (Unsupported for 420, Accept for 415 ...). */
      headers: Array<[string, string]>;
    };

/** Content types accepted by default for session-description methods. */
export const DEFAULT_ACCEPT: readonly string[] = Object.freeze([
  'application/sdp',
  'multipart/mixed',
  'multipart/alternative',
  'multipart/related',
]);

const DEFAULT_SCHEMES: readonly string[] = Object.freeze(['sip', 'sips', 'tel']);
const DEFAULT_CT_METHODS: readonly string[] = Object.freeze(['INVITE', 'UPDATE', 'PRACK']);

/** RFC 1123 date as SIP requires it (RFC 3261 §25.1 `SIP-date`), always GMT. */
const SIP_DATE_RE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/;

function bad(status: number, reason: string, headers: Array<[string, string]> = []): ValidationResult {
  return { ok: false, status, reason, headers };
}

function mediaType(v: string): string {
  const semi = v.indexOf(';');
  return (semi < 0 ? v : v.slice(0, semi)).trim().toLowerCase();
}

function acceptMatches(accept: readonly string[], offered: readonly string[]): boolean {
  for (const a of accept) {
    const t = mediaType(a);
    if (t === '*/*') return true;
    for (const o of offered) {
      if (t === o) return true;
      if (t.endsWith('/*') && o.startsWith(t.slice(0, -1))) return true;
    }
  }
  return false;
}

/**
 * Semantic checks of a parsed request beyond syntax, in the order of RFC 3261 §8.2 / §16.3. Returns the first
 * failure: 416 (Request-URI scheme), 400 (Request-URI headers, Contact/Route/Record-Route/Date/Expires syntax, `*`
 * Contact misuse, missing Content-Type), 483 (Max-Forwards 0 when forwarding), 420 (Require), 415 (Content-Type,
 * Content-Encoding), 406 (Accept). Never throws.
 */
export function validateRequest(req: SipRequest, policy?: ValidationPolicy): ValidationResult {
  const method = req.method;
  const isAck = method === 'ACK';
  const isCancel = method === 'CANCEL';

  // Request-URI (§8.2.2.1)
  const ruri = req.requestUri;
  if (ruri === undefined) return bad(400, 'Malformed Request-URI');
  const schemes = policy?.uriSchemes ?? DEFAULT_SCHEMES;
  if (!schemes.includes(ruri.scheme)) return bad(416, 'Unsupported URI Scheme');
  if (ruri.kind === 'sip' && ruri.headers.length > 0) return bad(400, 'Request-URI must not contain headers');

  // Syntax of the headers parsed on demand.
  const h = req.headers;
  const contact = req.contact;
  if (contact === undefined) return bad(400, 'Malformed Contact');
  if (contact.star) {
    if (method !== 'REGISTER') return bad(400, 'Contact * outside REGISTER');
    if (h.get('expires') !== '0' && parseUInt(h.get('expires') ?? '') !== 0) return bad(400, 'Contact * requires Expires: 0');
  }
  if (req.routes === undefined) return bad(400, 'Malformed Route');
  if (req.recordRoutes === undefined) return bad(400, 'Malformed Record-Route');
  const expires = h.get('expires');
  if (expires !== undefined && !/^[0-9]+$/.test(expires)) return bad(400, 'Malformed Expires');
  if (h.count('expires') > 1) return bad(400, 'Multiple Expires');
  const date = h.get('date');
  if (date !== undefined && !SIP_DATE_RE.test(date)) return bad(400, 'Malformed Date');

  // Max-Forwards (§16.3 item 2)
  if (policy?.forwarding === true && !isAck && req.maxForwards === 0) return bad(483, 'Too Many Hops');

  // Require (§8.2.2.3)
  if (!isAck && !isCancel) {
    const required = h.values('require');
    if (required.length > 0) {
      const supported = policy?.supported ?? [];
      const unsupported = required.filter((t) => !supported.some((s) => s.toLowerCase() === t.toLowerCase()));
      if (unsupported.length > 0) return bad(420, 'Bad Extension', [['Unsupported', unsupported.join(', ')]]);
    }
  }

  // Content processing (§8.2.3)
  if (req.body.length > 0 && !isAck && req.contentType === undefined) return bad(400, 'Missing Content-Type');
  const ctMethods = policy?.contentTypeMethods ?? DEFAULT_CT_METHODS;
  if (!isAck && ctMethods.includes(method)) {
    const accept = policy?.acceptContentTypes ?? DEFAULT_ACCEPT;
    const acceptList = accept === '*' ? undefined : accept;
    if (req.body.length > 0) {
      const ct = req.contentType;
      if (acceptList !== undefined && ct !== undefined && !acceptList.includes(ct)) {
        return bad(415, 'Unsupported Media Type', [['Accept', acceptList.join(', ')]]);
      }
      const enc = h.values('content-encoding');
      if (enc.some((e) => e.toLowerCase() !== 'identity')) {
        return bad(415, 'Unsupported Media Type', [['Accept-Encoding', 'identity']]);
      }
    }
    const answer = policy?.answerContentTypes;
    if (answer !== undefined && h.has('accept')) {
      const acc = h.values('accept');
      if (acc.length > 0 && !acceptMatches(acc, answer)) {
        return bad(406, 'Not Acceptable', [['Accept', answer.join(', ')]]);
      }
    }
  }
  return { ok: true };
}
