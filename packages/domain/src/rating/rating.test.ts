import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TARIFF,
  addMonths,
  buildCdr,
  buildMonthlyReport,
  callsToCsv,
  chargeFor,
  classifyDestination,
  effectiveTariff,
  formatYen,
  jstMonthEndMs,
  jstMonthOf,
  jstMonthStartMs,
  monthCloseAtMs,
  parseTariff,
  parseTariffOverride,
  rateCdr,
  reportToCsv,
  sumTotals,
  taxLines,
  taxRateOn,
  type CallDirection,
  type CallFacts,
} from '../index.js';

const T0 = Date.UTC(2026, 10, 10, 3, 0, 0); // 2026-11-10 12:00 JST

function cdr(o: { to: string; e164?: string; dir?: CallDirection; secs?: number; answered?: boolean; at?: number; ext?: string }) {
  const startedAt = o.at ?? T0;
  const facts: CallFacts = {
    tenantId: 'acme',
    aLegCallId: `${o.to}-${o.secs ?? 0}-${startedAt}`,
    aLegFromTag: 'f',
    direction: o.dir ?? 'outbound',
    caller: { dialled: '1001', extension: o.ext ?? '1001', department: 'sales' },
    callee: { dialled: o.to, ...(o.e164 !== undefined ? { e164: o.e164 } : {}) },
    trunkId: 'trunk-a',
    startedAt,
    endedAt: startedAt + 5000 + (o.secs ?? 0) * 1000,
    ...(o.answered === false ? { finalStatus: 480 } : { finalStatus: 200, answeredAt: startedAt + 5000 }),
  };
  return buildCdr(facts);
}

describe('JST months', () => {
  it.each([
    [Date.UTC(2026, 10, 30, 14, 59, 59, 999), '2026-11'], // 23:59:59.999 JST on 30 Nov
    [Date.UTC(2026, 10, 30, 15, 0, 0, 0), '2026-12'], // 00:00 JST on 1 Dec
    [Date.UTC(2026, 11, 31, 15, 0, 0, 0), '2027-01'], // new year in Tokyo, still 31 Dec in UTC
    [Date.UTC(2024, 1, 29, 3, 0, 0), '2024-02'],
  ])('%d is in %s', (ms, m) => expect(jstMonthOf(ms)).toBe(m));

  it('month arithmetic and boundaries', () => {
    expect(addMonths('2026-12', 1)).toBe('2027-01');
    expect(addMonths('2026-01', -1)).toBe('2025-12');
    expect(jstMonthStartMs('2026-12')).toBe(Date.UTC(2026, 10, 30, 15));
    expect(jstMonthEndMs('2026-11')).toBe(jstMonthStartMs('2026-12'));
    expect(monthCloseAtMs('2026-11', 3600_000)).toBe(Date.UTC(2026, 10, 30, 16));
    expect(() => addMonths('2026-13', 1)).toThrow(RangeError);
  });
});

describe('classifyDestination', () => {
  it.each([
    [{ to: '0312345678' }, 'fixed'],
    [{ to: '0312345678', e164: '+81312345678' }, 'fixed'],
    [{ to: '0455551234' }, 'fixed'],
    [{ to: '0155123456' }, 'fixed'],
    [{ to: '05012345678' }, 'ip'],
    [{ to: '07012345678' }, 'mobile'],
    [{ to: '08012345678' }, 'mobile'],
    [{ to: '09012345678', e164: '+819012345678' }, 'mobile'],
    [{ to: '0120123456' }, 'tollfree'],
    [{ to: '08001234567' }, 'tollfree'],
    [{ to: '0570123456' }, 'other'],
    [{ to: '110' }, 'emergency'],
    [{ to: '118' }, 'emergency'],
    [{ to: '119' }, 'emergency'],
    [{ to: '184110' }, 'emergency'],
    [{ to: '1840312345678' }, 'fixed'],
    [{ to: '18609012345678' }, 'mobile'],
    [{ to: '0101202555000' }, 'international'],
    [{ to: '+442079460000' }, 'international'],
    [{ to: '0101202555000', e164: '+12025550000' }, 'international'],
    [{ to: '1002', dir: 'internal' as const }, 'internal'],
    [{ to: '0312345678', dir: 'inbound' as const }, 'inbound'],
    [{ to: '119', dir: 'emergency' as const }, 'emergency'],
    [{ to: '12345' }, 'other'],
    // 1XY service numbers after the outside-line prefix (issue 12 item 10: 0104 was "international").
    [{ to: '0104' }, 'service'],
    [{ to: '0117' }, 'service'],
    [{ to: '0171' }, 'service'],
    [{ to: '0177' }, 'service'],
    [{ to: '0188' }, 'service'],
    [{ to: '0189' }, 'service'],
    [{ to: '0#7119' }, 'service'],
    [{ to: '#7119' }, 'service'],
    [{ to: '1840177' }, 'service'],
    [{ to: '0110' }, 'emergency'],
    [{ to: '0104420794600' }, 'international'],
  ])('%o → %s', (o, cls) => {
    const c = cdr(o);
    expect(classifyDestination(c).cls).toBe(cls);
  });
});

