// The engine alone in its own process (as `kumo engine` runs it), for the benchmark.
import { readFileSync } from 'node:fs';
import { mallocInUse, startEngine } from '../../packages/engine/dist/index.js';
import { createLogger } from '../../packages/runtime/dist/index.js';

const [sipPort, controlPort, transport = 'udp'] = process.argv.slice(2).map(String);
const engine = await startEngine({
  listen: [{ proto: transport, host: '127.0.0.1', port: Number(sipPort) }],
  control: { host: '127.0.0.1', port: Number(controlPort) },
  secret: 'cymru',
  log: createLogger({ level: 'warn', name: 'engine' }),
  maxServerTransactions: 1000000,
  // as `kumo engine` reads it: KUMO_ENGINE_SHED_ANSWER_MS=0 runs with the backstops only (the old guard), to compare
  ...(process.env.KUMO_ENGINE_SHED_ANSWER_MS !== undefined ? { overload: { latencyHighMs: Number(process.env.KUMO_ENGINE_SHED_ANSWER_MS) } } : {}),
  // KUMO_ENGINE_TRYING_DELAY_MS=0: the 100 Trying at once (drachtio's way), to compare with the delayed one
  ...(process.env.KUMO_ENGINE_TRYING_DELAY_MS !== undefined ? { tryingDelayMs: Number(process.env.KUMO_ENGINE_TRYING_DELAY_MS) } : {}),
});
const malloc = mallocInUse();
process.send?.({ ready: true });
// KUMO_BENCH_TRACE=1: the admission controller's state once a second (limit 0 = not limiting)
if (process.env.KUMO_BENCH_TRACE === '1') {
  setInterval(() => {
    const s = engine.stats();
    console.log(`engine: limit ${s.admissionLimit}/s answer ${s.answerMs} ms elu ${s.elu} queue ${s.queueMs} ms admitted ${s.admitted} shed ${s.shed} server txns ${s.serverTransactions} dialogs ${s.dialogs}`);
  }, 1000).unref();
}
/** read/write syscalls so far (Linux /proc/self/io: write and writev count, UDP sendto does not), or undefined. */
function procIo() {
  try {
    const t = readFileSync('/proc/self/io', 'utf8');
    return { syscr: Number(/^syscr: (\d+)/m.exec(t)?.[1]), syscw: Number(/^syscw: (\d+)/m.exec(t)?.[1]) };
  } catch {
    return undefined;
  }
}
process.on('message', (m) => {
  if (m === 'gc') globalThis.gc?.();
  if (m === 'stats' || m === 'gc') {
    const mem = process.memoryUsage();
    process.send?.({ stats: engine.stats(), rss: mem.rss, heap: mem.heapUsed, mem, malloc, cpu: process.cpuUsage(), io: procIo() });
  }
});
process.on('SIGTERM', () => void engine.close().then(() => process.exit(0)));
process.on('SIGINT', () => void engine.close().then(() => process.exit(0)));
