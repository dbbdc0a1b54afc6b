#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (e.g. the engine's, written with KUMO_BENCH_PROF=<dir>): self time by function (top N),
 * and by the engine's source file, as shares of the busy (non-idle) time.
 *
 *   node loadtest/engine/prof-summary.mjs <file.cpuprofile> [--top 25]
 */
import { readFileSync } from 'node:fs';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: prof-summary.mjs <file.cpuprofile> [--top N]');
  process.exit(2);
}
const top = Number(rest[rest.indexOf('--top') + 1]) || 25;
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const dt = new Map();
for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
const fn = new Map();
const where = new Map();
let busy = 0;
let idle = 0;
for (const [id, us] of dt) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const name = cf.functionName || '(anonymous)';
  if (name === '(idle)' || name === '(program)') {
    if (name === '(idle)') idle += us;
    else busy += us;
    fn.set(name, (fn.get(name) ?? 0) + us);
    continue;
  }
  busy += us;
  const url = cf.url.replace(/^.*\/(packages|node_modules)\//, '$1/');
  const key = `${name} ${url ? `${url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}` : '(native)'}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const w = url.startsWith('packages/') ? url.split('/').slice(0, 4).join('/') : url.startsWith('node:') ? url : url ? 'other js' : name.startsWith('(') ? name : 'native';
  where.set(w, (where.get(w) ?? 0) + us);
}
if (idle > 0) fn.delete('(idle)');
const pct = (us) => ((us / busy) * 100).toFixed(1).padStart(5);
console.log(`busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s`);
console.log('\nself time by function:');
for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)} %  ${k}`);
console.log('\nself time by file:');
for (const [k, us] of [...where].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)} %  ${k}`);
