/**
 * Public types of the SIP message model. Parsed pieces are plain data; the message classes live in message.ts.
 * Conventions:
 * - header and parameter names are compared case-insensitively; parameter names are stored lower-case;
 * - parameter values are kept as written (a quoted-string keeps its quotes; use `unquote`);
 * - a parameter present without a value (`;lr`, `;rport`) has the value `null`;
 * - parsers of header values return `undefined` when the text is malformed (they never throw).
 */

/** Ordered parameters (`;name=value`), names lower-case. A null-prototype object: any name is safe. */
export type SipParams = Record<string, string | null>;

/** One header field as it appears in the message: its name as written, its value with folding unfolded. */
export interface HeaderField {
  /** The name as written on the wire (`v`, `VIA`, `Via` ...). */
  name: string;
  /** Canonical key: lower-case long form (`v` → `via`, `Call-ID` → `call-id`). */
  key: string;
  /** Raw value: leading/trailing whitespace removed, each fold (CRLF + WSP) replaced by one space. */
  value: string;
}

/** A `sip:`/`sips:` URI (RFC 3261 §19.1). Text fields are kept as written (still %-escaped); use `unescapeUri`. */
export interface SipUri {
  kind: 'sip';
  scheme: 'sip' | 'sips';
  /** userinfo user part, escaped as written; undefined when the URI has no `user@`. */
  user: string | undefined;
  password: string | undefined;
  /** host as written: hostname, IPv4, or IPv6 reference including the brackets (`[::1]`). */
  host: string;
  port: number | undefined;
  /** `;name=value` URI parameters (transport, lr, maddr, user, ...). */
  params: SipParams;
  /** `?name=value&...` URI headers, names as written (not lower-cased), values escaped as written. */
  headers: Array<[string, string]>;
}

/** A `tel:` URI (RFC 3966). */
export interface TelUri {
  kind: 'tel';
  scheme: 'tel';
  /** The telephone-subscriber number part, as written (`+1-212-555-0101`). */
  number: string;
  params: SipParams;
}

/** Any other absolute URI (`http:`, `mailto:`, `urn:` ...): kept opaque. */
export interface OtherUri {
  kind: 'other';
  /** Lower-case scheme. */
  scheme: string;
  /** Everything after `scheme:`. */
  opaque: string;
}

export type Uri = SipUri | TelUri | OtherUri;

/** name-addr or addr-spec with header parameters (From, To, Contact, Route, Record-Route, Refer-To, P-Asserted-Identity ...). */
export interface NameAddr {
  /** Display name, unquoted and unescaped; undefined when absent. */
  displayName: string | undefined;
  /** The URI text between `<` and `>` (or the addr-spec), as written. */
  uriText: string;
  /** Parsed URI; undefined when the URI text is not a valid absolute URI. */
  uri: Uri | undefined;
  /** True when the URI was written in angle brackets (name-addr form). */
  bracketed: boolean;
  /** Header parameters after the address (`;tag=...`, `;expires=...`, `;q=...`). */
  params: SipParams;
  /** Shortcut for `params.tag` when it has a value. */
  tag: string | undefined;
}

/** One Via value (RFC 3261 §20.42, RFC 3581). */
export interface Via {
  /** `SIP` */
  protocolName: string;
  /** `2.0` */
  protocolVersion: string;
  /** Upper-case transport: UDP, TCP, TLS, SCTP, WS, WSS, ... */
  transport: string;
  /** sent-by host as written (IPv6 with brackets). */
  host: string;
  /** sent-by port; undefined when not written. */
  port: number | undefined;
  params: SipParams;
  branch: string | undefined;
  /** `received=` value. */
  received: string | undefined;
  /** `rport`: undefined when absent, null when present without a value, else the number. */
  rport: number | null | undefined;
}

export interface CSeq {
  seq: number;
  method: string;
}

/** Contact header set: either `*` (only valid in REGISTER) or a list of addresses. */
export type ContactSet = { star: true; contacts: [] } | { star: false; contacts: NameAddr[] };

/** Limits applied by the parser and the stream framer. */
export interface ParserLimits {
  /** Largest whole message (headers + body) in bytes. Default 65 535. */
  maxMessageSize: number;
  /** Largest number of header fields. Default 256. */
  maxHeaders: number;
  /** Longest header line (after unfolding) or start line, in bytes. Default 8 192. */
  maxLineLength: number;
}

export const DEFAULT_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxMessageSize: 65535,
  maxHeaders: 256,
  maxLineLength: 8192,
});
