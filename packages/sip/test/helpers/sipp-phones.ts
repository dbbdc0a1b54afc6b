/**
 * sipp phone scenarios for call-feature tests (forks, transfers): a caller with digest, phones that
 * lose a ring race (checking the CANCEL's Reason), answer (optionally checking who calls), or
 * transfer the caller with REFER. `sippPhones(domain)` binds them to a tenant's SIP domain.
 * Every ACK for a non-2xx reuses the INVITE's branch (RFC 3261 §17.1.1.3).
 */
export function sippPhones(DOMAIN: string) {
const SDP = `v=0
o=- 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
`;

const head = (method: string, cseq: string, extra = ''): string => `${method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field0]@${DOMAIN}>;tag=[pid]C[call_number]
To: <sip:[service]@${DOMAIN}>
Call-ID: [call_id]
CSeq: ${cseq}
Contact: <sip:[field0]@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
User-Agent: sipp-kumo
${extra}`;

/** The caller: digest, then either waits for 200 (hangs up after `holdMs`) or CANCELs after 180. */
/**
 * The caller: digest, then either waits for 200 (hangs up after `holdMs`), waits for the far end's
 * BYE (`waitBye`), CANCELs after 180, or (`transferred`) is transferred by the callee: it answers
 * the re-INVITE that connects it to the target — whose P-Asserted-Identity must match the regexp —
 * and hangs up.
 */
function caller(o: { user: string; password: string; cancelAfterMs?: number; holdMs?: number; waitBye?: boolean; ring?: 'required' | 'optional'; transferred?: string }): string {
  const inv = (cseq: number, auth: string) => `
  <send retrans="500" start_txn="i${cseq}"><![CDATA[
${head('INVITE', `${cseq} INVITE`, auth).replace(/\[field0\]/g, o.user)}Content-Type: application/sdp
Content-Length: [len]

${SDP}]]></send>
  <recv response="100" optional="true" response_txn="i${cseq}"/>`;
  const ack = (cseq: number) => `
  <send ack_txn="i${cseq}"><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-of:i${cseq}];rport
From: <sip:${o.user}@${DOMAIN}>;tag=[pid]C[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: ${cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>`;
  let x = `${inv(1, '')}
  <recv response="407" auth="true" response_txn="i1"/>${ack(1)}${inv(2, `[authentication username=${o.user} password=${o.password}]\n`)}
  <recv response="180"${o.ring === 'optional' ? ' optional="true"' : ''} response_txn="i2"/>`;
  if (o.cancelAfterMs !== undefined) {
    x += `
  <pause milliseconds="${o.cancelAfterMs}"/>
  <send><![CDATA[
CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-of:i2];rport
From: <sip:${o.user}@${DOMAIN}>;tag=[pid]C[call_number]
To: <sip:[service]@${DOMAIN}>
Call-ID: [call_id]
CSeq: 2 CANCEL
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
  <recv response="487" response_txn="i2"/>${ack(2)}`;
  } else {
    x += `
  <recv response="180" optional="true" response_txn="i2"/>
  <recv response="200" response_txn="i2" rrs="true">${o.transferred !== undefined ? '<action><ereg regexp=".*" search_in="hdr" header="To:" assign_to="peerTo"/></action>' : ''}</recv>
  <send ack_txn="i2"><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${o.user}@${DOMAIN}>;tag=[pid]C[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  ${
    o.transferred !== undefined
      ? `<recv request="INVITE" timeout="15000"><action><ereg regexp="${o.transferred}" search_in="hdr" header="P-Asserted-Identity:" check_it="true" assign_to="pai"/></action></recv>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:${o.user}@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

${SDP}]]></send>
  <recv request="ACK" timeout="15000"/>
  <pause milliseconds="${o.holdMs ?? 300}"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${o.user}@${DOMAIN}>;tag=[pid]C[call_number]
To: [$peerTo]
Call-ID: [call_id]
CSeq: 4 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
  <Reference variables="pai,peerTo"/>`
      : o.waitBye === true
      ? `<recv request="BYE" timeout="15000"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>`
      : `<pause milliseconds="${o.holdMs ?? 300}"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${o.user}@${DOMAIN}>;tag=[pid]C[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>`
  }`;
  }
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="caller">${x.replace(/\[field0\]/g, o.user)}\n</scenario>\n`;
}

const ringing = `
  <recv request="INVITE"><action><ereg regexp="([0-9]+)" search_in="hdr" header="CSeq:" assign_to="all,cs"/></action></recv>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]P[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:phone@[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>`;

/**
 * A phone that rings until CANCELled and checks the CANCEL's Reason: `elsewhere` requires
 * cause=200 "Call completed elsewhere", `none` requires its absence (sipp fails the call otherwise).
 */
function loser(expectReason: 'elsewhere' | 'none'): string {
  const check =
    expectReason === 'elsewhere'
      ? `<ereg regexp="SIP;cause=200;text=\\"Call completed elsewhere\\"" search_in="hdr" header="Reason:" check_it="true" assign_to="r"/>`
      : `<ereg regexp="cause=200" search_in="hdr" header="Reason:" check_it_inverse="true" assign_to="r"/>`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loser">${ringing}
  <recv request="CANCEL" timeout="15000"><action>${check}</action></recv>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]P[call_number]
[last_Call-ID:]
CSeq: [$cs] INVITE
Content-Length: 0

]]></send>
  <recv request="ACK" timeout="15000"/>
  <Reference variables="all,r"/>
</scenario>
`;
}

/** A phone that rings for `ringMs`, answers and waits for the BYE; `fromMatches`: a regexp the INVITE's From must match (who it shows as calling). */
function winner(ringMs: number, fromMatches?: string): string {
  const ring = fromMatches === undefined ? ringing : ringing.replace('<recv request="INVITE"><action>', `<recv request="INVITE"><action><ereg regexp="${fromMatches}" search_in="hdr" header="From:" check_it="true" assign_to="from"/>`);
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="winner">${ring}
  <pause milliseconds="${ringMs}"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]P[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:phone@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

${SDP}]]></send>
  <recv request="ACK" timeout="15000"/>
  <recv request="BYE" timeout="15000"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <Reference variables="all,cs${fromMatches === undefined ? "" : ",from"}"/>
</scenario>
`;
}

  /**
   * A phone that answers and then REFERs the caller to `target` (blind transfer), expects the
   * NOTIFYs (the last one `SIP/2.0 200`) and the BYE that releases it.
   */
  function transferor(target: string): string {
    const ok200 = `
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>`;
    return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="transferor">
  <recv request="INVITE" rrs="true"><action><ereg regexp=".*" search_in="hdr" header="From:" assign_to="peer"/></action></recv>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]X[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:xfer@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

${SDP}]]></send>
  <recv request="ACK"/>
  <pause milliseconds="200"/>
  <send retrans="500"><![CDATA[
REFER [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:xfer@${DOMAIN}>;tag=[pid]X[call_number]
To: [$peer]
Call-ID: [call_id]
CSeq: 1 REFER
Contact: <sip:xfer@[local_ip]:[local_port];transport=[transport]>
Refer-To: <sip:${target}@${DOMAIN}>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="202"/>
  <recv request="NOTIFY"/>${ok200}
  <recv request="NOTIFY"><action><ereg regexp="SIP/2.0 200" search_in="body" check_it="true" assign_to="done"/></action></recv>${ok200}
  <recv request="BYE"/>${ok200}
  <Reference variables="done"/>
</scenario>
`;
  }

  return { SDP, caller, loser, winner, transferor };
}
