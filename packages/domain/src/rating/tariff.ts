/**
 * Tariffs: prices per destination class. Money is always an integer number of
 * **minor units of 1/100 JPY** (1 yen = 100), so a price of 8.5 yen is written 850.
 *
 * The platform default tariff must price every billable class; a tenant override may
 * replace any class (international prefixes are merged, the override winning).
 * Toll-free, emergency, internal and inbound calls are free by rule, not by tariff.
 */
export interface Price {
  /** Length of one charging unit in seconds; partial units are rounded up. */
  readonly unitSeconds: number;
  /** Price of one unit, in 1/100 JPY. */
  readonly unitPrice: number;
  /** Charged instead of the unit charge when that is lower (1/100 JPY). */
  readonly minCharge?: number;
  /** Added once per answered call (1/100 JPY). */
  readonly connectionFee?: number;
}

/** Domestic fixed line (0AB-J): one flat price, or bands chosen by the longest matching prefix. */
export type FixedTariff =
  | { readonly flat: Price }
  | {
      readonly bands: Readonly<Record<string, Price>>;
      /** National-number prefix (starting with 0) → band name, longest match wins. */
      readonly prefixes: Readonly<Record<string, string>>;
      /** Band used when no prefix matches. */
      readonly defaultBand: string;
    };

export interface InternationalTariff {
  /** Country code (or longer prefix) digits without `+` → price; longest match wins. */
  readonly prefixes: Readonly<Record<string, Price>>;
  readonly default: Price;
}

export interface TariffClasses {
  readonly fixed: FixedTariff;
  /** IP phone 050. */
  readonly ip: Price;
  /** Mobile 070/080/090. */
  readonly mobile: Price;
  readonly international: InternationalTariff;
  /** Any other public number (0570 navi-dial, 0180, 0990, unknown short codes). */
  readonly other: Price;
  /** Service numbers (1XY, #DDDD): per code, else `default`. Absent in older tariffs: DEFAULT_TARIFF's. */
  readonly service?: ServiceTariff;
}

export interface ServiceTariff {
  /** Service code (`104`, `#7119`) → price. */
  readonly codes: Readonly<Record<string, Price>>;
  readonly default: Price;
}

/** Consumption tax in basis points (1000 = 10%) from a JST date on. */
export interface TaxPeriod {
  readonly from: string;
  readonly rateBp: number;
}

export interface Tariff {
  readonly classes: TariffClasses;
  /** Sorted by `from`; the rate in force on the call's JST start date applies. */
  readonly tax: readonly TaxPeriod[];
}

export interface TariffOverride {
  readonly classes?: {
    readonly fixed?: FixedTariff;
    readonly ip?: Price;
    readonly mobile?: Price;
    readonly international?: { readonly prefixes?: Readonly<Record<string, Price>>; readonly default?: Price };
    readonly other?: Price;
    readonly service?: { readonly codes?: Readonly<Record<string, Price>>; readonly default?: Price };
  };
}

/** A sensible platform default (illustrative prices in 1/100 JPY, tax-exclusive). */
export const DEFAULT_TARIFF: Tariff = {
  classes: {
    fixed: {
      bands: {
        local: { unitSeconds: 180, unitPrice: 850 },
        near: { unitSeconds: 90, unitPrice: 850 },
        far: { unitSeconds: 45, unitPrice: 850 },
      },
      prefixes: { '03': 'local', '042': 'near', '044': 'near', '045': 'near', '046': 'near', '047': 'near', '048': 'near', '049': 'near' },
      defaultBand: 'far',
    },
    ip: { unitSeconds: 180, unitPrice: 800 },
    mobile: { unitSeconds: 60, unitPrice: 1600 },
    international: {
      prefixes: {
        '1': { unitSeconds: 60, unitPrice: 900 },
        '44': { unitSeconds: 60, unitPrice: 1200 },
        '82': { unitSeconds: 60, unitPrice: 1000 },
        '86': { unitSeconds: 60, unitPrice: 1100 },
      },
      default: { unitSeconds: 60, unitPrice: 3000, connectionFee: 0 },
    },
    other: { unitSeconds: 60, unitPrice: 1000 },
    service: {
      codes: {
        // 104: a fee per enquiry rather than per minute; 171 and 189: free of charge.
        '104': { unitSeconds: 3600, unitPrice: 0, connectionFee: 6600 },
        '171': { unitSeconds: 60, unitPrice: 0 },
        '189': { unitSeconds: 60, unitPrice: 0 },
      },
      default: { unitSeconds: 180, unitPrice: 850 },
    },
  },
  tax: [
    { from: '2014-04-01', rateBp: 800 },
    { from: '2019-10-01', rateBp: 1000 },
  ],
};

