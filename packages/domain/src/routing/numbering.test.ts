import { describe, expect, it } from 'vitest';
import {
  e164ToNational,
  formatForTrunk,
  isAnonymousUser,
  isServiceCode,
  SERVICE_NUMBERS,
  mayDial,
  networkNumberToE164,
  parseDialled,
  type DialledNumber,
  type PublicNumberKind,
  type PermissionClass,
} from '../index.js';

type Row = readonly [dialled: string, expected: DialledNumber, prefix?: string];
const ext = (number: string): DialledNumber => ({ type: 'internal', number });
const out = (kind: PublicNumberKind, national: string, e164: string | null, privacy?: 'withhold' | 'present'): DialledNumber => ({
  type: 'external',
  kind,
  national,
  e164,
  ...(privacy ? { privacy } : {}),
});
const sos = (service: '110' | '118' | '119', privacy?: 'withhold' | 'present'): DialledNumber => ({
  type: 'emergency',
  service,
  ...(privacy ? { privacy } : {}),
});
const bad = (reason: 'empty' | 'malformed' | 'incomplete' | 'too-long' | 'unsupported'): DialledNumber => ({ type: 'invalid', reason });

// The Japanese numbering plan as dialled on a Kumo extension (outside-line prefix `0` unless given).
const PLAN: readonly Row[] = [
  // internal numbers
  ['1001', ext('1001')],
  ['200', ext('200')],
  ['12', ext('12')],
  ['12345678', ext('12345678')],
  ['123456789', bad('unsupported')],
  // fixed 0AB-J (Tokyo, Osaka, Sapporo, Fukuoka, 4-digit and 5-digit area codes)
  ['00312345678', out('fixed', '0312345678', '+81312345678')],
  ['00612345678', out('fixed', '0612345678', '+81612345678')],
  ['00112345678', out('fixed', '0112345678', '+81112345678')],
  ['00922345678', out('fixed', '0922345678', '+81922345678')],
  ['00422123456', out('fixed', '0422123456', '+81422123456')],
  ['00123456789', out('fixed', '0123456789', '+81123456789')],
  ['00997123456', out('fixed', '0997123456', '+81997123456')],
  ['0-03-1234-5678', out('fixed', '0312345678', '+81312345678')],
  ['0 (03) 1234.5678', out('fixed', '0312345678', '+81312345678')],
  ['0031234567', bad('incomplete')],
  ['003123456789', bad('too-long')],
  ['003', bad('incomplete')],
  ['0', bad('incomplete')],
  ['00', bad('incomplete')],
  // IP telephony
  ['005012345678', out('ip', '05012345678', '+815012345678')],
  ['00501234567', bad('incomplete')],
  ['0050123456789', bad('too-long')],
  // mobile
  ['009012345678', out('mobile', '09012345678', '+819012345678')],
  ['008012345678', out('mobile', '08012345678', '+818012345678')],
  ['007012345678', out('mobile', '07012345678', '+817012345678')],
  ['00901234567', bad('incomplete')],
  ['0090123456789', bad('too-long')],
  // M2M
  ['002012345678', out('m2m', '02012345678', '+812012345678')],
  // toll-free
  ['00120123456', out('toll-free', '0120123456', '+81120123456')],
  ['008001234567', out('toll-free', '08001234567', '+818001234567')],
  ['0012012345', bad('incomplete')],
  ['008001234', bad('incomplete')],
  // shared cost and premium
  ['00570123456', out('shared-cost', '0570123456', '+81570123456')],
  ['00180123456', out('shared-cost', '0180123456', '+81180123456')],
  ['00990123456', out('premium', '0990123456', '+81990123456')],
  // unassigned and unsupported national prefixes
  ['003012345678', bad('unsupported')],
  ['004012345678', bad('unsupported')],
  ['006012345678', bad('unsupported')],
  ['0003312345678', bad('unsupported')],
  // international: 010 + country code
  ['001014155550100', out('international', '01014155550100', '+14155550100')],
  ['0010442079460000', out('international', '010442079460000', '+442079460000')],
  ['001086101234567', out('international', '01086101234567', '+86101234567')],
  ['0010123', bad('incomplete')],
  ['00101234567890123456', bad('too-long')],
  ['001001234567', bad('unsupported')],
  // E.164 as dialled by some phones (no outside-line prefix needed)
  ['+81312345678', out('fixed', '0312345678', '+81312345678')],
  ['+819012345678', out('mobile', '09012345678', '+819012345678')],
  ['+14155550100', out('international', '01014155550100', '+14155550100')],
  ['+0312345678', bad('malformed')],
  // 184 / 186 after the prefix and in front of everything
  ['01840312345678', out('fixed', '0312345678', '+81312345678', 'withhold')],
  ['018609012345678', out('mobile', '09012345678', '+819012345678', 'present')],
  ['18400312345678', out('fixed', '0312345678', '+81312345678', 'withhold')],
  ['186009012345678', out('mobile', '09012345678', '+819012345678', 'present')],
  ['0184', bad('incomplete')],
  ['1840', ext('1840')],
  ['1841', ext('1841')],
  ['184', ext('184')],
  // emergency with and without the prefix, with 184/186
  ['110', sos('110')],
  ['118', sos('118')],
  ['119', sos('119')],
  ['0110', sos('110')],
  ['0118', sos('118')],
  ['0119', sos('119')],
  ['184110', sos('110', 'withhold')],
  ['0184119', sos('119', 'withhold')],
  ['186119', sos('119', 'present')],
  // service numbers
  ['0117', out('service', '117', null)],
  ['0104', out('service', '104', null)],
  ['0#7119', out('service', '#7119', null)],
  ['#7119', out('service', '#7119', null)],
  ['0171', out('service', '171', null)],
  ['0177', out('service', '177', null)],
  ['0188', out('service', '188', null)],
  ['0189', out('service', '189', null)],
  ['0#8000', out('service', '#8000', null)],
  // feature codes
  ['*8', { type: 'pickup', scope: 'group' }],
  ['**1001', { type: 'pickup', scope: 'directed', extension: '1001' }],
  ['**', bad('malformed')],
  ['**12a', bad('malformed')],
  ['*9', bad('unsupported')],
  // junk
  ['', bad('empty')],
  ['   ', bad('empty')],
  ['abc', bad('malformed')],
  ['10;01', bad('malformed')],
  ['1#1', bad('malformed')],
  // other outside-line prefixes
  ['90312345678', out('fixed', '0312345678', '+81312345678'), '9'],
  ['0312345678', bad('unsupported'), '9'],
  ['9110', sos('110'), '9'],
  ['1001', ext('1001'), '9'],
  ['0312345678', out('fixed', '0312345678', '+81312345678'), ''],
  ['09012345678', out('mobile', '09012345678', '+819012345678'), ''],
  ['1840312345678', out('fixed', '0312345678', '+81312345678', 'withhold'), ''],
  ['184119', sos('119', 'withhold'), ''],
  ['1001', ext('1001'), ''],
  ['01014155550100', out('international', '01014155550100', '+14155550100'), ''],
];