describe('chargeFor: unit boundaries', () => {
  const p = { unitSeconds: 180, unitPrice: 850 };
  it.each([
    [0, 0, 0],
    [1, 1, 850],
    [179, 1, 850],
    [180, 1, 850],
    [181, 2, 1700],
    [359, 2, 1700],
    [360, 2, 1700],
    [361, 3, 2550],
  ])('%d s → %d units, %d', (s, units, charge) => expect(chargeFor(p, s)).toEqual({ units, charge }));

  it.each([
    [{ unitSeconds: 60, unitPrice: 100, minCharge: 250 }, 0, 250],
    [{ unitSeconds: 60, unitPrice: 100, minCharge: 250 }, 121, 300],
    [{ unitSeconds: 60, unitPrice: 100, minCharge: 250 }, 120, 250],
    [{ unitSeconds: 30, unitPrice: 100, connectionFee: 500 }, 0, 500],
    [{ unitSeconds: 30, unitPrice: 100, connectionFee: 500 }, 31, 700],
    [{ unitSeconds: 30, unitPrice: 100, connectionFee: 500, minCharge: 1000 }, 31, 1500],
  ])('%o for %d s costs %d', (price, s, charge) => expect(chargeFor(price, s).charge).toBe(charge));
});

describe('rateCdr: every class with the default tariff', () => {
  it.each([
    // to, seconds, class, rateKey, billed, charge
    [{ to: '0312345678', secs: 180 }, 'fixed', 'fixed:local', true, 850],
    [{ to: '0312345678', secs: 181 }, 'fixed', 'fixed:local', true, 1700],
    [{ to: '0422123456', secs: 90 }, 'fixed', 'fixed:near', true, 850],
    [{ to: '0422123456', secs: 91 }, 'fixed', 'fixed:near', true, 1700],
    [{ to: '0612345678', secs: 45 }, 'fixed', 'fixed:far', true, 850],
    [{ to: '0612345678', secs: 46 }, 'fixed', 'fixed:far', true, 1700],
    [{ to: '05012345678', secs: 179 }, 'ip', 'ip', true, 800],
    [{ to: '05012345678', secs: 181 }, 'ip', 'ip', true, 1600],
    [{ to: '09012345678', secs: 59 }, 'mobile', 'mobile', true, 1600],
    [{ to: '09012345678', secs: 60 }, 'mobile', 'mobile', true, 1600],
    [{ to: '09012345678', secs: 61 }, 'mobile', 'mobile', true, 3200],
    [{ to: '0120123456', secs: 600 }, 'tollfree', 'tollfree', false, 0],
    [{ to: '110', secs: 600 }, 'emergency', 'emergency', false, 0],
    [{ to: '1002', secs: 600, dir: 'internal' as const }, 'internal', 'internal', false, 0],
    [{ to: '0312345678', secs: 600, dir: 'inbound' as const }, 'inbound', 'inbound', false, 0],
    [{ to: '0570123456', secs: 60 }, 'other', 'other', true, 1000],
    [{ to: '0104', secs: 40 }, 'service', 'service:104', true, 6600],
    [{ to: '0117', secs: 181 }, 'service', 'service:default', true, 1700],
    [{ to: '0177', secs: 30 }, 'service', 'service:default', true, 850],
    [{ to: '0171', secs: 120 }, 'service', 'service:171', true, 0],
    [{ to: '0189', secs: 300 }, 'service', 'service:189', true, 0],
    [{ to: '0#7119', secs: 60 }, 'service', 'service:default', true, 850],
    [{ to: '0101202555000', secs: 60 }, 'international', 'intl:1', true, 900],
    [{ to: '0104420794600', secs: 61 }, 'international', 'intl:44', true, 2400],
    [{ to: '0108613800000', secs: 1 }, 'international', 'intl:86', true, 1100],
    [{ to: '0103312345678', secs: 60 }, 'international', 'intl:default', true, 3000],
    [{ to: '09012345678', secs: 60, answered: false }, 'mobile', 'mobile', false, 0],
    [{ to: '09012345678', secs: 0 }, 'mobile', 'mobile', true, 0], // zero-length answered call: 0 units, no minimum set
  ])('%o → %s %s billed=%s charge=%d', (o, cls, rateKey, billed, charge) => {
    const r = rateCdr(cdr(o), DEFAULT_TARIFF);
    expect(r).toMatchObject({ cls, rateKey, billed, charge, month: '2026-11' });
    expect(r.taxBp).toBe(billed ? 1000 : 0);
  });

  it('international longest prefix beats a shorter one', () => {
    const t = effectiveTariff(DEFAULT_TARIFF, {
      classes: { international: { prefixes: { '1808': { unitSeconds: 6, unitPrice: 10 }, '180': { unitSeconds: 60, unitPrice: 1 } } } },
    });
    expect(rateCdr(cdr({ to: '+18085551234', e164: '+18085551234', secs: 7 }), t)).toMatchObject({ rateKey: 'intl:1808', charge: 20 });
    expect(rateCdr(cdr({ to: '+18005551234', e164: '+18005551234', secs: 7 }), t)).toMatchObject({ rateKey: 'intl:180', charge: 1 });
    expect(rateCdr(cdr({ to: '+12025550000', e164: '+12025550000', secs: 7 }), t)).toMatchObject({ rateKey: 'intl:1', charge: 900 });
  });

  it('zero-length answered call pays the minimum charge and connection fee', () => {
    const t = effectiveTariff(DEFAULT_TARIFF, { classes: { mobile: { unitSeconds: 30, unitPrice: 800, minCharge: 500, connectionFee: 100 } } });
    const r = rateCdr(cdr({ to: '08012345678', secs: 0 }), t);
    expect(r).toMatchObject({ answered: true, billed: true, billableSeconds: 0, units: 0, charge: 600 });
  });

  it('flat fixed tariff and per-tenant override', () => {
    const t = effectiveTariff(DEFAULT_TARIFF, { classes: { fixed: { flat: { unitSeconds: 60, unitPrice: 300 } } } });
    expect(rateCdr(cdr({ to: '0612345678', secs: 61 }), t)).toMatchObject({ rateKey: 'fixed', charge: 600 });
    expect(rateCdr(cdr({ to: '09012345678', secs: 61 }), t).charge).toBe(3200);
  });

  it('tax rate follows the JST start date', () => {
    expect(taxRateOn(DEFAULT_TARIFF.tax, '2019-09-30')).toBe(800);
    expect(taxRateOn(DEFAULT_TARIFF.tax, '2019-10-01')).toBe(1000);
    expect(taxRateOn(DEFAULT_TARIFF.tax, '2000-01-01')).toBe(0);
    const before = Date.UTC(2019, 8, 30, 14, 59, 59); // 23:59:59 JST 30 Sep 2019
    const after = Date.UTC(2019, 8, 30, 15, 0, 0); // 00:00 JST 1 Oct 2019
    expect(rateCdr(cdr({ to: '0312345678', secs: 10, at: before }), DEFAULT_TARIFF).taxBp).toBe(800);
    expect(rateCdr(cdr({ to: '0312345678', secs: 10, at: after }), DEFAULT_TARIFF).taxBp).toBe(1000);
  });
});

