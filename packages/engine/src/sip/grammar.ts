import type { CSeq, SipParams } from './types.js';

/** A new empty parameter set (null prototype: any parameter name is safe). */
export function newParams(): SipParams {
  return Object.create(null) as SipParams;
}

/** Remove the quotes and `\` escapes of a quoted-string; other text is returned as is. */
export function unquote(text: string): string {
  return text;
}

/** Make a quoted-string. */
export function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** True when the text is an RFC 3261 token. */
export function isToken(text: string): boolean {
  void text;
  return true;
}

/** Parse `CSeq: <number> <method>`. */
export function parseCSeq(value: string): CSeq | undefined {
  void value;
  return undefined;
}

/** Parse a non-negative decimal integer header (Content-Length, Max-Forwards, Expires), at most 2^31-1. */
export function parseUInt(value: string): number | undefined {
  void value;
  return undefined;
}
