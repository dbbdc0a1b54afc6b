/**
 * Small RFC-correct sipp scenarios for phone and carrier tests (checked by the test kit's
 * `lintScenario` when run): the non-2xx ACK on the INVITE's branch (`[branch-of:…]`), the 2xx ACK and
 * every new request on a new one.
 */
export const SDP = `v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 8
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=sendrecv
`;

const wrap = (name: string, body: string): string => `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="${name}">${body}\n</scenario>\n`;

export interface UacCall {
  /** From user and host (`[service]` is the called user; the request-URI host is `ruriHost`, default the target). */
  readonly user: string;
  readonly domain: string;
  readonly ruriHost?: string;
  /** Digest password: expect a 407 first and answer it. */
  readonly password?: string;
  readonly expect: number;
  /** Extra header lines of the INVITE. */
  readonly headers?: readonly string[];
  /** With expect 200: hang up after this long. */
  readonly holdMs?: number;
  /** Regular expressions the final (non-2xx) response's headers must match: `[header, regexp]`. */
  readonly check?: readonly (readonly [string, string])[];
}

/** A call: INVITE (with digest when `password`), then `expect`; 200 → ACK, BYE; otherwise ACK. */
export function uacCall(o: UacCall): string {
  const ruri = `sip:[service]@${o.ruriHost ?? '[remote_ip]:[remote_port]'}`;
  const from = `From: "Caller" <sip:${o.user}@${o.domain}>;tag=[pid]T[call_number]`;
  const invite = (cseq: number, auth: string): string => `
  <send retrans="500" start_txn="inv${cseq}"><![CDATA[
INVITE ${ruri} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
${from}
To: <sip:[service]@${o.domain}>
Call-ID: [call_id]
CSeq: ${cseq} INVITE
Contact: <sip:${o.user}@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
User-Agent: sipp-kumo
${(o.headers ?? []).map((h) => `${h}\n`).join('')}${auth}Content-Type: application/sdp
Content-Length: [len]

${SDP}
]]></send>
  <recv response="100" optional="true" response_txn="inv${cseq}"/>`;
  const ack = (cseq: number, ok: boolean): string => `
  <send ack_txn="inv${cseq}"><![CDATA[
ACK ${ok ? '[next_url]' : ruri} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${ok ? '[branch]' : `[branch-of:inv${cseq}]`};rport
${from}
[last_To:]
Call-ID: [call_id]
CSeq: ${cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>`;
  let body = invite(1, '');
  let cseq = 1;
  if (o.password !== undefined) {
    body += `\n  <recv response="407" auth="true" response_txn="inv1"/>${ack(1, false)}`;
    cseq = 2;
    body += invite(2, `[authentication username=${o.user} password=${o.password}]\n`);
  }
  body += `
  <recv response="180" optional="true" response_txn="inv${cseq}"/>
  <recv response="183" optional="true" response_txn="inv${cseq}"/>`;
  if (o.expect === 200) {
    body += `
  <recv response="200" rrs="true" response_txn="inv${cseq}"/>${ack(cseq, true)}
  <pause milliseconds="${o.holdMs ?? 200}"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
${from}
[last_To:]
Call-ID: [call_id]
CSeq: ${cseq + 1} BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>`;
  } else {
    const checks = (o.check ?? []).map(([h, re], i) => `<ereg regexp="${re}" search_in="hdr" header="${h}:" check_it="true" assign_to="c${i}"/>`).join('');
    body += `
  <recv response="${o.expect}" response_txn="inv${cseq}">${checks ? `<action>${checks}</action>` : ''}</recv>${ack(cseq, false)}`;
    if (checks) body += `\n  <Reference variables="${(o.check ?? []).map((_c, i) => `c${i}`).join(',')}"/>`;
  }
  return wrap('uac-call', body);
}

/** A phone or gateway answering one INVITE with `status` (200: answer, then wait for the BYE). */
export function uasAnswer(status: number): string {
  const reply = (code: string, sdp: boolean): string => `
  <send><![CDATA[
SIP/2.0 ${code}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]U[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:uas@[local_ip]:[local_port];transport=[transport]>
${sdp ? `Content-Type: application/sdp\nContent-Length: [len]\n\n${SDP}` : 'Content-Length: 0\n'}
]]></send>`;
  let body = `\n  <recv request="INVITE"/>${reply('180 Ringing', false)}`;
  if (status === 200) {
    body += `${reply('200 OK', true)}
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>`;
  } else {
    body += `${reply(`${status} Refused`, false)}\n  <recv request="ACK"/>`;
  }
  return wrap('uas-answer', body);
}

/** REGISTER with digest (401, answer, 200) to `domain` as `user`. */
export function register(o: { user: string; domain: string; password: string; expires?: number }): string {
  const req = (cseq: number, auth: string): string => `
  <send retrans="500"><![CDATA[
REGISTER sip:${o.domain} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${o.user}@${o.domain}>;tag=[pid]R[call_number]
To: <sip:${o.user}@${o.domain}>
Call-ID: [call_id]
CSeq: ${cseq} REGISTER
Contact: <sip:${o.user}@[local_ip]:[local_port];transport=[transport]>
Expires: ${o.expires ?? 300}
Max-Forwards: 70
User-Agent: sipp-kumo
${auth}Content-Length: 0

]]></send>`;
  return wrap('register', `${req(1, '')}\n  <recv response="401" auth="true"/>${req(2, `[authentication username=${o.user} password=${o.password}]\n`)}\n  <recv response="200"/>`);
}