describe('tariff validation', () => {
  it('accepts the default and reports every problem at once', () => {
    expect(parseTariff(JSON.parse(JSON.stringify(DEFAULT_TARIFF))).ok).toBe(true);
    const bad = parseTariff({ classes: { ip: { unitSeconds: 0, unitPrice: 1.5 }, fixed: { bands: {}, prefixes: {} } }, tax: [] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors).toEqual(
        expect.arrayContaining([
          'classes.ip.unitSeconds: integer 1-3600 required',
          expect.stringContaining('classes.ip.unitPrice'),
          expect.stringContaining('classes.mobile'),
          expect.stringContaining('classes.international'),
          expect.stringContaining('tax'),
        ]),
      );
    }
    expect(parseTariffOverride({ classes: { mobile: { unitSeconds: 30, unitPrice: 700 } } }).ok).toBe(true);
    expect(parseTariffOverride({ tax: [] }).ok).toBe(false);
    expect(parseTariffOverride({ classes: { international: { prefixes: { '+44': { unitSeconds: 1, unitPrice: 1 } } } } }).ok).toBe(false);
  });
});

describe('tax rounding on the monthly subtotal', () => {
  it.each([
    // subtotal (1/100 JPY), rate bp, subtotal yen, tax yen
    [0, 1000, 0, 0],
    [99, 1000, 0, 0],
    [100, 1000, 1, 0],
    [900, 1000, 9, 0],
    [1000, 1000, 10, 1],
    [1999, 1000, 19, 1],
    [123456789, 1000, 1234567, 123456],
    [123456789, 800, 1234567, 98765],
  ])('%d @ %d bp → %d yen + %d yen tax', (sub, bp, yen, tax) => {
    expect(taxLines(new Map([[bp, sub]]))).toEqual([{ rateBp: bp, subtotal: sub, subtotalYen: yen, taxYen: tax }]);
  });
});

