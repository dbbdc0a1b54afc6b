import { describe, expect, it } from 'vitest';
import sdpTransform from 'sdp-transform';
import { checkSdp, sdpCodecs, type SdpCheck } from './sdp.js';

/** The check as it was written over a full `sdpTransform.parse`: the lean check must answer exactly as this does. */
function reference(body: string | undefined): SdpCheck {
  if (body === undefined || body.trim() === '') return { ok: false, reason: 'no SDP offer' };
  type M = { type?: unknown; port?: unknown; rtp?: { codec?: string }[] };
  let parsed: { version?: unknown; origin?: unknown; media?: M[] };
  try {
    parsed = sdpTransform.parse(body);
  } catch {
    return { ok: false, reason: 'unparseable SDP' };
  }
  if (parsed.version !== 0 || parsed.origin === undefined) return { ok: false, reason: 'SDP without v=0 / o= line' };
  const media = parsed.media ?? [];
  if (media.length === 0) return { ok: false, reason: 'SDP without media' };
  if (media.some((m) => typeof m.type !== 'string' || typeof m.port !== 'number')) return { ok: false, reason: 'malformed m= line' };
  const out: string[] = [];
  for (const m of media) {
    if (m.type !== 'audio' || m.port === 0) continue;
    for (const r of m.rtp ?? []) if (r.codec !== undefined && !out.includes(r.codec)) out.push(r.codec);
  }
  return { ok: true, codecs: out };
}

const sipp = [
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

const phone = [
  'v=0',
  'o=- 3912345678 3912345679 IN IP4 192.0.2.10',
  's=baresip',
  'c=IN IP4 192.0.2.10',
  'b=AS:64',
  't=0 0',
  'a=tool:baresip 3.10.1',
  'm=audio 10000 RTP/AVP 9 0 8 101',
  'b=TIAS:64000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=rtcp:10001',
  'a=sendrecv',
  'a=label:1',
  'a=ptime:20',
  'm=video 10002 RTP/AVP 96',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 packetization-mode=1',
  'm=audio 0 RTP/AVP 18',
  'a=rtpmap:18 G729/8000',
  '',
].join('\r\n');

const webrtc = [
  'v=0',
  'o=mozilla...THIS_IS_SDPARTA-99.0 6204372346546543 0 IN IP4 0.0.0.0',
  's=-',
  't=0 0',
  'a=fingerprint:sha-256 AB:CD:EF',
  'a=group:BUNDLE 0',
  'a=ice-options:trickle',
  'a=msid-semantic:WMS *',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8 126',
  'c=IN IP4 0.0.0.0',
  'a=candidate:0 1 UDP 2122252543 192.0.2.5 50000 typ host',
  'a=sendrecv',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=fmtp:111 maxplaybackrate=48000;stereo=1;useinbandfec=1',
  'a=ice-pwd:abcdef',
  'a=ice-ufrag:1234',
  'a=mid:0',
  'a=msid:{a} {b}',
  'a=rtcp-fb:111 transport-cc',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtpmap:9 G722/8000/1',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:126 telephone-event/8000/1',
  'a=setup:actpass',
  'a=ssrc:1234 cname:{c}',
].join('\n');

const corpus = [
  sipp,
  phone,
  webrtc,
  sipp.replace(/\r\n/g, '\r'),
  'v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 0\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:0 PCMU/8000\r\n',
  'v=0\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\n',
  'v=1\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n',
  'v=00\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n',
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nv=x\r\nm=audio 4000 RTP/AVP 0\r\n',
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n',
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio 04000 RTP/AVP 0\r\n',
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio x RTP/AVP 0\r\n',
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio\r\n',
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=123 4000 RTP/AVP 0\r\na=rtpmap:0 729/8000\r\n',
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nm= 4000 RTP/AVP 0\r\na=rtpmap:0 /8000\r\n',
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\na=rtpmap:0 PCMU/8000\r\nm=audio 4000 RTP/AVP 0\r\nv=1\r\no=bad\r\n',
  'v=0\r\nO=- 1 1 IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n',
  ' v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n',
  'v=0\u2028\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PC\u2028MU/8000\r\n',
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap: PCMU\r\na=rtpmap:8  PCMA/8000\r\na=rtpmap:9 G.722-x/8000\r\n',
  '',
  '   \r\n',
  'garbage',
];

/** Deterministic mutations of a corpus entry: lines dropped, doubled, swapped, characters replaced, endings changed. */
function* mutations(sdp: string, seed: number): Generator<string> {
  let s = seed;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const chars = ['0', '1', ' ', '=', 'a', 'm', 'v', 'o', '/', ':', '\r', '\n', '-', '.', 'x', ''];
  for (let i = 0; i < 150; i++) {
    const lines = sdp.split(/\r\n|\n|\r/);
    const at = rnd(Math.max(1, lines.length));
    switch (rnd(5)) {
      case 0:
        lines.splice(at, 1);
        break;
      case 1:
        lines.splice(at, 0, lines[at] ?? '');
        break;
      case 2: {
        const b = rnd(Math.max(1, lines.length));
        [lines[at], lines[b]] = [lines[b] ?? '', lines[at] ?? ''];
        break;
      }
      default: {
        const l = lines[at] ?? '';
        const p = rnd(l.length + 1);
        lines[at] = l.slice(0, p) + (chars[rnd(chars.length)] as string) + l.slice(p + rnd(2));
      }
    }
    yield lines.join(['\r\n', '\n', '\r'][rnd(3)]);
  }
}

describe('checkSdp', () => {
  it('reads an offer as sdp-transform does', () => {
    expect(checkSdp(sipp)).toEqual({ ok: true, codecs: ['PCMU'] });
    expect(checkSdp(phone)).toEqual({ ok: true, codecs: ['G722', 'PCMU', 'PCMA', 'telephone-event'] });
    expect(checkSdp(webrtc)).toEqual({ ok: true, codecs: ['opus', 'G722', 'PCMU', 'PCMA', 'telephone-event'] });
    expect(checkSdp(undefined)).toEqual({ ok: false, reason: 'no SDP offer' });
    expect(checkSdp('v=0\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\n')).toEqual({ ok: false, reason: 'SDP without v=0 / o= line' });
    expect(sdpCodecs('garbage')).toEqual([]);
  });

  it('answers exactly as the check over a full sdp-transform parse, over a corpus and its mutations', () => {
    let n = 0;
    for (const [i, sdp] of corpus.entries()) {
      expect(checkSdp(sdp), JSON.stringify(sdp)).toEqual(reference(sdp));
      for (const m of mutations(sdp, i + 1)) {
        expect(checkSdp(m), JSON.stringify(m)).toEqual(reference(m));
        n++;
      }
    }
    expect(n).toBeGreaterThan(3000);
  });
});
