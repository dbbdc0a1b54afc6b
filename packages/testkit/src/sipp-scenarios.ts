/**
 * Builders of RFC-correct sipp scenarios for Kumo's tests (phones, carriers, forks, transfers), one
 * copy for every suite. What they produce passes `lintScenario` (./scenario.ts): the ACK for a
 * non-2xx response and a CANCEL reuse the INVITE's branch (`[branch-of:…]`), the ACK for a 2xx and
 * every other request take a new one, requests carry their own Via.
 */

/** An audio offer (PCMU and PCMA, sendrecv). */
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

/** A complete scenario document around `body` (the top-level elements). */
export function scenario(name: string, body: string): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="${name}">${body}\n</scenario>\n`;
}

export interface ReplyOptions {
  /** Add a To tag (`[pid]<tag>[call_number]`): the first response of a dialog. */
  readonly toTag?: string;
  /** Contact user (`sip:<user>@[local_ip]:[local_port]`); none when omitted. */
  readonly contact?: string;
  /** Header lines to add. */
  readonly headers?: readonly string[];
  /** A body of type application/sdp. */
  readonly sdp?: string;
  /** The CSeq line's value instead of the request's (e.g. `[$cs] INVITE` for a 487 after a CANCEL). */
  readonly cseq?: string;
  /** Attributes of the `<send>` (e.g. ` retrans="500"`, ` next="1"`). */
  readonly attrs?: string;
}

/** A response (`200 OK`, `180 Ringing`, …) to the last request received, its headers copied from it. */
export function reply(status: string, o: ReplyOptions = {}): string {
  const lines = [
    `SIP/2.0 ${status}`,
    '[last_Via:]',
    '[last_From:]',
    `[last_To:]${o.toTag !== undefined ? `;tag=[pid]${o.toTag}[call_number]` : ''}`,
    '[last_Call-ID:]',
    o.cseq !== undefined ? `CSeq: ${o.cseq}` : '[last_CSeq:]',
    // A proxy on the way (the Kamailio edge) record-routes: the UAS echoes the Record-Route (RFC 3261 §12.1.1).
    '[last_Record-Route:]',
    ...(o.contact !== undefined ? [`Contact: <sip:${o.contact}@[local_ip]:[local_port];transport=[transport]>`] : []),
    ...(o.headers ?? []),
  ];
  const body = o.sdp !== undefined ? `Content-Type: application/sdp\nContent-Length: [len]\n\n${o.sdp}` : 'Content-Length: 0\n\n';
  return `
  <send${o.attrs ?? ''}><![CDATA[
${lines.join('\n')}
${body}]]></send>`;
}

/** A `<pause>` (none for 0 ms). */
function pause(ms: number): string {
  return ms > 0 ? `\n  <pause milliseconds="${ms}"/>` : '';
}

/** `<ereg>` checks on a received message's headers, and the `<Reference>` that keeps sipp quiet about them. */
function checks(list: readonly (readonly [header: string, regexp: string])[], prefix: string): { action: string; reference: string } {
  if (list.length === 0) return { action: '', reference: '' };
  const action = list.map(([h, re], i) => `<ereg regexp="${re}" search_in="hdr" header="${h}:" check_it="true" assign_to="${prefix}${i}"/>`).join('');
  return { action: `<action>${action}</action>`, reference: `\n  <Reference variables="${list.map((_c, i) => `${prefix}${i}`).join(',')}"/>` };
}

export interface UacCall {
  /** From user and host; `[service]` is the called user. */
  readonly user: string;
  readonly domain: string;
  /** Request-URI host (default the target, `[remote_ip]:[remote_port]`). */
  readonly ruriHost?: string;
  /** From display name with its trailing space (default `"Caller" `; `''` for none). */
  readonly display?: string;
  /** Digest password: expect a 407 first and answer it. */
  readonly password?: string;
  /** The final response expected (200 answered, anything else refused). */
  readonly expect: number;
  /** Extra header lines of the INVITE. */
  readonly headers?: readonly string[];
  /** The offer (default `SDP`). */
  readonly sdp?: string;
  /** `required`: a 180 must come before the answer (default: 180/183 optional). */
  readonly ring?: 'required' | 'optional';
  /**
   * After the 200: `bye` (default) hang up after `holdMs`; `wait-bye` wait for the far end's BYE;
   * `bye-or-wait` answer a BYE that comes within `holdMs`, else hang up; `in-dialog` hold (re-INVITE
   * sendonly), INFO DTMF, OPTIONS (checking Allow/Supported), BYE; `transferred` answer the re-INVITE
   * that connects us to a transfer target (its P-Asserted-Identity matching `transferredPai` when
   * given), then hang up after `holdMs`; `joined` answer a re-INVITE (a pickup or Replaces joining us
   * to someone else), then wait for the far end's BYE; `hold` after `holdMs` put the call on hold
   * (re-INVITE sendonly), then hang up 300 ms later.
   */
  readonly mode?: 'bye' | 'wait-bye' | 'bye-or-wait' | 'in-dialog' | 'transferred' | 'joined' | 'hold';
  readonly holdMs?: number;
  /** A regexp the re-INVITE's P-Asserted-Identity must match (mode `transferred`). */
  readonly transferredPai?: string;
  /** CANCEL this long after the 180 (then expect 200 to the CANCEL and 487). */
  readonly cancelAfterMs?: number;
  /** Regexps the final (non-2xx) response's headers must match: `[header, regexp]` (XML-escaped). */
  readonly check?: readonly (readonly [string, string])[];
  /** With `expect: 200`: final responses also taken as a refusal (ACKed, the call ends without error), e.g. 503 under overload. */
  readonly refusals?: readonly number[];
}

/** A phone or carrier calling `[service]`: INVITE (with digest when `password`), then `expect` and `mode`. */
export function uacCall(o: UacCall): string {
  const ruri = `sip:[service]@${o.ruriHost ?? '[remote_ip]:[remote_port]'}`;
  const from = `From: ${o.display ?? '"Caller" '}<sip:${o.user}@${o.domain}>;tag=[pid]T[call_number]`;
  const via = (branch: string): string => `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${branch};rport`;
  const contact = `Contact: <sip:${o.user}@[local_ip]:[local_port];transport=[transport]>`;
  const invite = (cseq: number, auth: string): string => `
  <send retrans="500" start_txn="inv${cseq}"><![CDATA[
INVITE ${ruri} SIP/2.0
${via('[branch]')}
${from}
To: <sip:[service]@${o.domain}>
Call-ID: [call_id]
CSeq: ${cseq} INVITE
${contact}
Max-Forwards: 70
User-Agent: sipp-kumo
${(o.headers ?? []).map((h) => `${h}\n`).join('')}${auth}Content-Type: application/sdp
Content-Length: [len]

${o.sdp ?? SDP}
]]></send>
  <recv response="100" optional="true" response_txn="inv${cseq}"/>`;
  /** An in-dialog request (after the 2xx: `[next_url]`, the route set, a new branch). */
  const inDialog = (method: string, seq: number, extra: string, o2: { to?: string; attrs?: string; contact?: boolean } = {}): string => `
  <send${o2.attrs ?? ' retrans="500"'}><![CDATA[
${method} [next_url] SIP/2.0
${via('[branch]')}
${from}
${o2.to ?? '[last_To:]'}
Call-ID: [call_id]
CSeq: ${seq} ${method}
${o2.contact === true ? `${contact}\n` : ''}Max-Forwards: 70
[routes]
${extra}
]]></send>`;
  const ackOk = (txn: string, seq: number, to?: string): string => inDialog('ACK', seq, 'Content-Length: 0\n', { attrs: ` ack_txn="${txn}"`, ...(to !== undefined ? { to } : {}) });
  // The ACK for a non-2xx final response is part of the INVITE's transaction: the INVITE's branch.
  const ackErr = (cseq: number): string => `
  <send ack_txn="inv${cseq}"><![CDATA[
ACK ${ruri} SIP/2.0
${via(`[branch-of:inv${cseq}]`)}
${from}
[last_To:]
Call-ID: [call_id]
CSeq: ${cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>`;
  const bye = (seq: number, to?: string): string => inDialog('BYE', seq, 'Content-Length: 0\n', to !== undefined ? { to } : {}) + '\n  <recv response="200"/>';

  let body = invite(1, '');
  let cseq = 1;
  if (o.password !== undefined) {
    body += `\n  <recv response="407" auth="true" response_txn="inv1"/>${ackErr(1)}`;
    cseq = 2;
    body += invite(2, `[authentication username=${o.user} password=${o.password}]\n`);
  }
  if (o.cancelAfterMs !== undefined) {
    return scenario(
      'uac',
      `${body}
  <recv response="180" response_txn="inv${cseq}"/>${pause(o.cancelAfterMs)}
  <send><![CDATA[
CANCEL ${ruri} SIP/2.0
${via(`[branch-of:inv${cseq}]`)}
${from}
To: <sip:[service]@${o.domain}>
Call-ID: [call_id]
CSeq: ${cseq} CANCEL
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" response_txn="inv${cseq}"/>
  <recv response="487" response_txn="inv${cseq}"/>${ackErr(cseq)}`,
    );
  }
  body +=
    o.ring === 'required'
      ? `\n  <recv response="180" response_txn="inv${cseq}"/>`
      : `\n  <recv response="180" optional="true" response_txn="inv${cseq}"/>\n  <recv response="183" optional="true" response_txn="inv${cseq}"/>`;
  body += `\n  <recv response="180" optional="true" response_txn="inv${cseq}"/>`;
  if (o.expect !== 200) {
    const c = checks(o.check ?? [], 'c');
    return scenario('uac', `${body}\n  <recv response="${o.expect}" response_txn="inv${cseq}">${c.action}</recv>${c.reference}${ackErr(cseq)}`);
  }
  // Refusals jump to their own ACK (the INVITE's branch) after the call's end.
  for (const code of o.refusals ?? []) body += `\n  <recv response="${code}" optional="true" response_txn="inv${cseq}" next="refused"/>`;
  const refused = o.refusals?.length ? `\n  <nop next="done"/>\n  <label id="refused"/>${ackErr(cseq)}\n  <label id="done"/>` : '';
  const mode = o.mode ?? 'bye';
  const ok200 = reply('200 OK');
  if (mode === 'transferred') {
    // Answer the re-INVITE that connects us to the transfer target, then hang up.
    const pai = checks(o.transferredPai !== undefined ? [['P-Asserted-Identity', o.transferredPai]] : [], 'pai');
    body += `
  <recv response="200" rrs="true" response_txn="inv${cseq}"><action><ereg regexp=".*" search_in="hdr" header="To:" assign_to="peerTo"/></action></recv>${ackOk(`inv${cseq}`, cseq, 'To: [$peerTo]')}
  <recv request="INVITE" timeout="15000">${pai.action}</recv>${reply('200 OK', { contact: o.user, sdp: SDP })}
  <recv request="ACK" timeout="15000"/>${pause(o.holdMs ?? 300)}${bye(cseq + 1, 'To: [$peerTo]')}
  <Reference variables="peerTo"/>${pai.reference}`;
    return scenario('uac', body + refused);
  }
  body += `\n  <recv response="200" rrs="true" response_txn="inv${cseq}"/>${ackOk(`inv${cseq}`, cseq)}`;
  if (mode === 'wait-bye') {
    body += `\n  <recv request="BYE" timeout="15000"/>${ok200}`;
  } else if (mode === 'bye-or-wait') {
    body += `
  <recv request="BYE" timeout="${o.holdMs ?? 200}" ontimeout="2"/>${ok200}
  <nop next="3"/>
  <label id="2"/>${bye(cseq + 1)}
  <label id="3"/>`;
  } else if (mode === 'joined') {
    body += `
  <recv request="INVITE" timeout="15000"/>${reply('200 OK', { contact: o.user, sdp: SDP })}
  <recv request="ACK" timeout="15000"/>
  <recv request="BYE" timeout="15000"/>${ok200}`;
  } else if (mode === 'hold') {
    body += pause(o.holdMs ?? 200);
    body += inDialog('INVITE', cseq + 1, `Content-Type: application/sdp\nContent-Length: [len]\n\n${(o.sdp ?? SDP).replace('a=sendrecv', 'a=sendonly')}`, {
      attrs: ' retrans="500" start_txn="reinv"',
      contact: true,
    });
    body += `
  <recv response="100" optional="true" response_txn="reinv"/>
  <recv response="200" response_txn="reinv"/>${ackOk('reinv', cseq + 1)}${pause(300)}${bye(cseq + 2)}`;
  } else if (mode === 'in-dialog') {
    body += inDialog('INVITE', cseq + 1, `Content-Type: application/sdp\nContent-Length: [len]\n\n${(o.sdp ?? SDP).replace('a=sendrecv', 'a=sendonly')}`, {
      attrs: ' retrans="500" start_txn="reinv"',
      contact: true,
    });
    body += `
  <recv response="100" optional="true" response_txn="reinv"/>
  <recv response="200" response_txn="reinv"/>${ackOk('reinv', cseq + 1)}`;
    body += inDialog('INFO', cseq + 2, 'Content-Type: application/dtmf-relay\nContent-Length: [len]\n\nSignal=5\nDuration=160\n', { contact: true });
    body += `\n  <recv response="200"/>`;
    // OPTIONS inside the call: answered by Kumo with its capabilities, not relayed to the callee.
    body += inDialog('OPTIONS', cseq + 3, 'Accept: application/sdp\nContent-Length: 0\n', { contact: true });
    body += `
  <recv response="200"><action><ereg regexp="INVITE.*OPTIONS" search_in="hdr" header="Allow:" check_it="true" assign_to="allow"/><ereg regexp="replaces" search_in="hdr" header="Supported:" check_it="true" assign_to="sup"/></action></recv>
  <Reference variables="allow,sup"/>`;
    body += bye(cseq + 4);
  } else {
    body += `${pause(o.holdMs ?? 200)}${bye(cseq + 1)}`;
  }
  return scenario('uac', body + refused);
}

export interface UasAnswer {
  /** Send 180 Ringing first (default true), or `183` with an early-media answer. */
  readonly ring?: boolean | 'early';
  /** Ring this long before the final response. */
  readonly ringMs?: number;
  /** Contact user (default `callee`). */
  readonly user?: string;
  /** A regexp the INVITE's From must match (who the phone shows as calling). */
  readonly fromMatches?: string;
  /** Once answered, accept a re-INVITE (e.g. the one that joins it to a transfer's other party) before the BYE. */
  readonly reinvite?: boolean;
}

const REASON_PHRASES: Record<number, string> = { 486: 'Busy Here', 503: 'Service Unavailable', 480: 'Temporarily Unavailable' };

/** A phone or gateway answering one INVITE with `status` (200: answer, then wait for the BYE). */
export function uasAnswer(status: number, o: UasAnswer = {}): string {
  const user = o.user ?? 'callee';
  const from = checks(o.fromMatches !== undefined ? [['From', o.fromMatches]] : [], 'from');
  let body = `\n  <recv request="INVITE">${from.action}</recv>`;
  if (o.ring === 'early') body += reply('183 Session Progress', { toTag: 'U', contact: user, sdp: SDP });
  else if (o.ring !== false) body += reply('180 Ringing', { toTag: 'U', contact: user });
  body += pause(o.ringMs ?? 0);
  if (status === 200) {
    body += `${reply('200 OK', { toTag: 'U', contact: user, sdp: SDP, attrs: ' retrans="500"' })}
  <recv request="ACK"/>${o.reinvite === true ? `\n  <recv request="INVITE"/>${reply('200 OK', { contact: user, sdp: SDP })}\n  <recv request="ACK"/>` : ''}
  <recv request="BYE"/>${reply('200 OK')}`;
  } else {
    body += `${reply(`${status} ${REASON_PHRASES[status] ?? 'Refused'}`, { toTag: 'U', contact: user })}\n  <recv request="ACK"/>`;
  }
  return scenario('uas', body + from.reference);
}

/**
 * A phone that rings until CANCELled (then 200, 487, ACK). `reason`: `elsewhere` requires the CANCEL
 * to carry `Reason: SIP;cause=200;text="Call completed elsewhere"` (RFC 3326), `none` requires its
 * absence (sipp fails the call otherwise); unset, it is not looked at.
 */
export function uasRingCancel(o: { reason?: 'elsewhere' | 'none'; user?: string } = {}): string {
  const user = o.user ?? 'callee';
  const check =
    o.reason === 'elsewhere'
      ? `<action><ereg regexp="SIP;cause=200;text=\\"Call completed elsewhere\\"" search_in="hdr" header="Reason:" check_it="true" assign_to="r"/></action>`
      : o.reason === 'none'
        ? `<action><ereg regexp="cause=200" search_in="hdr" header="Reason:" check_it_inverse="true" assign_to="r"/></action>`
        : '';
  return scenario(
    'uas-ring-cancel',
    `
  <recv request="INVITE"><action><ereg regexp="([0-9]+)" search_in="hdr" header="CSeq:" assign_to="all,cs"/></action></recv>${reply('180 Ringing', { toTag: 'U', contact: user })}
  <recv request="CANCEL" timeout="15000">${check}</recv>${reply('200 OK')}${reply('487 Request Terminated', { toTag: 'U', cseq: '[$cs] INVITE' })}
  <recv request="ACK" timeout="15000"/>
  <Reference variables="${o.reason !== undefined ? 'all,r' : 'all'}"/>`,
  );
}

/**
 * A phone that answers, then transfers the caller (REFER to `target` in `domain`: blind, or attended
 * with `replaces`, the Replaces value of its consultation call, RFC 3891/5589), expects the NOTIFYs
 * (the last one `SIP/2.0 200`) and the BYE that releases it.
 */
export function uasTransferor(o: { target: string; domain: string; user?: string; replaces?: string }): string {
  const user = o.user ?? 'callee';
  const refer =
    o.replaces === undefined
      ? `Refer-To: <sip:${o.target}@${o.domain}>`
      : `Refer-To: <sip:${o.target}@${o.domain}?Replaces=${encodeURIComponent(o.replaces)}>\nReferred-By: <sip:${user}@${o.domain}>`;
  return scenario(
    'uas-transfer',
    `
  <recv request="INVITE" rrs="true"><action><ereg regexp=".*" search_in="hdr" header="From:" assign_to="peer"/></action></recv>${reply('200 OK', { toTag: 'U', contact: user, sdp: SDP })}
  <recv request="ACK"/>
  <pause milliseconds="200"/>
  <send retrans="500"><![CDATA[
REFER [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${user}@${o.domain}>;tag=[pid]U[call_number]
To: [$peer]
Call-ID: [call_id]
CSeq: 1 REFER
Contact: <sip:${user}@[local_ip]:[local_port];transport=[transport]>
${refer}
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="202"/>
  <recv request="NOTIFY"/>${reply('200 OK')}
  <recv request="NOTIFY"><action><ereg regexp="SIP/2.0 200" search_in="body" check_it="true" assign_to="done"/></action></recv>${reply('200 OK')}
  <recv request="BYE"/>${reply('200 OK')}
  <Reference variables="done"/>`,
  );
}

/** A phone that answers, then accepts a re-INVITE (checking it holds: sendonly) and an INFO (DTMF 5) relayed from the caller, then the BYE. */
export function uasInDialog(): string {
  return scenario(
    'uas-in-dialog',
    `
  <recv request="INVITE"/>${reply('200 OK', { toTag: 'U', contact: 'callee', sdp: SDP })}
  <recv request="ACK"/>
  <recv request="INVITE"><action><ereg regexp="a=sendonly" search_in="body" check_it="true" assign_to="held"/></action></recv>${reply('200 OK', { contact: 'callee', sdp: SDP })}
  <recv request="ACK"/>
  <recv request="INFO"><action><ereg regexp="Signal=5" search_in="body" check_it="true" assign_to="dtmf"/></action></recv>${reply('200 OK', { contact: 'callee' })}
  <recv request="BYE"/>${reply('200 OK', { contact: 'callee' })}
  <Reference variables="held,dtmf"/>`,
  );
}

/**
 * An OPTIONS ping (a carrier's health check, a phone's keep-alive) to `ruri` (default the target's
 * address): expects 200 with an `Allow` that matches `allow`.
 */
export function optionsPing(o: { user: string; domain: string; ruri?: string; allow?: string }): string {
  return scenario(
    'options',
    `
  <send retrans="500"><![CDATA[
OPTIONS ${o.ruri ?? 'sip:[remote_ip]:[remote_port]'} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${o.user}@${o.domain}>;tag=[pid]O[call_number]
To: <${o.ruri ?? 'sip:[remote_ip]:[remote_port]'}>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Accept: application/sdp
User-Agent: sipp-kumo
Content-Length: 0

]]></send>
  <recv response="200"><action><ereg regexp="${o.allow ?? 'INVITE'}" search_in="hdr" header="Allow:" check_it="true" assign_to="allow"/></action></recv>
  <Reference variables="allow"/>`,
  );
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
  return scenario('register', `${req(1, '')}\n  <recv response="401" auth="true"/>${req(2, `[authentication username=${o.user} password=${o.password}]\n`)}\n  <recv response="200"/>`);
}

/**
 * A carrier gateway: answers OPTIONS pings (200) and calls (180, 200, then waits for the BYE), each
 * OPTIONS or INVITE a "call" of its own.
 */
export function gatewayUas(): string {
  return scenario(
    'gateway',
    `
  <recv request="OPTIONS" optional="true" next="1"/>
  <recv request="INVITE"/>${reply('180 Ringing', { toTag: 'G', contact: 'gw' })}${reply('200 OK', { toTag: 'G', contact: 'gw', sdp: SDP })}
  <recv request="ACK"/>
  <recv request="BYE"/>${reply('200 OK', { attrs: ' next="2"' })}
  <label id="1"/>${reply('200 OK', { toTag: 'G', headers: ['Allow: INVITE, ACK, CANCEL, BYE, OPTIONS'] })}
  <label id="2"/>`,
  );
}

/**
 * A carrier that wants registration: challenges the REGISTER (401) and every INVITE (407) with MD5
 * digest, checks the answer names `username`, grants `expiresSec`, then answers the call (180, 200,
 * waits for the BYE). Each REGISTER (with its retry) or INVITE (with its retry) is one sipp call.
 */
export function carrierRegistrar(o: { username: string; realm: string; expiresSec: number }): string {
  const challenge = (code: string, header: string): string =>
    reply(code, { toTag: 'C', headers: [`${header}: Digest realm="${o.realm}", nonce="[pid]n[call_number]", algorithm=MD5`] });
  return scenario(
    'carrier-registrar',
    `
  <recv request="REGISTER" optional="true" next="1"/>
  <recv request="INVITE"/>${challenge('407 Proxy Authentication Required', 'Proxy-Authenticate')}
  <recv request="ACK"/>
  <recv request="INVITE"><action><ereg regexp="username=&quot;${o.username}&quot;" search_in="hdr" header="Proxy-Authorization:" check_it="true" assign_to="pa"/></action></recv>${reply(
    '180 Ringing',
    { toTag: 'C', contact: 'carrier' },
  )}${reply('200 OK', { toTag: 'C', contact: 'carrier', sdp: SDP })}
  <recv request="ACK"/>
  <recv request="BYE"/>${reply('200 OK', { attrs: ' next="2"' })}
  <label id="1"/>${challenge('401 Unauthorized', 'WWW-Authenticate')}
  <recv request="REGISTER"><action><ereg regexp="username=&quot;${o.username}&quot;" search_in="hdr" header="Authorization:" check_it="true" assign_to="ra"/></action></recv>${reply(
    '200 OK',
    { toTag: 'C', headers: [`[last_Contact:];expires=${o.expiresSec}`] },
  )}
  <label id="2"/>
  <Reference variables="pa,ra"/>`,
  );
}
