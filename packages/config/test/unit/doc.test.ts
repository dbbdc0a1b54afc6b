import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allSpecs, commonSpec, readSpec, renderConfigDoc } from '@kumo/config';

const DOCS = ['../../../../docs/configuration.md', '../../../../README.md'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

describe('configuration reference', () => {
  it.each(DOCS)('%s matches the settings declared in code (run `npm run docs:config` after changing a section)', (file) => {
    const doc = readFileSync(file, 'utf8');
    const start = doc.indexOf('-->', doc.indexOf('<!-- generated:start')) + 3;
    const end = doc.indexOf('<!-- generated:end -->');
    expect(end).toBeGreaterThan(start);
    expect(doc.slice(start, end).trim()).toBe(renderConfigDoc().trim());
  });

  it('names every variable KUMO_*, and a variable two processes share (e.g. the engine link) has one default', () => {
    const seen = new Map<string, string | undefined>();
    for (const spec of Object.values(allSpecs)) {
      for (const s of Object.values(spec)) {
        expect(s.env).toMatch(/^KUMO_[A-Z0-9_]+$/);
        if (seen.has(s.env)) expect(s.default, s.env).toBe(seen.get(s.env));
        seen.set(s.env, s.default);
      }
    }
  });
});

describe('KUMO_REDIS_URL', () => {
  it.each([
    ['redis://127.0.0.1:6379/0', true],
    ['rediss://:pw@cache:6380', true],
    ['redis-sentinel://:pw@s1:26379,s2:26379,[::1]:26379/kumo?db=2', true],
    ['redis-cluster://n1:7000,n2:7001,n3:7002', true],
    ['http://127.0.0.1:6379', false],
    ['redis://', false],
    ['redis://host with space', false],
  ])('%s → %s', (raw, ok) => {
    expect(readSpec(commonSpec, { KUMO_REDIS_URL: raw }).problems.length === 0).toBe(ok);
  });
});
