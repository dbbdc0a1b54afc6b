/**
 * SIP parser micro benchmark: messages parsed per second for a typical INVITE (as sipp sends it), with the ratio to
 * drachtio-srf's own parser (lib/sip-parser/parser.js) measured in the same run.
 *
 *   npx tsc -b && node --import ./loadtest/engine/ts-register.js loadtest/engine/parser-bench.ts [slice-seconds] [rounds]
 *
 * Cases run interleaved in short slices (default 0.3 s × 8 rounds) after a warm-up; each case reports its best
 * slice, counted in messages per CPU second of this process (what one core sustains), so that other processes on a
 * shared machine do not skew the figures:
 * - kumo parse+read:   parseMessage + the fields the engine reads for every message (top Via branch, From/To tags,
 *                      CSeq, Call-ID, Contact, Request-URI)
 * - kumo round trip:   the above + serialize() back to bytes
 * - drachtio lazy+read: srf's parser as srf uses it (lazy) + parsing the same headers with its header parsers
 * - drachtio full:     srf's parser with every header parsed
 */
import { createRequire } from 'node:module';
import { parseMessage, serialize } from '@kumo/engine';

const SDP =
  'v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
  'm=audio 6000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n' +
  'a=fmtp:101 0-15\r\na=sendrecv\r\n';
const INVITE = Buffer.from(
  'INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n' +
    'Via: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bK-29586-1-0;rport\r\n' +
    'From: sipp <sip:sipp@127.0.0.1:5072>;tag=29586SIPpTag001\r\n' +
    'To: service <sip:service@127.0.0.1:5060>\r\n' +
    'Call-ID: 1-29586@127.0.0.1\r\n' +
    'CSeq: 1 INVITE\r\n' +
    'Contact: sip:sipp@127.0.0.1:5072\r\n' +
    'Max-Forwards: 70\r\n' +
    'Subject: Performance Test\r\n' +
    'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY\r\n' +
    'Supported: timer, replaces\r\n' +
    'User-Agent: sipp\r\n' +
    'Content-Type: application/sdp\r\n' +
    `Content-Length: ${Buffer.byteLength(SDP)}\r\n\r\n${SDP}`,
);

interface Case {
  name: string;
  fn: () => unknown;
}

let sink: unknown;

/**
 * Messages per CPU second of this process (user + system, all threads, so GC counts): on a shared machine the
 * wall clock also counts the time other processes hold the cores, the CPU time does not.
 */
function measure(c: Case, seconds: number): number {
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const cpu0 = process.cpuUsage();
  while (performance.now() < deadline) {
    for (let i = 0; i < 1000; i++) sink = c.fn();
    n += 1000;
  }
  const cpu = process.cpuUsage(cpu0);
  return n / ((cpu.user + cpu.system) / 1e6);
}

function kumoRead(): unknown {
  const r = parseMessage(INVITE);
  if (!r.ok || r.msg.isResponse) throw new Error('parse failed');
  const m = r.msg;
  return [m.topVia?.branch, m.from?.tag, m.to?.tag, m.cseq?.seq, m.callId, m.contact, m.requestUri];
}

const cases: Case[] = [
  { name: 'kumo parse+read', fn: kumoRead },
  {
    name: 'kumo round trip',
    fn: () => {
      const r = parseMessage(INVITE);
      if (!r.ok) throw new Error('parse failed');
      const m = r.msg;
      sink = [m.topVia?.branch, m.from?.tag, m.to?.tag, m.cseq?.seq, m.callId, m.contact];
      return serialize(m);
    },
  },
];

interface DrachtioParser {
  parseSipMessage(s: Buffer | string, lazy?: boolean): { headers: Record<string, string>; uri: string } | undefined;
  parseUri(s: string): unknown;
  getParser(h: string): (d: { s: string; i: number }) => unknown;
}
let drachtio: DrachtioParser | undefined;
try {
  drachtio = createRequire(import.meta.url)('drachtio-srf/lib/sip-parser/parser.js') as DrachtioParser;
} catch {
  console.log('drachtio-srf not installed: no baseline (npm install in the repository root installs it).');
}
if (drachtio !== undefined) {
  const d = drachtio;
  cases.push(
    {
      name: 'drachtio lazy+read',
      fn: () => {
        const m = d.parseSipMessage(INVITE, true);
        if (m === undefined) throw new Error('drachtio parse failed');
        const h = m.headers;
        return [
          d.getParser('via')({ s: h.via!, i: 0 }),
          d.getParser('from')({ s: h.from!, i: 0 }),
          d.getParser('to')({ s: h.to!, i: 0 }),
          d.getParser('cseq')({ s: h.cseq!, i: 0 }),
          h['call-id'],
          d.getParser('contact')({ s: h.contact!, i: 0 }),
          d.parseUri(m.uri),
        ];
      },
    },
    { name: 'drachtio full', fn: () => d.parseSipMessage(INVITE, false) },
  );
}

const seconds = Number(process.argv[2] ?? '0.3');
const rounds = Number(process.argv[3] ?? '8');
// Warm-up: let the JIT settle.
for (const c of cases) measure(c, 0.3);
const best = new Map<string, number>();
for (let round = 0; round < rounds; round++) {
  for (const c of cases) best.set(c.name, Math.max(best.get(c.name) ?? 0, measure(c, seconds)));
}
void sink;

console.log(`SIP parser benchmark: typical INVITE, ${INVITE.length} bytes, node ${process.version}, messages per CPU second`);
for (const c of cases) console.log(`  ${c.name.padEnd(20)} ${Math.round(best.get(c.name)!).toLocaleString('en-US').padStart(10)} msg/s`);
const ours = best.get('kumo parse+read')!;
const base = best.get('drachtio lazy+read');
if (base !== undefined) {
  console.log(`ratio kumo parse+read / drachtio lazy+read: ${(ours / base).toFixed(2)}`);
  console.log(`ratio kumo parse+read / drachtio full:      ${(ours / best.get('drachtio full')!).toFixed(2)}`);
}
