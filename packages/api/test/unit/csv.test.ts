import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { contentType, encodeCsv, toCsv } from '../../src/csv.js';

const one = (v: string) => toCsv([{ en: 'v', ja: '値', value: (r: { v: string }) => r.v }], [{ v }], 'en').split('\r\n')[1];

describe('CSV export encodings (docs/security.md)', () => {
  it('is labelled Windows-31J, what it is', () => {
    expect(contentType('shift_jis')).toBe('text/csv; charset=Windows-31J');
  });

  it.each([
    ['〜', '～'],
    ['−', '－'],
    ['‖', '∥'],
    ['—', '―'],
    ['¢£¬', '￠￡￢'],
    ['①髙﨑', '①髙﨑'], // NEC and IBM extensions are in CP932
    ['😀', '〓'],
    ['営業部', '営業部'],
  ])('%s → %s (never a silent ?)', (input, expected) => {
    const out = iconv.decode(encodeCsv(input, 'shift_jis'), 'cp932');
    expect(out).toBe(expected);
    expect(out).not.toContain('?');
  });

  it.each(['=1+1', '@SUM(A1)', '+cmd', '-1+2', '＝1+1', '＋cmd', '－1', '＠SUM(A1)', '−1+1'])('neutralises formula starter %s', (v) => {
    expect(one(v)?.startsWith("'")).toBe(true);
  });

  it('keeps numbers intact', () => {
    expect(one('+81312345678')).toBe('+81312345678');
    expect(one('-5')).toBe('-5');
  });
});
