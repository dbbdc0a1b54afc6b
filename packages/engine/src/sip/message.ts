import { parseCSeq, parseUInt } from './grammar.js';
import { SipHeaders, splitHeaderValues } from './headers.js';
import { parseNameAddr, parseNameAddrList } from './nameaddr.js';
import { parseUri } from './uri.js';
import { formatVia, parseVia } from './via.js';
import type { ContactSet, CSeq, HeaderField, NameAddr, Uri, Via } from './types.js';

const EMPTY = Buffer.alloc(0);

/**
 * Fields shared by requests and responses. Parsed header accessors are computed on first use and cached until the
 * headers change (`headers.rev`). An accessor returns undefined when the header is absent or malformed.
 */
export abstract class SipMessageBase {
  readonly headers: SipHeaders;
  /** Body bytes, exactly `Content-Length` long for a parsed message. */
  body: Buffer;
  /** The bytes the message was parsed from (start line to end of body), for verbatim echo/forwarding. */
  raw: Buffer | undefined;
  abstract readonly isResponse: boolean;

  private cacheRev = -1;
  private cache: {
    vias?: Via[] | undefined;
    from?: NameAddr | undefined;
    to?: NameAddr | undefined;
    cseq?: CSeq | undefined;
    contact?: ContactSet | undefined;
    routes?: NameAddr[] | undefined;
    recordRoutes?: NameAddr[] | undefined;
  } = {};

  protected constructor(headers: SipHeaders | Iterable<HeaderField | readonly [string, string]> | undefined, body: Buffer | undefined) {
    this.headers = headers instanceof SipHeaders ? headers : new SipHeaders(headers);
    this.body = body ?? EMPTY;
    this.raw = undefined;
  }

  private c(): SipMessageBase['cache'] {
    if (this.cacheRev !== this.headers.rev) {
      this.cache = {};
      this.cacheRev = this.headers.rev;
    }
    return this.cache;
  }

  /** @internal The parser hands over what it already parsed, so the accessors do not parse twice. */
  _prime(vias: Via[], from: NameAddr, to: NameAddr, cseq: CSeq): void {
    this.cacheRev = this.headers.rev;
    this.cache = { vias, from, to, cseq };
  }

  /** Drop cached parsed headers (done automatically when edited through `headers`). */
  invalidate(): void {
    this.cacheRev = -1;
  }

  get callId(): string | undefined {
    return this.headers.get('call-id');
  }

  /** Every Via, top first, across all Via fields. Undefined when one is malformed. */
  get vias(): Via[] | undefined {
    const c = this.c();
    if (!('vias' in c)) {
      const out: Via[] = [];
      let bad = false;
      for (const f of this.headers) {
        if (f.key !== 'via') continue;
        const v = parseVia(f.value);
        if (v === undefined) {
          bad = true;
          break;
        }
        for (const x of v) out.push(x);
      }
      c.vias = bad ? undefined : out;
    }
    return c.vias;
  }

  get topVia(): Via | undefined {
    return this.vias?.[0];
  }

  /**
   * Replace the top Via (e.g. after setting `received`/`rport` in its params). When the first Via field holds
   * several comma-separated vias, only the first one is rewritten. False when there is no parsable Via.
   */
  setTopVia(via: Via): boolean {
    return this.rewriteTopVia(formatVia(via));
  }

  /** Remove the top Via (only the first value of a comma-separated field) and return it. */
  removeTopVia(): Via | undefined {
    const top = this.topVia;
    if (top === undefined) return undefined;
    this.rewriteTopVia(undefined);
    return top;
  }

  private rewriteTopVia(text: string | undefined): boolean {
    const first = this.headers.get('via');
    if (first === undefined || this.topVia === undefined) return false;
    const rest = splitHeaderValues(first).slice(1);
    if (text !== undefined) rest.unshift(text);
    if (rest.length > 0) this.headers.replaceAt('via', 0, rest.join(', '));
    else this.headers.removeFirst('via');
    return true;
  }

  get from(): NameAddr | undefined {
    const c = this.c();
    if (!('from' in c)) {
      const v = this.headers.get('from');
      c.from = v === undefined ? undefined : parseNameAddr(v);
    }
    return c.from;
  }

