import iconv from 'iconv-lite';
import { formatJst } from '@kumo/domain';

export type CsvEncoding = 'utf-8' | 'shift_jis';
export type CsvLang = 'en' | 'ja';

export interface CsvColumn<T> {
  readonly en: string;
  readonly ja: string;
  /** The cell; with `lang` = ja, values from a fixed vocabulary are given in Japanese (see vocabulary.ts). */
  readonly value: (row: T, lang: CsvLang) => string | number | boolean | undefined | null;
}

/** Guards against spreadsheet formula injection without breaking `+81…` numbers. */
function cell(v: string | number | boolean | undefined | null): string {
  let s = v === undefined || v === null ? '' : String(v);
  if (/^[=@\t\r]/.test(s) || (/^[+-]/.test(s) && !/^[+-][0-9]+$/.test(s))) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV (CRLF line ends) with a header row in the chosen language. */
export function toCsv<T>(columns: readonly CsvColumn<T>[], rows: readonly T[], lang: CsvLang): string {
  const lines = [columns.map((c) => cell(lang === 'ja' ? c.ja : c.en)).join(',')];
  for (const r of rows) lines.push(columns.map((c) => cell(c.value(r, lang))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** Encodes for the wire. Characters Shift_JIS cannot represent become `?`. */
export function encodeCsv(text: string, encoding: CsvEncoding): Buffer {
  return encoding === 'shift_jis' ? iconv.encode(text, 'Shift_JIS') : Buffer.from(text, 'utf8');
}

export function contentType(encoding: CsvEncoding): string {
  return `text/csv; charset=${encoding === 'shift_jis' ? 'Shift_JIS' : 'utf-8'}`;
}

/**
 * Every time in a CSV export, in Asia/Tokyo with the offset shown (`2026-11-25 09:00:00+09:00`),
 * whatever the language: ledgers and billing alike. Accepts epoch ms or an ISO-8601 string.
 */
export function csvTime(t: number | string | undefined | null): string | undefined {
  if (t === undefined || t === null || t === '') return undefined;
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) return typeof t === 'string' ? t : undefined;
  return `${formatJst(ms)}+09:00`;
}
