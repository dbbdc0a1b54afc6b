/** CSV for the extension import: RFC 4180 parsing and UTF-8 / Shift_JIS decoding in the browser. */

/** Decodes a file: UTF-8 (with or without BOM) when it is valid UTF-8, else Shift_JIS (Windows-31J). */
export function decodeCsv(buf: ArrayBuffer, encoding: 'auto' | 'utf-8' | 'shift_jis'): string {
  if (encoding === 'shift_jis') return new TextDecoder('shift_jis').decode(buf);
  if (encoding === 'utf-8') return new TextDecoder('utf-8').decode(buf).replace(/^\uFEFF/, '');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf).replace(/^\uFEFF/, '');
  } catch {
    return new TextDecoder('shift_jis').decode(buf);
  }
}

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += ch;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((r) => r.some((c) => c.trim() !== ''));
}

/** Header names (English or Japanese, as the ledgers write them) → extension fields. */
const HEADERS: Record<string, string> = {
  number: 'number',
  extension: 'number',
  内線番号: 'number',
  番号: 'number',
  displayname: 'displayName',
  name: 'displayName',
  表示名: 'displayName',
  名前: 'displayName',
  氏名: 'displayName',
  password: 'password',
  パスワード: 'password',
  department: 'department',
  部署: 'department',
  permissionclass: 'permissionClass',
  発信権限: 'permissionClass',
};

export function headerField(h: string): string | undefined {
  return HEADERS[h.trim().toLowerCase().replace(/[\s_]/g, '')] ?? HEADERS[h.trim()];
}
