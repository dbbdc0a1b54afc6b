/**
 * Rating: one CDR + the tenant's effective tariff → the charge of the call.
 * Only answered outbound calls to priced classes are billed; every call is counted.
 */
import type { CallDirection, Cdr, Disposition } from '../cdr.js';
import { classifyDestination, longestPrefix, type DestinationClass } from './classify.js';
import { jstDateOf, jstMonthOf, type Month } from './month.js';
import { DEFAULT_SERVICE, type Price, type Tariff } from './tariff.js';

/** A priced unit count: `units = ceil(seconds / unitSeconds)`, charge = fee + max(units × price, min). */
export function chargeFor(p: Price, seconds: number): { units: number; charge: number } {
  const units = seconds <= 0 ? 0 : Math.ceil(seconds / p.unitSeconds);
  const usage = Math.max(units * p.unitPrice, p.minCharge ?? 0);
  return { units, charge: (p.connectionFee ?? 0) + usage };
}

/** The consumption-tax rate (basis points) in force on a JST date `YYYY-MM-DD`. */
export function taxRateOn(tax: Tariff['tax'], date: string): number {
  let bp = 0;
  for (const t of tax) if (t.from <= date) bp = t.rateBp;
  return bp;
}

/** What rating needs from a CDR (also what the stored per-call detail keeps, so a month can be re-rated). */
export interface RatingInput {
  readonly cdrId: string;
  readonly tenantId: string;
  readonly direction: CallDirection;
  readonly disposition: Disposition;
  readonly calleeDialled: string;
  readonly calleeE164: string | null;
  readonly startedAt: number;
  readonly billableSeconds: number;
  /** Extension the call is attributed to (caller for outbound/internal, callee for inbound). */
  readonly extension: string | null;
  readonly department: string | null;
  readonly trunkId: string | null;
  /** For the traffic report (ops): when the call ended, its ring group, why Kumo refused it. Absent in older stored calls. */
  readonly endedAt?: number | null;
  readonly group?: string | null;
  readonly rejectionReason?: string | null;
}

/** The charge of one call: the per-call detail row of the monthly report. Money in 1/100 JPY. */
export interface CallCharge extends RatingInput {
  /** JST month of `startedAt`: the month the call belongs to. */
  readonly month: Month;
  readonly cls: DestinationClass;
  /** Which price was used: `fixed:<band>`, `intl:<prefix>`, `intl:default`, or the class name. */
  readonly rateKey: string;
  readonly answered: boolean;
  readonly billed: boolean;
  readonly units: number;
  readonly charge: number;
  /** Consumption tax rate in force on the call's JST start date, in basis points. */
  readonly taxBp: number;
}

export function ratingInputOf(cdr: Cdr): RatingInput {
  return {
    cdrId: cdr.cdrId,
    tenantId: cdr.tenantId,
    direction: cdr.direction,
    disposition: cdr.disposition,
    calleeDialled: cdr.calleeDialled,
    calleeE164: cdr.calleeE164,
    startedAt: cdr.startedAt,
    billableSeconds: cdr.disposition === 'answered' ? cdr.billableSeconds : 0,
    extension: cdr.direction === 'inbound' ? cdr.calleeExtension : cdr.callerExtension,
    department: cdr.department,
    trunkId: cdr.trunkId,
    endedAt: cdr.endedAt,
    group: cdr.group,
    rejectionReason: cdr.rejectionReason,
  };
}

export function rateCall(input: RatingInput, tariff: Tariff): CallCharge {
  const dest = classifyDestination(input);
  const answered = input.disposition === 'answered';
  let price: Price | undefined;
  let rateKey: string = dest.cls;
  const c = tariff.classes;
  switch (dest.cls) {
    case 'fixed':
      if ('flat' in c.fixed) price = c.fixed.flat;
      else {
        const pre = longestPrefix(c.fixed.prefixes, dest.national);
        const band = pre === undefined ? c.fixed.defaultBand : (c.fixed.prefixes[pre] as string);
        price = c.fixed.bands[band];
        rateKey = `fixed:${band}`;
      }
      break;
    case 'ip':
    case 'mobile':
    case 'other':
      price = c[dest.cls];
      break;
    case 'service': {
      const svc = c.service ?? DEFAULT_SERVICE;
      price = svc.codes[dest.code] ?? svc.default;
      rateKey = `service:${dest.code in svc.codes ? dest.code : 'default'}`;
      break;
    }
    case 'international': {
      const pre = longestPrefix(c.international.prefixes, dest.digits);
      price = pre === undefined ? c.international.default : c.international.prefixes[pre];
      rateKey = `intl:${pre ?? 'default'}`;
      break;
    }
    default:
      price = undefined; // toll-free, emergency, internal, inbound: free by rule
  }
  const billed = answered && input.direction === 'outbound' && price !== undefined;
  const { units, charge } = billed && price ? chargeFor(price, input.billableSeconds) : { units: 0, charge: 0 };
  // An explicit literal (not a spread): one stable object shape keeps this hot path fast.
  return {
    cdrId: input.cdrId,
    tenantId: input.tenantId,
    direction: input.direction,
    disposition: input.disposition,
    calleeDialled: input.calleeDialled,
    calleeE164: input.calleeE164,
    startedAt: input.startedAt,
    billableSeconds: input.billableSeconds,
    extension: input.extension,
    department: input.department,
    trunkId: input.trunkId,
    endedAt: input.endedAt ?? null,
    group: input.group ?? null,
    rejectionReason: input.rejectionReason ?? null,
    month: jstMonthOf(input.startedAt),
    cls: dest.cls,
    rateKey,
    answered,
    billed,
    units,
    charge,
    taxBp: billed ? taxRateOn(tariff.tax, jstDateOf(input.startedAt)) : 0,
  };
}

export function rateCdr(cdr: Cdr, tariff: Tariff): CallCharge {
  return rateCall(ratingInputOf(cdr), tariff);
}
