/**
 * KUMO ENGINE-CORE HELPER (not the SIP parser): reads the SIP text an app puts in a `sip` frame.
 *
 * App messages are produced by drachtio-srf's own serializer and are deliberately incomplete (an app's 200
 * has no Via, an app's INVITE may have only a From and a Contact), so the network parser's RFC checks do
 * not apply. This only splits the start line, `name: value` lines (with folding) and the body; all header
 * value parsing still goes through the parser in `../sip`.
 */
import { SipHeaders, SipRequest, SipResponse, type SipMessage } from '../sip/index.js';

export function parseAppMessage(text: string): SipMessage | undefined {
  let sep = text.indexOf('\r\n\r\n');
  let nl = '\r\n';
  if (sep === -1 && !text.includes('\r\n')) {
    sep = text.indexOf('\n\n');
    nl = '\n';
  }
  const head = sep === -1 ? text : text.slice(0, sep);
  const body = sep === -1 ? '' : text.slice(sep + nl.length * 2);
  const lines = head.split(nl);
  const start = (lines[0] ?? '').trim();
  const fields: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    if ((line[0] === ' ' || line[0] === '\t') && fields.length > 0) {
      const last = fields[fields.length - 1] as [string, string];
      last[1] = `${last[1]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const headers = new SipHeaders(fields);
  const bodyBuf = Buffer.from(body, 'utf8');
  if (start.startsWith('SIP/')) {
    const m = /^SIP\/2\.0\s+(\d{3})(?:\s+(.*))?$/.exec(start);
    if (!m) return undefined;
    return new SipResponse(Number(m[1]), m[2] ?? '', headers, bodyBuf);
  }
  const m = /^([A-Za-z]+)\s+(\S+)\s+SIP\/2\.0$/.exec(start);
  if (!m) return undefined;
  return new SipRequest(m[1] as string, m[2] as string, headers, bodyBuf);
}
