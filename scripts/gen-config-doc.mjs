// Regenerates the generated configuration tables in docs/configuration.md and README.md
// from the config specs (needs a build of packages/config).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigDoc } from '../packages/config/dist/index.js';

const START = '<!-- generated:start (npm run docs:config) -->';
const END = '<!-- generated:end -->';
for (const name of ['../docs/configuration.md', '../README.md']) {
  const file = new URL(name, import.meta.url);
  const doc = readFileSync(file, 'utf8');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${name} lacks the generated markers`);
  writeFileSync(file, `${doc.slice(0, a + START.length)}\n\n${renderConfigDoc()}\n${doc.slice(b)}`);
}
