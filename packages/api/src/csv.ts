import iconv from 'iconv-lite';
import { formatJst } from '@kumo/domain';

/**
 * `shift_jis` is kept as the query value clients use, but what is produced is Windows-31J (CP932,
 * Microsoft's Shift_JIS with NEC/IBM extensions): what Excel on Japanese Windows reads, and the
 * label the answer carries.
 */
export type CsvEncoding = 'utf-8' | 'shift_jis';
export type CsvLang = 'en' | 'ja';

export interface CsvColumn<T> {
  readonly en: string;
  readonly ja: string;
  /** The cell; with `lang` = ja, values from a fixed vocabulary are given in Japanese (see vocabulary.ts). */
  readonly value: (row: T, lang: CsvLang) => string | number | boolean | undefined | null;
}

/**
 * Guards against spreadsheet formula injection without breaking `+81…` numbers. Full-width
 * starters (＝＋－＠) count too: spreadsheets normalise them to formulas.
 */
function cell(v: string | number | boolean | undefined | null): string {
  let s = v === undefined || v === null ? '' : String(v);
  if (/^[=@\t\r\uFF1D\uFF20]/.test(s) || (/^[+\-\uFF0B\uFF0D\u2212]/.test(s) && !/^[+-][0-9]+$/.test(s))) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV (CRLF line ends) with a header row in the chosen language. */
export function toCsv<T>(columns: readonly CsvColumn<T>[], rows: readonly T[], lang: CsvLang): string {
  const lines = [columns.map((c) => cell(lang === 'ja' ? c.ja : c.en)).join(',')];
  for (const r of rows) lines.push(columns.map((c) => cell(c.value(r, lang))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/**
 * The well-known characters whose Unicode form has no CP932 code but a CP932 look-alike that
 * Japanese users mean (the JIS X 0208 ↔ Unicode mapping differences).
 */
const CP932_EQUIVALENTS: Readonly<Record<string, string>> = {
  '\u301C': '\uFF5E', // WAVE DASH 〜 → FULLWIDTH TILDE ～
  '\u2212': '\uFF0D', // MINUS SIGN − → FULLWIDTH HYPHEN-MINUS －
  '\u2016': '\u2225', // DOUBLE VERTICAL LINE ‖ → PARALLEL TO ∥
  '\u2014': '\u2015', // EM DASH — → HORIZONTAL BAR ―
  '\u00A2': '\uFFE0', // ¢ → ￠
  '\u00A3': '\uFFE1', // £ → ￡
  '\u00AC': '\uFFE2', // ¬ → ￢
  '\u00A6': '\uFFE4', // ¦ → ￤
  '\u00A5': '\\', // YEN SIGN ¥ → 0x5C (shown as ¥ by Japanese fonts)
  '\u203E': '~', // OVERLINE ‾ → 0x7E
};

/** What Windows-31J cannot represent at all becomes 〓 (GETA MARK), the Japanese convention, never a silent `?`. */
const GETA = '\u3013';
const encodable = new Map<string, boolean>();
function cp932Safe(text: string): string {
  let out = '';
  for (const ch of text) {
    const mapped = CP932_EQUIVALENTS[ch] ?? ch;
    if (mapped.charCodeAt(0) < 0x80) {
      out += mapped;
      continue;
    }
    let ok = encodable.get(mapped);
    if (ok === undefined) {
      ok = iconv.decode(iconv.encode(mapped, 'cp932'), 'cp932') === mapped;
      if (encodable.size < 10_000) encodable.set(mapped, ok);
    }
    out += ok ? mapped : GETA;
  }
  return out;
}

/** Encodes for the wire: UTF-8, or Windows-31J (CP932) with look-alikes mapped and 〓 for the rest. */
export function encodeCsv(text: string, encoding: CsvEncoding): Buffer {
  return encoding === 'shift_jis' ? iconv.encode(cp932Safe(text), 'cp932') : Buffer.from(text, 'utf8');
}

export function contentType(encoding: CsvEncoding): string {
  return `text/csv; charset=${encoding === 'shift_jis' ? 'Windows-31J' : 'utf-8'}`;
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