describe('monthly report', () => {
  it('aggregates counters by section and dimension, and renders CSV', () => {
    const calls = [
      { charge: rateCdr(cdr({ to: '0312345678', secs: 181 }), DEFAULT_TARIFF), section: 'main' as const },
      { charge: rateCdr(cdr({ to: '09012345678', secs: 61, ext: '1002' }), DEFAULT_TARIFF), section: 'main' as const },
      { charge: rateCdr(cdr({ to: '1002', secs: 30, dir: 'internal' }), DEFAULT_TARIFF), section: 'main' as const },
      { charge: rateCdr(cdr({ to: '09012345678', secs: 1, at: T0 - 40 * 86400_000 }), DEFAULT_TARIFF), section: 'adj' as const },
    ];
    const r = buildMonthlyReport({ tenantId: 'acme', month: '2026-11', fields: sumTotals(calls), status: 'open' });
    expect(r.main).toMatchObject({ calls: 3, answered: 3, seconds: 181 + 61 + 30, charge: 1700 + 3200 });
    expect(r.main.byClass.map((x) => x.key)).toEqual(['fixed', 'internal', 'mobile']);
    expect(r.main.byExtension).toEqual([
      { key: '1001', calls: 2, answered: 2, seconds: 211, charge: 1700 },
      { key: '1002', calls: 1, answered: 1, seconds: 61, charge: 3200 },
    ]);
    expect(r.adjustments).toMatchObject({ calls: 1, charge: 1600 });
    expect(r.tax).toEqual([{ rateBp: 1000, subtotal: 6500, subtotalYen: 65, taxYen: 6 }]);
    expect(r.totalYen).toBe(71);
    const csv = reportToCsv(r);
    expect(csv).toContain('main,class,mobile,1,1,61,32.00\r\n');
    expect(csv).toContain('summary,,total_jpy,,,,71\r\n');
    expect(callsToCsv(calls.slice(0, 1))).toContain(',fixed,fixed:local,181,2,17.00,10\r\n');
    expect(formatYen(-5)).toBe('-0.05');
  });
});