  get to(): NameAddr | undefined {
    const c = this.c();
    if (!('to' in c)) {
      const v = this.headers.get('to');
      c.to = v === undefined ? undefined : parseNameAddr(v);
    }
    return c.to;
  }

  get cseq(): CSeq | undefined {
    const c = this.c();
    if (!('cseq' in c)) {
      const v = this.headers.get('cseq');
      c.cseq = v === undefined ? undefined : parseCSeq(v);
    }
    return c.cseq;
  }

  /** Contact set: `*` or the list of addresses (empty list when there is no Contact). Undefined when malformed. */
  get contact(): ContactSet | undefined {
    const c = this.c();
    if (!('contact' in c)) {
      const values = this.headers.values('contact');
      if (values.length === 1 && values[0] === '*') c.contact = { star: true, contacts: [] };
      else if (values.includes('*')) c.contact = undefined;
      else {
        const list = parseNameAddrList(values);
        c.contact = list === undefined ? undefined : { star: false, contacts: list };
      }
    }
    return c.contact;
  }

  /** Route set from all Route fields, in order (empty when none). */
  get routes(): NameAddr[] | undefined {
    const c = this.c();
    if (!('routes' in c)) c.routes = parseNameAddrList(this.headers.values('route'));
    return c.routes;
  }

  /** Record-Route entries from all Record-Route fields, in order (empty when none). */
  get recordRoutes(): NameAddr[] | undefined {
    const c = this.c();
    if (!('recordRoutes' in c)) c.recordRoutes = parseNameAddrList(this.headers.values('record-route'));
    return c.recordRoutes;
  }

  get contentLength(): number | undefined {
    const v = this.headers.get('content-length');
    return v === undefined ? undefined : parseUInt(v);
  }

  get maxForwards(): number | undefined {
    const v = this.headers.get('max-forwards');
    return v === undefined ? undefined : parseUInt(v);
  }

  get expires(): number | undefined {
    const v = this.headers.get('expires');
    return v === undefined ? undefined : parseUInt(v);
  }

  /** Content-Type media type, lower-case, without parameters (`application/sdp`). */
  get contentType(): string | undefined {
    const v = this.headers.get('content-type');
    if (v === undefined) return undefined;
    const semi = v.indexOf(';');
    return (semi < 0 ? v : v.slice(0, semi)).trim().toLowerCase();
  }
}

export class SipRequest extends SipMessageBase {
  readonly isResponse = false as const;
  /** Method as written (case-sensitive per RFC 3261). */
  method: string;
  /** SIP version text, `SIP/2.0`. */
  version: string;
  private uriText: string;
  private uriParsed: Uri | undefined | null = null;

  constructor(
    method: string,
    uri: string,
    headers?: SipHeaders | Iterable<HeaderField | readonly [string, string]>,
    body?: Buffer,
    version = 'SIP/2.0',
  ) {
    super(headers, body);
    this.method = method;
    this.uriText = uri;
    this.version = version;
  }

  /** Request-URI text as written. */
  get uri(): string {
    return this.uriText;
  }

  set uri(text: string) {
    this.uriText = text;
    this.uriParsed = null;
  }

  /** @internal The parser hands over the Request-URI it already parsed. */
  _primeUri(u: Uri | undefined): void {
    this.uriParsed = u;
  }

  /** Parsed Request-URI (cached); undefined when malformed. */
  get requestUri(): Uri | undefined {
    if (this.uriParsed === null) this.uriParsed = parseUri(this.uriText);
    return this.uriParsed;
  }
}

export class SipResponse extends SipMessageBase {
  readonly isResponse = true as const;
  status: number;
  reason: string;
  version: string;

  constructor(
    status: number,
    reason: string,
    headers?: SipHeaders | Iterable<HeaderField | readonly [string, string]>,
    body?: Buffer,
    version = 'SIP/2.0',
  ) {
    super(headers, body);
    this.status = status;
    this.reason = reason;
    this.version = version;
  }
}

export type SipMessage = SipRequest | SipResponse;
