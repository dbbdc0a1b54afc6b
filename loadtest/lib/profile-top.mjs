// Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time, and the share of
// time per package (kumo packages, drachtio-srf, ioredis, node internals, GC).
//
//   node loadtest/lib/profile-top.mjs <file.cpuprofile> [top=25] [--per N operations]
import { readFileSync } from 'node:fs';

const [file, topArg, perFlag, perArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-top.mjs <file.cpuprofile> [top] [--per N]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const per = perFlag === '--per' ? Number(perArg) : 0;
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) {
  const n = byId.get(prof.samples[i]);
  self.set(n.id, (self.get(n.id) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self.entries()].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)').reduce((a, [, v]) => a + v, 0);
const busy = total - idle;

function where(cf) {
  const u = cf.url ?? '';
  const m = /packages\/([a-z]+)\/(?:dist|src)\/(.*)$/.exec(u) ?? /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(u);
  if (m) return { pkg: m[1], file: m[2] };
  if (u.startsWith('node:')) return { pkg: 'node', file: u.slice(5) };
  return { pkg: u === '' ? cf.functionName : 'other', file: u.split('/').pop() };
}

const fns = new Map();
const pkgs = new Map();
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  if (cf.functionName === '(idle)') continue;
  const w = where(cf);
  const key = `${cf.functionName || '(anonymous)'} ${w.pkg}/${w.file}:${cf.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
  pkgs.set(w.pkg, (pkgs.get(w.pkg) ?? 0) + us);
}
const ms = (us) => (us / 1000).toFixed(0);
const pct = (us) => ((us / busy) * 100).toFixed(1);
const perOp = (us) => (per > 0 ? ` ${(us / 1000 / per).toFixed(3)} ms/op` : '');
process.stdout.write(`profile ${file}: ${ms(total)} ms sampled, ${ms(busy)} ms busy (not idle)${per > 0 ? `, ${(busy / 1000 / per).toFixed(3)} ms per op over ${per}` : ''}\n\nself time by package:\n`);
for (const [p, us] of [...pkgs].sort((a, b) => b[1] - a[1]).slice(0, 15)) process.stdout.write(`  ${pct(us).padStart(5)} %  ${ms(us).padStart(6)} ms${perOp(us)}  ${p}\n`);
process.stdout.write(`\ntop ${top} functions by self time:\n`);
for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us).padStart(5)} %  ${ms(us).padStart(6)} ms  ${k}\n`);
