/**
 * Allocation per source, for the benchmarks' processes.
 *
 * As a preload (`node --import ./loadtest/lib/heap-sample.mjs …`, e.g. through KUMO_BENCH_SIP_NODE_ARGS):
 * samples allocations (V8's sampling heap profiler, one sample per 32 KiB allocated on average) and keeps the
 * samples of objects the GC has already collected, so the profile is what the process allocated, not what it
 * still holds. The profile is written when the process exits, to `$KUMO_HEAP_SAMPLE_DIR/<pid>.heapprofile`.
 *
 * As a script (`node loadtest/lib/heap-sample.mjs <file.heapprofile> [top] [--per <operations>]`): prints the
 * bytes sampled in all, by package (self) and the top functions by self and by inclusive size, each as a share
 * and, with `--per`, in bytes per operation.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.env.KUMO_HEAP_SAMPLE_DIR;
const main = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];

if (!main && dir) {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  process.on('exit', () => {
    // The in-process inspector session answers synchronously, so this works in an exit handler.
    session.post('HeapProfiler.stopSampling', (err, r) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.heapprofile`), JSON.stringify(r.profile));
    });
  });
}

if (main) {
  const args = process.argv.slice(2);
  const perAt = args.indexOf('--per');
  const per = perAt >= 0 ? Number(args[perAt + 1]) : 0;
  const [file, topArg] = args.filter((_a, i) => i !== perAt && i !== perAt + 1);
  const top = Number(topArg ?? 25);
  const { readFileSync } = await import('node:fs');
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const where = (url) => {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url) ?? /packages\/([^/]+)\//.exec(url);
    return m ? m[1] : url === '' ? '(native)' : url.startsWith('node:') ? 'node' : '(other)';
  };
  const name = (cf) => `${cf.functionName || '(anonymous)'} ${where(cf.url)}${cf.url ? ` ${cf.url.slice(cf.url.lastIndexOf('/') + 1)}:${cf.lineNumber + 1}` : ''}`;
  const self = new Map();
  const incl = new Map();
  const pkg = new Map();
  let total = 0;
  const walk = (node, stack) => {
    const s = node.selfSize;
    const n = name(node.callFrame);
    total += s;
    self.set(n, (self.get(n) ?? 0) + s);
    pkg.set(where(node.callFrame.url), (pkg.get(where(node.callFrame.url)) ?? 0) + s);
    const here = new Set(stack).add(n);
    for (const c of node.children) walk(c, here);
    // Inclusive: every distinct function on the stack of each byte.
    for (const f of here) if (!stack.has(f)) incl.set(f, (incl.get(f) ?? 0) + subtotal(node));
  };
  const sub = new Map();
  const subtotal = (node) => {
    let v = sub.get(node);
    if (v === undefined) {
      v = node.selfSize + node.children.reduce((a, c) => a + subtotal(c), 0);
      sub.set(node, v);
    }
    return v;
  };
  walk(profile.head, new Set());
  const fmt = ([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)} %${per ? `  ${Math.round(v / per).toString().padStart(7)} B/op` : ''}  ${k}`;
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  console.log(`sampled ${(total / 2 ** 20).toFixed(1)} MiB${per ? `, ${Math.round(total / per)} B per operation over ${per}` : ''}`);
  console.log('\nby package (self):');
  for (const e of sorted(pkg).slice(0, 15)) console.log(fmt(e));
  console.log('\ntop functions, self:');
  for (const e of sorted(self).slice(0, top)) console.log(fmt(e));
  console.log('\ntop functions, inclusive:');
  for (const e of sorted(incl).slice(0, top)) console.log(fmt(e));
}
