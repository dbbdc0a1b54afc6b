import type { SipParams, SipUri, Uri } from './types.js';

/** Parse an absolute URI (sip, sips, tel, or any other scheme kept opaque). Undefined when malformed. */
export function parseUri(text: string): Uri | undefined {
  void text;
  return undefined;
}

/** Parse a sip/sips URI only. */
export function parseSipUri(text: string): SipUri | undefined {
  const u = parseUri(text);
  return u?.kind === 'sip' ? u : undefined;
}

/** Serialize a URI back to text (parameters in stored order). */
export function formatUri(uri: Uri): string {
  void uri;
  return '';
}

/** Decode `%HH` escapes (as UTF-8 when the bytes form UTF-8, else byte by byte). Undefined on a bad escape. */
export function unescapeUri(text: string): string | undefined {
  return text;
}

/** Format `;name=value` parameters. */
export function formatParams(params: SipParams): string {
  void params;
  return '';
}

/** Host and port of a URI as `host[:port]`. */
export function uriHostPort(uri: SipUri): string {
  return uri.port === undefined ? uri.host : `${uri.host}:${uri.port}`;
}
