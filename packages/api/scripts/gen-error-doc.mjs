// Regenerates the error catalogue table in docs/api.md from packages/api/src/catalogue.ts
// (needs a build of packages/api: `npm run docs:errors` does both).
import { readFileSync, writeFileSync } from 'node:fs';
import { catalogueMarkdown } from '../dist/catalogue.js';

const START = '<!-- errors:start (npm run docs:errors) -->';
const END = '<!-- errors:end -->';
const file = new URL('../../../docs/api.md', import.meta.url);
const doc = readFileSync(file, 'utf8');
const a = doc.indexOf(START);
const b = doc.indexOf(END);
if (a < 0 || b < a) throw new Error('docs/api.md lacks the error catalogue markers');
writeFileSync(file, `${doc.slice(0, a + START.length)}\n\n${catalogueMarkdown()}\n\n${doc.slice(b)}`);