// ---- validation -------------------------------------------------------------

type V = { errors: string[] };
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isInt = (x: unknown, min: number, max: number): x is number =>
  typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
const MAX_MONEY = 100_000_000; // one million yen per unit is plenty

function checkPrice(x: unknown, path: string, v: V): void {
  if (!isObj(x)) {
    v.errors.push(`${path}: must be an object {unitSeconds, unitPrice, minCharge?, connectionFee?}`);
    return;
  }
  for (const k of Object.keys(x)) {
    if (!['unitSeconds', 'unitPrice', 'minCharge', 'connectionFee'].includes(k)) v.errors.push(`${path}.${k}: unknown field`);
  }
  if (!isInt(x.unitSeconds, 1, 3600)) v.errors.push(`${path}.unitSeconds: integer 1-3600 required`);
  if (!isInt(x.unitPrice, 0, MAX_MONEY)) v.errors.push(`${path}.unitPrice: integer 0-${MAX_MONEY} (1/100 JPY) required`);
  if (x.minCharge !== undefined && !isInt(x.minCharge, 0, MAX_MONEY)) v.errors.push(`${path}.minCharge: integer 0-${MAX_MONEY}`);
  if (x.connectionFee !== undefined && !isInt(x.connectionFee, 0, MAX_MONEY)) v.errors.push(`${path}.connectionFee: integer 0-${MAX_MONEY}`);
}

function checkFixed(x: unknown, path: string, v: V): void {
  if (!isObj(x)) return void v.errors.push(`${path}: must be {flat} or {bands, prefixes, defaultBand}`);
  if ('flat' in x) {
    checkPrice(x.flat, `${path}.flat`, v);
    return;
  }
  if (!isObj(x.bands) || Object.keys(x.bands).length === 0) return void v.errors.push(`${path}.bands: at least one band required`);
  for (const [b, p] of Object.entries(x.bands)) checkPrice(p, `${path}.bands.${b}`, v);
  if (typeof x.defaultBand !== 'string' || !(x.defaultBand in x.bands)) v.errors.push(`${path}.defaultBand: must name a band`);
  if (!isObj(x.prefixes)) return void v.errors.push(`${path}.prefixes: object of prefix → band required`);
  for (const [pre, b] of Object.entries(x.prefixes)) {
    if (!/^0\d{1,5}$/.test(pre)) v.errors.push(`${path}.prefixes.${pre}: must be 0 followed by 1-5 digits`);
    if (typeof b !== 'string' || !(b in x.bands)) v.errors.push(`${path}.prefixes.${pre}: unknown band ${JSON.stringify(b)}`);
  }
}

function checkIntlPrefixes(x: unknown, path: string, v: V): void {
  if (!isObj(x)) return void v.errors.push(`${path}: object of country-code prefix → price required`);
  for (const [pre, p] of Object.entries(x)) {
    if (!/^[1-9]\d{0,7}$/.test(pre)) v.errors.push(`${path}.${pre}: must be 1-8 digits, no leading 0 or +`);
    checkPrice(p, `${path}.${pre}`, v);
  }
}

