import iconv from 'iconv-lite';

export type CsvEncoding = 'utf-8' | 'shift_jis';
export type CsvLang = 'en' | 'ja';

export interface CsvColumn<T> {
  readonly en: string;
  readonly ja: string;
  readonly value: (row: T) => string | number | boolean | undefined | null;
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
  for (const r of rows) lines.push(columns.map((c) => cell(c.value(r))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** Encodes for the wire. Characters Shift_JIS cannot represent become `?`. */
export function encodeCsv(text: string, encoding: CsvEncoding): Buffer {
  return encoding === 'shift_jis' ? iconv.encode(text, 'Shift_JIS') : Buffer.from(text, 'utf8');
}

export function contentType(encoding: CsvEncoding): string {
  return `text/csv; charset=${encoding === 'shift_jis' ? 'Shift_JIS' : 'utf-8'}`;
}
