#!/usr/bin/env node
/**
 * Where an INVITE→180 goes: splits each call of the calls benchmark's latency step into the hops it takes,
 * from a loopback capture (`KUMO_BENCH_PCAP=<file>` makes the bench capture its latency step with dumpcap).
 *
 *   node loadtest/calls/pcap-latency.mjs <capture.pcap> [--slow-ms 20] [--csv <file>]
 *
 * The A leg is the caller's authenticated INVITE (CSeq 2); the B leg is matched to it through the SDP
 * session id, which the bench's caller sets to its call number. For every call the hops are:
 *
 *   engine in     UDP INVITE reaches the engine → the engine's `sip|network` frame to the app
 *   sip: to record  that frame → the first write to Redis naming the call (its record): tenant, digest, admission
 *                   with the route's reads (the record's write leaves in the same turn as the B leg's INVITE:
 *                   when it leaves after that INVITE, the INVITE's frame ends this hop)
 *   sip: record→B   that write → the app's frame carrying the B leg's INVITE (the same turn: CPU only)
 *   engine out    the app's B INVITE frame → the INVITE leaves over UDP to the callee
 *   callee        INVITE sent → its 180 arrives (sipp UAS)
 *   engine in 180 180 reaches the engine → frame to the app
 *   sip (180)     that frame → the app's frame relaying the 180 on the A leg
 *   engine out 180 the app's frame → the 180 leaves over UDP to the caller
 *
 * and `wire total` is the caller's INVITE arriving to the 180 leaving, as the kernel saw them: what sipp
 * reports beyond it is the caller's own scheduling. It prints each hop's percentiles and, for the calls
 * slower than --slow-ms on the wire, the hop that took the largest share. Reads classic pcap (dumpcap -P),
 * Ethernet/loopback/Linux-cooked link types, IPv4 UDP and TCP; the control link is recognised by its
 * `<length>#` framing and reassembled in order per direction (loopback neither drops nor reorders).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { quantile } from '../lib/quantile.mjs';

const args = process.argv.slice(2);
const file = args.find((a, i) => !a.startsWith('--') && !['--slow-ms', '--csv'].includes(args[i - 1] ?? ''));
const slowIdx = args.indexOf('--slow-ms');
const SLOW = slowIdx >= 0 ? Number(args[slowIdx + 1]) : 20;
const csvIdx = args.indexOf('--csv');
const CSV = csvIdx >= 0 ? args[csvIdx + 1] : undefined;
if (!file) {
  process.stderr.write('usage: pcap-latency.mjs <capture.pcap> [--slow-ms 20] [--csv <file>]\n');
  process.exit(2);
}

const buf = readFileSync(file);
const magic = buf.readUInt32LE(0);
const nano = magic === 0xa1b23c4d;
if (magic !== 0xa1b2c3d4 && !nano) throw new Error(`${file}: not a classic little-endian pcap (write it with dumpcap -P)`);
const linkType = buf.readUInt32LE(20);
const linkLen = { 0: 4, 1: 14, 113: 16, 276: 20 }[linkType];
if (linkLen === undefined) throw new Error(`link type ${linkType} not handled`);

/** @type {{ t: number, proto: 'udp'|'tcp', sport: number, dport: number, payload: Buffer }[]} */
const packets = [];
for (let off = 24; off + 16 <= buf.length; ) {
  const sec = buf.readUInt32LE(off);
  const frac = buf.readUInt32LE(off + 4);
  const incl = buf.readUInt32LE(off + 8);
  const t = sec * 1000 + (nano ? frac / 1e6 : frac / 1e3);
  const pkt = buf.subarray(off + 16, off + 16 + incl);
  off += 16 + incl;
  const ip = pkt.subarray(linkLen);
  if (ip.length < 20 || ip[0] >> 4 !== 4) continue;
  const ihl = (ip[0] & 15) * 4;
  const total = ip.readUInt16BE(2);
  const proto = ip[9];
  const l4 = ip.subarray(ihl, total);
  if (proto === 17 && l4.length >= 8) {
    packets.push({ t, proto: 'udp', sport: l4.readUInt16BE(0), dport: l4.readUInt16BE(2), payload: l4.subarray(8) });
  } else if (proto === 6 && l4.length >= 20) {
    const doff = (l4[12] >> 4) * 4;
    const payload = l4.subarray(doff);
    if (payload.length) packets.push({ t, proto: 'tcp', sport: l4.readUInt16BE(0), dport: l4.readUInt16BE(2), payload });
  }
}

