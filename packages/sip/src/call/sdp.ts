/**
 * SDP checks: an offer Kumo cannot parse is refused with 488 instead of being passed on; otherwise SDP is
 * relayed untouched. Codec names are recorded for CDRs.
 *
 * The check reads only what it needs (the session's v= and o= lines, the m= lines and their a=rtpmap lines)
 * with sdp-transform's own patterns for those lines, so it answers exactly as a full `sdpTransform.parse`
 * would (`sdp.test.ts` compares the two over a corpus and its mutations): the full parse tries each a= line
 * against some fifty patterns and builds an object per line, twice per call (offer and answer).
 */
export type SdpCheck = { readonly ok: true; readonly codecs: readonly string[] } | { readonly ok: false; readonly reason: string };

// sdp-transform's grammar for the lines read here (lib/grammar.js: v, o, m and a=rtpmap).
const VERSION = /^(\d*)$/;
const ORIGIN = /^(\S*) (\d*) (\d*) (\S*) IP(\d) (\S*)/;
const MEDIA = /^(\w*) (\d*) ([\w/]*)(?: (.*))?/;
const RTPMAP = /^rtpmap:(\d*) ([\w\-.]*)(?:\s*\/(\d*)(?:\s*\/(\S*))?)?/;
const LINES = /\r\n|\r|\n/;

/** sdp-transform's value conversion: a string that is a number's canonical form becomes that number. */
const toIntIfInt = (v: string): string | number => (String(Number(v)) === v ? Number(v) : v);

interface Media {
  type: string | number | undefined;
  port: string | number | undefined;
  codecs: (string | number)[];
}

export function checkSdp(body: string | undefined): SdpCheck {
  if (body === undefined || body.trim() === '') return { ok: false, reason: 'no SDP offer' };
  let version: string | number | undefined;
  let origin = false;
  const media: Media[] = [];
  let m: Media | undefined;
  for (const l of body.split(LINES)) {
    // sdp-transform keeps lines matching /^([a-z])=(.*)/ and reads them by their type letter.
    if (l.length < 2 || l.charCodeAt(1) !== 61 /* = */) continue;
    const type = l.charCodeAt(0);
    if (type < 97 || type > 122) continue;
    const content = l.slice(2);
    if (type === 109 /* m */) {
      const r = MEDIA.exec(content);
      m = { type: r ? toIntIfInt(r[1] as string) : undefined, port: r ? toIntIfInt(r[2] as string) : undefined, codecs: [] };
      media.push(m);
    } else if (m !== undefined) {
      if (type === 97 /* a */) {
        const r = RTPMAP.exec(content);
        if (r) m.codecs.push(toIntIfInt(r[2] as string));
      }
    } else if (type === 118 /* v */) {
      const r = VERSION.exec(content);
      if (r) version = toIntIfInt(r[1] as string);
    } else if (type === 111 /* o */) {
      if (ORIGIN.test(content)) origin = true;
    }
  }
  if (version !== 0 || !origin) return { ok: false, reason: 'SDP without v=0 / o= line' };
  if (media.length === 0) return { ok: false, reason: 'SDP without media' };
  if (media.some((x) => typeof x.type !== 'string' || typeof x.port !== 'number')) return { ok: false, reason: 'malformed m= line' };
  return { ok: true, codecs: codecsOf(media) };
}

/** Codec names of the audio streams, in order, without duplicates. */
export function sdpCodecs(body: string | undefined): string[] {
  const c = checkSdp(body);
  return c.ok ? [...c.codecs] : [];
}

function codecsOf(media: readonly Media[]): string[] {
  const out: string[] = [];
  for (const m of media) {
    if (m.type !== 'audio' || m.port === 0) continue;
    // As read by sdp-transform (a codec name of digits only is a number there; kept as it was).
    for (const c of m.codecs as string[]) if (!out.includes(c)) out.push(c);
  }
  return out;
}
