import type { NameAddr } from './types.js';

/** Parse one name-addr / addr-spec with its parameters (From, To, one Contact, one Route ...). */
export function parseNameAddr(text: string): NameAddr | undefined {
  void text;
  return undefined;
}

/** Parse a list of name-addrs from one or more field values (each comma-split). Undefined if any is malformed. */
export function parseNameAddrList(values: readonly string[]): NameAddr[] | undefined {
  void values;
  return undefined;
}

/** Serialize a name-addr (always in angle-bracket form unless it was an addr-spec without URI params). */
export function formatNameAddr(na: NameAddr): string {
  void na;
  return '';
}
