/**
 * SDP checks with sdp-transform: an offer Kumo cannot parse is refused with 488 instead of
 * being passed on; otherwise SDP is relayed untouched. Codec names are recorded for CDRs.
 */
import sdpTransform from 'sdp-transform';

export type SdpCheck = { readonly ok: true; readonly codecs: readonly string[] } | { readonly ok: false; readonly reason: string };

interface ParsedMedia {
  type?: string;
  port?: number;
  rtp?: { codec?: string }[];
}

export function checkSdp(body: string | undefined): SdpCheck {
  if (body === undefined || body.trim() === '') return { ok: false, reason: 'no SDP offer' };
  let parsed: { version?: number; origin?: unknown; media?: ParsedMedia[] };
  try {
    parsed = sdpTransform.parse(body);
  } catch {
    return { ok: false, reason: 'unparseable SDP' };
  }
  if (parsed.version !== 0 || parsed.origin === undefined) return { ok: false, reason: 'SDP without v=0 / o= line' };
  const media = parsed.media ?? [];
  if (media.length === 0) return { ok: false, reason: 'SDP without media' };
  if (media.some((m) => typeof m.type !== 'string' || typeof m.port !== 'number')) return { ok: false, reason: 'malformed m= line' };
  return { ok: true, codecs: codecsOf(media) };
}

/** Codec names of the audio streams, in order, without duplicates. */
export function sdpCodecs(body: string | undefined): string[] {
  const c = checkSdp(body);
  return c.ok ? [...c.codecs] : [];
}

function codecsOf(media: readonly ParsedMedia[]): string[] {
  const out: string[] = [];
  for (const m of media) {
    if (m.type !== 'audio' || m.port === 0) continue;
    for (const r of m.rtp ?? []) if (r.codec !== undefined && !out.includes(r.codec)) out.push(r.codec);
  }
  return out;
}