/** First line, Call-ID, CSeq and the SDP session id of a SIP message. */
function sipFacts(text) {
  const eol = text.indexOf('\r\n');
  const first = text.slice(0, eol < 0 ? undefined : eol);
  const header = (name, short) => {
    const m = new RegExp(`\\r\\n(?:${name}${short ? `|${short}` : ''})[ \\t]*:[ \\t]*([^\\r\\n]*)`, 'i').exec(text);
    return m ? m[1].trim() : undefined;
  };
  const sdp = /\r\no=\S+ (\d+) /.exec(text);
  const isResponse = first.startsWith('SIP/2.0 ');
  return {
    status: isResponse ? Number(first.slice(8, 11)) : undefined,
    method: isResponse ? undefined : first.split(' ')[0],
    callId: header('Call-ID', 'i'),
    cseq: header('CSeq'),
    session: sdp ? sdp[1] : undefined,
  };
}

// UDP: the engine's port is the one every UDP flow shares.
const portCount = new Map();
for (const p of packets) {
  if (p.proto !== 'udp') continue;
  portCount.set(p.sport, (portCount.get(p.sport) ?? 0) + 1);
  portCount.set(p.dport, (portCount.get(p.dport) ?? 0) + 1);
}
const enginePort = [...portCount.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];

/** @type {{ t: number, where: 'udp-in'|'udp-out'|'to-app'|'from-app', f: ReturnType<typeof sipFacts> }[]} */
const events = [];
/** Commands to Redis (a write may carry several), in capture order: the sip hop is split at the first that names the call. */
const redisWrites = [];
const streams = new Map();
const FRAME = /^(\d+)#/;
for (const p of packets) {
  if (p.proto === 'udp') {
    if (p.sport !== enginePort && p.dport !== enginePort) continue;
    const text = p.payload.toString('latin1');
    if (!text.includes('SIP/2.0')) continue;
    events.push({ t: p.t, where: p.dport === enginePort ? 'udp-in' : 'udp-out', f: sipFacts(text) });
    continue;
  }
  const key = `${p.sport}>${p.dport}`;
  if (p.payload[0] === 0x2a /* '*': a RESP command to Redis */) {
    redisWrites.push({ t: p.t, text: p.payload.toString('latin1') });
    continue;
  }
  let s = streams.get(key);
  if (!s) {
    if (!FRAME.test(p.payload.toString('latin1', 0, 12))) continue; // not (or not yet at a boundary of) the control link
    s = { pending: Buffer.alloc(0) };
    streams.set(key, s);
  }
  s.pending = s.pending.length ? Buffer.concat([s.pending, p.payload]) : p.payload;
  for (;;) {
    const head = FRAME.exec(s.pending.toString('latin1', 0, 12));
    if (!head) {
      s.pending = Buffer.alloc(0); // lost the boundary: wait for the next write that starts one
      streams.delete(key);
      break;
    }
    const start = head[0].length;
    const len = Number(head[1]);
    if (s.pending.length < start + len) break;
    const frame = s.pending.toString('latin1', start, start + len);
    s.pending = s.pending.subarray(start + len);
    const body = frame.indexOf('\r\n');
    if (body < 0) continue;
    const fields = frame.slice(0, body).split('|');
    if (fields[1] !== 'sip') continue;
    const sip = frame.slice(body + 2);
    if (!sip.includes('SIP/2.0')) continue;
    events.push({ t: p.t, where: fields[2] === 'network' ? 'to-app' : 'from-app', f: sipFacts(sip) });
  }
}
events.sort((a, b) => a.t - b.t);

const first = (arr, pred) => {
  for (const e of arr) if (pred(e)) return e.t;
  return undefined;
};
const byCall = new Map();
for (const e of events) {
  if (!e.f.callId) continue;
  let l = byCall.get(e.f.callId);
  if (!l) byCall.set(e.f.callId, (l = []));
  l.push(e);
}
// The app sends a new request without Call-ID and CSeq (the engine adds them), so the B leg's INVITE frame and
// the INVITE that leaves for the callee are both found through the SDP session id the caller set.
const appInviteBySession = new Map();
const bLegBySession = new Map();
for (const e of events) {
  if (e.f.method !== 'INVITE' || !e.f.session) continue;
  if (e.where === 'from-app' && !e.f.callId && !appInviteBySession.has(e.f.session)) appInviteBySession.set(e.f.session, e.t);
  if (e.where === 'udp-out' && e.f.callId && !bLegBySession.has(e.f.session)) bLegBySession.set(e.f.session, e.f.callId);
}

/** When the first write to Redis naming `callId` (its call record) went out after `after`. */
function firstRedisWrite(callId, after) {
  let lo = 0;
  let hi = redisWrites.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (redisWrites[mid].t < after) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < redisWrites.length && redisWrites[i].t < after + 1000; i++) if (redisWrites[i].text.includes(`${callId};`)) return redisWrites[i].t;
  return undefined;
}

