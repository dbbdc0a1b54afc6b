import { parseMessage, type SipMessage } from '../sip/index.js';

/** Parser options for app frames (one object: the parser works out the full limits once per object). */
const APP_PARSE = { lenient: true, limits: { maxMessageSize: 1048576 } } as const;

/**
 * Reads the SIP text an app puts in a `sip` frame. App messages are deliberately incomplete (an app's 200 has
 * no Via, an app's INVITE may have only a From and a Contact), so the parser's lenient mode is used: mandatory
 * header checks are skipped and the body is everything after the empty line.
 */
export function parseAppMessage(bytes: Buffer | string): SipMessage | undefined {
  const r = parseMessage(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes, APP_PARSE);
  return r.ok ? r.msg : undefined;
}