function checkService(x: unknown, path: string, v: V, complete: boolean): void {
  if (!isObj(x)) return void v.errors.push(`${path}: must be an object {codes, default}`);
  for (const k of Object.keys(x)) if (k !== 'codes' && k !== 'default') v.errors.push(`${path}.${k}: unknown field`);
  if (x.codes !== undefined || complete) {
    if (!isObj(x.codes)) v.errors.push(`${path}.codes: object of service code → price required`);
    else {
      for (const [code, p] of Object.entries(x.codes)) {
        if (!/^(1\d\d|#\d{4})$/.test(code)) v.errors.push(`${path}.codes.${code}: must be a 1XY or #DDDD service code`);
        checkPrice(p, `${path}.codes.${code}`, v);
      }
    }
  }
  if (x.default !== undefined || complete) checkPrice(x.default, `${path}.default`, v);
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** Validates a platform tariff document (every class priced, tax periods sorted). */
export function parseTariff(x: unknown): ParseResult<Tariff> {
  const v: V = { errors: [] };
  if (!isObj(x)) return { ok: false, errors: ['tariff: must be an object {classes, tax}'] };
  const c = x.classes;
  if (!isObj(c)) v.errors.push('classes: required');
  else {
    for (const k of Object.keys(c)) if (!['fixed', 'ip', 'mobile', 'international', 'other', 'service'].includes(k)) v.errors.push(`classes.${k}: unknown class`);
    if (c.service !== undefined) checkService(c.service, 'classes.service', v, true);
    checkFixed(c.fixed, 'classes.fixed', v);
    checkPrice(c.ip, 'classes.ip', v);
    checkPrice(c.mobile, 'classes.mobile', v);
    checkPrice(c.other, 'classes.other', v);
    if (!isObj(c.international)) v.errors.push('classes.international: {prefixes, default} required');
    else {
      checkIntlPrefixes(c.international.prefixes, 'classes.international.prefixes', v);
      checkPrice(c.international.default, 'classes.international.default', v);
    }
  }
  if (!Array.isArray(x.tax) || x.tax.length === 0) v.errors.push('tax: at least one {from: YYYY-MM-DD, rateBp} required');
  else {
    let prev = '';
    x.tax.forEach((t: unknown, i) => {
      if (!isObj(t) || typeof t.from !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(t.from)) v.errors.push(`tax[${i}].from: YYYY-MM-DD required`);
      else if (t.from <= prev) v.errors.push(`tax[${i}].from: periods must be in increasing date order`);
      else prev = t.from;
      if (!isObj(t) || !isInt(t.rateBp, 0, 10000)) v.errors.push(`tax[${i}].rateBp: integer basis points 0-10000 required (1000 = 10%)`);
    });
  }
  return v.errors.length > 0 ? { ok: false, errors: v.errors } : { ok: true, value: x as unknown as Tariff };
}

/** Validates a tenant override (any subset of classes). */
export function parseTariffOverride(x: unknown): ParseResult<TariffOverride> {
  const v: V = { errors: [] };
  if (!isObj(x)) return { ok: false, errors: ['override: must be an object {classes}'] };
  for (const k of Object.keys(x)) if (k !== 'classes') v.errors.push(`${k}: unknown field (tax is platform-wide)`);
  const c = x.classes;
  if (c !== undefined) {
    if (!isObj(c)) v.errors.push('classes: must be an object');
    else {
      for (const [k, val] of Object.entries(c)) {
        if (k === 'fixed') checkFixed(val, 'classes.fixed', v);
        else if (k === 'ip' || k === 'mobile' || k === 'other') checkPrice(val, `classes.${k}`, v);
        else if (k === 'international') {
          if (!isObj(val)) v.errors.push('classes.international: must be an object');
          else {
            if (val.prefixes !== undefined) checkIntlPrefixes(val.prefixes, 'classes.international.prefixes', v);
            if (val.default !== undefined) checkPrice(val.default, 'classes.international.default', v);
          }
        } else if (k === 'service') checkService(val, 'classes.service', v, false);
        else v.errors.push(`classes.${k}: unknown class`);
      }
    }
  }
  return v.errors.length > 0 ? { ok: false, errors: v.errors } : { ok: true, value: x };
}

/** The tariff a tenant is rated with: the platform default with the override applied. */
export function effectiveTariff(platform: Tariff, override: TariffOverride | undefined): Tariff {
  const o = override?.classes;
  if (!o) return platform;
  const p = platform.classes;
  return {
    tax: platform.tax,
    classes: {
      fixed: o.fixed ?? p.fixed,
      ip: o.ip ?? p.ip,
      mobile: o.mobile ?? p.mobile,
      other: o.other ?? p.other,
      service: {
        codes: { ...(p.service ?? DEFAULT_SERVICE).codes, ...(o.service?.codes ?? {}) },
        default: o.service?.default ?? (p.service ?? DEFAULT_SERVICE).default,
      },
      international: {
        prefixes: { ...p.international.prefixes, ...(o.international?.prefixes ?? {}) },
        default: o.international?.default ?? p.international.default,
      },
    },
  };
}

/** Service prices for tariffs stored before the class existed. */
export const DEFAULT_SERVICE: ServiceTariff = DEFAULT_TARIFF.classes.service as ServiceTariff;
