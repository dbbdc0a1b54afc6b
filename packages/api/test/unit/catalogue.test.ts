import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, catalogueMarkdown, languageOf, messageOf } from '@kumo/api';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(root, dir, e.name)] : [],
  );
}

/** Codes the API and the provisioning store raise (`new KumoError('KUMO_ERR_…'`, `code: 'KUMO_ERR_…'`). */
function raisedCodes(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of [...sources('packages/api/src'), ...sources('packages/store/src/provisioning')]) {
    if (file.endsWith('catalogue.ts')) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:KumoError\(\s*|code: )'(KUMO_ERR_[A-Z_]+)'/g)) out.set(m[1] ?? '', file.slice(root.length));
  }
  return out;
}

describe('error catalogue', () => {
  it('docs/api.md embeds the catalogue as generated (run `npm run docs:errors` after changing it)', () => {
    const doc = readFileSync(join(root, 'docs/api.md'), 'utf8');
    const start = doc.indexOf('-->', doc.indexOf('<!-- errors:start')) + 3;
    const end = doc.indexOf('<!-- errors:end -->');
    expect(end).toBeGreaterThan(start);
    expect(doc.slice(start, end).trim()).toBe(catalogueMarkdown().trim());
  });

  it('has every code the API and the provisioning store raise', () => {
    const raised = raisedCodes();
    expect(raised.size).toBeGreaterThan(20);
    for (const [code, file] of raised) expect(ERROR_CATALOGUE, `${code} (raised in ${file})`).toHaveProperty(code);
  });

  it('has no code nothing raises', () => {
    const raised = raisedCodes();
    const app = readFileSync(join(root, 'packages/api/src/errors.ts'), 'utf8') + readFileSync(join(root, 'packages/api/src/app.ts'), 'utf8');
    for (const code of Object.keys(ERROR_CATALOGUE)) expect(raised.has(code) || app.includes(`'${code}'`), code).toBe(true);
  });

  it.each(Object.entries(ERROR_CATALOGUE))('%s: a status, an English and a Japanese message', (code, e) => {
    expect(e.status).toBeGreaterThanOrEqual(400);
    const details = Object.fromEntries(e.details.map((f) => [f.split(/[ :]/)[0] ?? f, 'x']));
    const en = messageOf(code, details, 'fallback', 'en');
    const ja = messageOf(code, details, 'fallback', 'ja');
    expect(en.length).toBeGreaterThan(3);
    expect(en).not.toMatch(/\ba [aeiou]/i);
    expect(ja).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    expect(ja).not.toBe(en);
  });

  it.each([
    [undefined, 'en'],
    ['ja', 'ja'],
    ['ja-JP', 'ja'],
    ['en-US,en;q=0.9,ja;q=0.8', 'en'],
    ['ja;q=0.9,en;q=0.8', 'ja'],
    ['fr, ja;q=0.5', 'en'],
    ['ja;q=0', 'en'],
    ['*', 'en'],
  ])('Accept-Language %j → %s', (h, lang) => {
    expect(languageOf(h)).toBe(lang);
  });
});