const HOPS = ['engine in', 'sip: to record', 'sip: record→B', 'engine out', 'callee', 'engine in 180', 'sip (180)', 'engine out 180', 'wire total'];
const samples = Object.fromEntries(HOPS.map((h) => [h, []]));
const slow = [];
/** --csv: one line per call, the caller's INVITE arrival (epoch ms) and every hop, to line calls up with other traces. */
const rows = [];
for (const [, l] of byCall) {
  const isInv2 = (e) => e.f.method === 'INVITE' && e.f.cseq?.startsWith('2 ');
  const t0 = first(l, (e) => e.where === 'udp-in' && isInv2(e));
  if (t0 === undefined) continue;
  const inv = l.find((e) => e.where === 'udp-in' && isInv2(e));
  const t1 = first(l, (e) => e.where === 'to-app' && isInv2(e));
  const t4 = first(l, (e) => e.where === 'from-app' && e.f.status === 180);
  const t5 = first(l, (e) => e.where === 'udp-out' && e.f.status === 180);
  const b = inv?.f.session ? byCall.get(bLegBySession.get(inv.f.session)) : undefined;
  if ([t1, t4, t5].includes(undefined) || !b) continue;
  const t2 = appInviteBySession.get(inv.f.session);
  const t2o = first(b, (e) => e.where === 'udp-out' && e.f.method === 'INVITE');
  const t3 = first(b, (e) => e.where === 'udp-in' && e.f.status === 180);
  const t3a = first(b, (e) => e.where === 'to-app' && e.f.status === 180);
  if ([t2, t2o, t3, t3a].includes(undefined)) continue;
  // The record's write and the B leg's INVITE leave in the same event-loop turn: whichever goes first ends "to record".
  const written = firstRedisWrite(inv.f.callId, t1);
  if (written === undefined) continue;
  const tr = Math.min(written, t2);
  const hops = [t1 - t0, tr - t1, t2 - tr, t2o - t2, t3 - t2o, t3a - t3, t4 - t3a, t5 - t4, t5 - t0];
  hops.forEach((v, i) => samples[HOPS[i]].push(v));
  if (t5 - t0 > SLOW) slow.push({ t0, hops });
  if (CSV) rows.push(`${t0.toFixed(3)},${hops.map((h) => h.toFixed(3)).join(',')}`);
}


const fmt = (v) => (Number.isFinite(v) ? v.toFixed(2).padStart(8) : '       -');
const n = samples['wire total'].length;
process.stdout.write(`${n} calls matched (engine UDP port ${enginePort}); times in ms\n`);
process.stdout.write(`${'hop'.padEnd(16)}     p50      p90      p99      max     mean\n`);
for (const h of HOPS) {
  const a = [...samples[h]].sort((x, y) => x - y);
  const mean = a.reduce((x, y) => x + y, 0) / (a.length || 1);
  process.stdout.write(`${h.padEnd(16)}${fmt(quantile(a, 0.5))} ${fmt(quantile(a, 0.9))} ${fmt(quantile(a, 0.99))} ${fmt(a[a.length - 1] ?? NaN)} ${fmt(mean)}\n`);
}
process.stdout.write(`\n${slow.length} calls over ${SLOW} ms on the wire; mean time per hop in them, and how often each hop was the largest:\n`);
const largest = new Array(HOPS.length - 1).fill(0);
const sum = new Array(HOPS.length - 1).fill(0);
for (const s of slow) {
  let k = 0;
  for (let i = 0; i < HOPS.length - 1; i++) {
    sum[i] += s.hops[i];
    if (s.hops[i] > s.hops[k]) k = i;
  }
  largest[k]++;
}
for (let i = 0; i < HOPS.length - 1; i++) {
  process.stdout.write(`${HOPS[i].padEnd(16)}${fmt(sum[i] / (slow.length || 1))}   largest in ${largest[i]}\n`);
}
if (slow.length) {
  const t00 = Math.min(...[...byCall.values()].map((l) => l[0].t));
  const perSecond = new Map();
  for (const s of slow) perSecond.set(Math.floor((s.t0 - t00) / 1000), (perSecond.get(Math.floor((s.t0 - t00) / 1000)) ?? 0) + 1);
  process.stdout.write(`slow calls per second of the capture: ${[...perSecond.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}s:${v}`).join(' ')}\n`);
}
if (CSV) writeFileSync(CSV, `t0_ms,${HOPS.join(',')}\n${rows.join('\n')}\n`);
