/**
 * The Japanese numbering plan as a PBX user dials it, and the number formats Kumo
 * converts between (E.164 `+81…`, national `0…`, a trunk's chosen format).
 *
 * Dialling from an extension:
 * - internal numbers (extensions, ring groups) are dialled as they are;
 * - an outside line is the outside-line prefix (default `0`) and then the number in
 *   national format (`0` + area code…, `050…`, `090…`, `0120…`, `010` + country code…);
 * - `184` / `186` just before the national number (or before the whole string)
 *   withholds / presents the caller's number for this call;
 * - emergency `110`, `118`, `119` work with or without the outside-line prefix;
 * - feature codes: `*8` group pickup, `**<ext>` directed pickup.
 *
 * Pure and table-driven: see NATIONAL_PLAN below and docs/routing.md.
 */
import { DEFAULT_NUMBERING_PLAN, EMERGENCY_NUMBERS, type NumberingPlan } from '../provisioning/types.js';

export type PublicNumberKind =
  | 'fixed'
  | 'ip'
  | 'mobile'
  | 'm2m'
  | 'toll-free'
  | 'shared-cost'
  | 'premium'
  | 'service'
  | 'international';

export type EmergencyService = '110' | '118' | '119';
export type PrivacyRequest = 'withhold' | 'present';
export type InvalidReason = 'empty' | 'malformed' | 'incomplete' | 'too-long' | 'unsupported';

export type DialledNumber =
  | { readonly type: 'pickup'; readonly scope: 'group' }
  | { readonly type: 'pickup'; readonly scope: 'directed'; readonly extension: string }
  | { readonly type: 'emergency'; readonly service: EmergencyService; readonly privacy?: PrivacyRequest }
  /** Digits without an outside-line prefix: an extension or group number, if the tenant has it. */
  | { readonly type: 'internal'; readonly number: string }
  | {
      readonly type: 'external';
      readonly kind: PublicNumberKind;
      /** National format (`0…`; `010…` for international; service numbers as dialled). */
      readonly national: string;
      /** `+…`, or null for service numbers (1XY, #DDDD) that have no E.164 form. */
      readonly e164: string | null;
      readonly privacy?: PrivacyRequest;
    }
  | { readonly type: 'invalid'; readonly reason: InvalidReason };

/** The parts of a tenant's numbering plan dialling depends on; defaults from DEFAULT_NUMBERING_PLAN. */
export type NumberingOptions = Partial<Pick<NumberingPlan, 'outsideLinePrefix' | 'featureCodes'>>;
/** Extensions and group numbers are at most this long; longer strings are never internal. */
export const MAX_INTERNAL_DIGITS = 8;
const EMERGENCY: ReadonlySet<string> = new Set(EMERGENCY_NUMBERS);
const PRIVACY_CODES: Readonly<Record<string, PrivacyRequest>> = { '184': 'withhold', '186': 'present' };

/**
 * National numbers (leading `0`, after the outside-line prefix), first match wins.
 * `length` is the full national length including the leading 0.
 */
export const NATIONAL_PLAN: readonly { readonly prefix: string; readonly length: number; readonly kind: PublicNumberKind; readonly note: string }[] = [
  { prefix: '0120', length: 10, kind: 'toll-free', note: 'free dial (フリーダイヤル)' },
  { prefix: '0800', length: 11, kind: 'toll-free', note: 'free dial, 11 digits' },
  { prefix: '0570', length: 10, kind: 'shared-cost', note: 'navi dial (ナビダイヤル)' },
  { prefix: '0180', length: 10, kind: 'shared-cost', note: 'tele-dome / information' },
  { prefix: '0990', length: 10, kind: 'premium', note: 'dial Q2 premium information' },
  { prefix: '050', length: 11, kind: 'ip', note: 'IP telephony' },
  { prefix: '070', length: 11, kind: 'mobile', note: 'mobile / PHS' },
  { prefix: '080', length: 11, kind: 'mobile', note: 'mobile' },
  { prefix: '090', length: 11, kind: 'mobile', note: 'mobile' },
  { prefix: '020', length: 11, kind: 'm2m', note: 'M2M / pager' },
  // 0AB-J fixed: 0 + area code + local number, 10 digits; the digit after the area's
  // first digit is never 0 (0X0 prefixes are all non-geographic, matched above or unsupported).
  ...['1', '2', '3', '4', '5', '6', '7', '8', '9'].flatMap((a) =>
    ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((b) => ({
      prefix: `0${a}${b}`,
      length: 10,
      kind: 'fixed' as const,
      note: '0AB-J fixed line',
    })),
  ),
];

/** International: `010` + country code + number; E.164 allows at most 15 digits. */
const INTERNATIONAL_PREFIX = '010';
const E164_MAX_DIGITS = 15;
const INTERNATIONAL_MIN_DIGITS = 7;

