// Regenerates the generated part of docs/configuration.md from the config specs (needs a build).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigDoc } from '../packages/config/dist/index.js';

const file = new URL('../docs/configuration.md', import.meta.url);
const START = '<!-- generated:start (npm run docs:config) -->';
const END = '<!-- generated:end -->';
const doc = readFileSync(file, 'utf8');
const a = doc.indexOf(START);
const b = doc.indexOf(END);
if (a < 0 || b < a) throw new Error('docs/configuration.md lacks the generated markers');
writeFileSync(file, `${doc.slice(0, a + START.length)}\n\n${renderConfigDoc()}\n${doc.slice(b)}`);