describe('parseDialled: the Japanese numbering plan', () => {
  it('has at least 60 cases', () => {
    expect(PLAN.length).toBeGreaterThanOrEqual(60);
  });
  it.each(PLAN.map(([d, e, p]) => ({ d, e, p })))('$d (prefix $p) → $e.type', ({ d, e, p }) => {
    expect(parseDialled(d, p === undefined ? {} : { outsideLinePrefix: p })).toEqual(e);
  });
});

describe('number formats', () => {
  it.each([
    ['+81312345678', 'e164', '+81312345678'],
    ['+81312345678', 'national', '0312345678'],
    ['+819012345678', 'national', '09012345678'],
    ['+14155550100', 'national', '01014155550100'],
    ['+14155550100', 'e164', '+14155550100'],
  ] as const)('%s as %s → %s', (e164, format, want) => {
    expect(formatForTrunk({ e164, national: e164ToNational(e164) }, format)).toBe(want);
  });
  it('sends service and emergency numbers as dialled', () => {
    expect(formatForTrunk({ e164: null, national: '110' }, 'e164')).toBe('110');
    expect(formatForTrunk({ e164: null, national: '#7119' }, 'national')).toBe('#7119');
  });
  it.each([
    ['+81312345678', '+81312345678'],
    ['81312345678', '+81312345678'],
    ['0312345678', '+81312345678'],
    ['03-1234-5678', '+81312345678'],
    ['05012345678', '+815012345678'],
    ['01014155550100', '+14155550100'],
    ['anonymous', null],
    ['1001', null],
    ['031234', null],
    ['', null],
  ] as const)('network number %s → %s', (user, want) => {
    expect(networkNumberToE164(user)).toBe(want);
  });
  it.each([
    ['anonymous', true],
    ['Anonymous', true],
    ['unavailable', true],
    ['', true],
    ['0312345678', false],
  ] as const)('anonymous(%s) = %s', (u, want) => {
    expect(isAnonymousUser(u)).toBe(want);
  });
});

describe('permission classes', () => {
  const table: readonly [PermissionClass, PublicNumberKind, boolean][] = [
    ['internal', 'fixed', false],
    ['internal', 'toll-free', false],
    ['national', 'fixed', true],
    ['national', 'ip', true],
    ['national', 'toll-free', true],
    ['national', 'service', true],
    ['national', 'mobile', false],
    ['mobile', 'mobile', true],
    ['mobile', 'm2m', true],
    ['mobile', 'international', false],
    ['mobile', 'premium', false],
    ['international', 'international', true],
    ['international', 'premium', true],
    ['international', 'fixed', true],
  ];
  it.each(table)('%s may dial %s: %s', (cls, kind, want) => {
    expect(mayDial(cls, kind)).toBe(want);
  });
});

describe('service numbers (特番)', () => {
  it.each(Object.keys(SERVICE_NUMBERS))('%s after the outside-line prefix is a service call', (code) => {
    expect(parseDialled(`0${code}`)).toMatchObject({ type: 'external', kind: 'service', national: code, e164: null });
    expect(isServiceCode(code)).toBe(true);
  });
  it.each(['110', '118', '119', '1', '10', '1000', '#71', '0104'])('%s is no service code', (n) => expect(isServiceCode(n)).toBe(false));
});