/**
 * Service numbers (特番): three-digit 1XY codes and four-digit `#DDDD` numbers, dialled after the
 * outside-line prefix. They have no E.164 form, go to the carrier as dialled and are rated as their
 * own class (`service`). The well-known ones, for documentation and reports; any other 1XY is a
 * service number too (the carrier decides whether it exists). 110/118/119 are emergency, 184/186
 * caller-ID prefixes.
 */
export const SERVICE_NUMBERS: Readonly<Record<string, string>> = {
  '104': 'directory assistance (番号案内)',
  '113': 'fault reports (故障受付)',
  '115': 'telegrams (電報)',
  '116': 'carrier sales office (営業窓口)',
  '117': 'speaking clock (時報)',
  '171': 'disaster message dial (災害用伝言ダイヤル)',
  '177': 'weather forecast (天気予報)',
  '188': 'consumer hotline (消費者ホットライン)',
  '189': 'child consultation (児童相談所虐待対応ダイヤル)',
  '#7119': 'emergency medical advice (救急安心センター)',
  '#8000': 'paediatric advice (子ども医療電話相談)',
};

/** A service code as dialled after the outside-line prefix: 1XY (not 110/118/119) or #DDDD. */
export function isServiceCode(n: string): boolean {
  return (/^1\d\d$/.test(n) && !EMERGENCY.has(n)) || /^#\d{4}$/.test(n);
}

/** Visual separators users and phones put in numbers (RFC 3966 visual-separator + space). */
function stripSeparators(s: string): string {
  return s.replace(/[-.() ]/g, '');
}

/** Classifies a number in national format (no outside-line prefix, no 184/186). */
export function parseNational(n: string, privacy?: PrivacyRequest): DialledNumber {
  const withPrivacy = privacy === undefined ? {} : { privacy };
  if (EMERGENCY.has(n)) return { type: 'emergency', service: n as EmergencyService, ...withPrivacy };
  if (isServiceCode(n)) {
    return { type: 'external', kind: 'service', national: n, e164: null, ...withPrivacy };
  }
  if (!/^0\d*$/.test(n)) return { type: 'invalid', reason: n.length === 0 ? 'incomplete' : 'unsupported' };
  if (n.startsWith(INTERNATIONAL_PREFIX)) {
    const rest = n.slice(INTERNATIONAL_PREFIX.length);
    if (rest.startsWith('0')) return { type: 'invalid', reason: 'unsupported' };
    if (rest.length < INTERNATIONAL_MIN_DIGITS) return { type: 'invalid', reason: 'incomplete' };
    if (rest.length > E164_MAX_DIGITS) return { type: 'invalid', reason: 'too-long' };
    return { type: 'external', kind: 'international', national: n, e164: `+${rest}`, ...withPrivacy };
  }
  if (n.startsWith('00')) return { type: 'invalid', reason: 'unsupported' }; // carrier selection (00XY) is not offered
  const row = NATIONAL_PLAN.find((r) => n.startsWith(r.prefix));
  if (!row) {
    // Shorter than every prefix that could still match: the user has not finished dialling.
    const couldMatch = NATIONAL_PLAN.some((r) => r.prefix.startsWith(n)) || n === INTERNATIONAL_PREFIX.slice(0, n.length);
    return { type: 'invalid', reason: couldMatch ? 'incomplete' : 'unsupported' };
  }
  if (n.length < row.length) return { type: 'invalid', reason: 'incomplete' };
  if (n.length > row.length) return { type: 'invalid', reason: 'too-long' };
  return { type: 'external', kind: row.kind, national: n, e164: `+81${n.slice(1)}`, ...withPrivacy };
}

/** Classifies an E.164 string `+CC…` (as some phones and click-to-dial send it). */
function classifyE164(plus: string, privacy?: PrivacyRequest): DialledNumber {
  const digits = plus.slice(1);
  if (!/^[1-9]\d*$/.test(digits)) return { type: 'invalid', reason: 'malformed' };
  if (digits.startsWith('81')) return parseNational(`0${digits.slice(2)}`, privacy);
  return parseNational(`${INTERNATIONAL_PREFIX}${digits}`, privacy);
}

function isPrivacyCode(s: string): s is '184' | '186' {
  return s === '184' || s === '186';
}

/**
 * Parses what a phone dialled (the request-URI user part, already %-decoded).
 * Whether an `internal` result is really an extension or group is for the caller to decide.
 */
export function parseDialled(raw: string, opts: NumberingOptions = {}): DialledNumber {
  const prefix = opts.outsideLinePrefix ?? DEFAULT_NUMBERING_PLAN.outsideLinePrefix;
  const codes = opts.featureCodes ?? DEFAULT_NUMBERING_PLAN.featureCodes;
  const s = stripSeparators(raw.trim());
  if (s.length === 0) return { type: 'invalid', reason: 'empty' };
  if (!/^(\+?[0-9]+|[0-9*#]+)$/.test(s)) return { type: 'invalid', reason: 'malformed' };

  if (s === codes.pickup) return { type: 'pickup', scope: 'group' };
  if (codes.directedPickup !== '' && s.startsWith(codes.directedPickup)) {
    const ext = s.slice(codes.directedPickup.length);
    return /^\d+$/.test(ext) && ext.length <= MAX_INTERNAL_DIGITS ? { type: 'pickup', scope: 'directed', extension: ext } : { type: 'invalid', reason: 'malformed' };
  }
  if (s.includes('*')) return { type: 'invalid', reason: 'unsupported' };
  if (s.startsWith('+')) return classifyE164(s);
  if (/^#\d{4}$/.test(s)) return parseNational(s);

  // 184/186 in front of the whole string: only when what follows is clearly a public number.
  const lead = s.slice(0, 3);
  if (isPrivacyCode(lead) && s.length > 3) {
    const after = parseAfterPrefix(s.slice(3), prefix, PRIVACY_CODES[lead]);
    // A short string like `1840` may well be an extension: only a valid public number wins.
    if (after && (after.type !== 'invalid' || s.length > MAX_INTERNAL_DIGITS)) return after;
  }
  if (EMERGENCY.has(s)) return { type: 'emergency', service: s as EmergencyService };
  const outside = parseAfterPrefix(s, prefix, undefined);
  if (outside) return outside;
  if (!/^\d+$/.test(s)) return { type: 'invalid', reason: 'malformed' };
  if (s.length > MAX_INTERNAL_DIGITS) return { type: 'invalid', reason: 'unsupported' };
  return { type: 'internal', number: s };
}

/**
 * `s` starts with the outside-line prefix (or the prefix is empty and `s` is a national
 * number / emergency number): returns the classification, else undefined.
 */
function parseAfterPrefix(s: string, prefix: string, privacy: PrivacyRequest | undefined): DialledNumber | undefined {
  if (privacy !== undefined && EMERGENCY.has(s)) return parseNational(s, privacy);
  if (prefix === '') {
    if (s.startsWith('0') || (privacy !== undefined && /^1\d\d$/.test(s))) return parseNational(s, privacy);
    return undefined;
  }
  if (!s.startsWith(prefix)) return undefined;
  let n = s.slice(prefix.length);
  if (n.length === 0) return { type: 'invalid', reason: 'incomplete' };
  let p = privacy;
  const code = n.slice(0, 3);
  if (p === undefined && isPrivacyCode(code)) {
    p = PRIVACY_CODES[code];
    n = n.slice(3);
    if (n.length === 0) return { type: 'invalid', reason: 'incomplete' };
  }
  return parseNational(n, p);
}

export type TrunkNumberFormat = 'e164' | 'national';

/**
 * How a public number goes out to a trunk: `+81…` / `+CC…` for E.164 trunks, `0…` /
 * `010CC…` for national ones. Service and emergency numbers go out as dialled.
 */
export function formatForTrunk(n: { readonly e164: string | null; readonly national: string }, format: TrunkNumberFormat): string {
  if (n.e164 === null) return n.national;
  return format === 'e164' ? n.e164 : e164ToNational(n.e164);
}

/** `+81312345678` → `0312345678`; `+14155550100` → `01014155550100`. */
export function e164ToNational(e164: string): string {
  if (e164.startsWith('+81')) return `0${e164.slice(3)}`;
  return `${INTERNATIONAL_PREFIX}${e164.slice(1)}`;
}

/**
 * A number as a carrier presents it (DID in the request-URI or To, caller in From/PAI):
 * `+81…`, `81…` (E.164 without `+`), `0…` national or `010…` → E.164, or null when it is
 * not a public number (anonymous, service codes, garbage).
 */
export function networkNumberToE164(user: string): string | null {
  const s = stripSeparators(user.trim());
  if (/^\+[1-9]\d{6,14}$/.test(s)) return s;
  if (/^[1-9]\d{9,14}$/.test(s)) return `+${s}`;
  if (/^0\d+$/.test(s)) {
    const c = parseNational(s);
    return c.type === 'external' ? c.e164 : null;
  }
  return null;
}

/** Callers that present no number. */
export function isAnonymousUser(user: string): boolean {
  const u = user.trim().toLowerCase();
  return u === '' || u === 'anonymous' || u === 'unavailable' || u === 'unknown' || u === 'private' || u === 'withheld';
}
