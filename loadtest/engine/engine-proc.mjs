// The engine alone in its own process (as `kumo engine` runs it), for the benchmark.
import { readFileSync } from 'node:fs';
import { mallocInUse, startEngine } from '../../packages/engine/dist/index.js';
import { createEngineMetrics, createLogger } from '../../packages/runtime/dist/index.js';
import { Registry } from 'prom-client';

const [sipPort, controlPort, transport = 'udp'] = process.argv.slice(2).map(String);
// KUMO_BENCH_COUNTS=1: the engine's SIP message counters (its Prometheus metrics), reported with the stats
const registry = process.env.KUMO_BENCH_COUNTS === '1' ? new Registry() : undefined;
/** The counters as `name{labels}` → value (retransmissions, requests and responses by method and status class). */
async function counts() {
  if (!registry) return undefined;
  const out = {};
  for (const m of await registry.getMetricsAsJSON()) {
    if (m.type !== 'counter') continue;
    const short = m.name.replace(/^kumo_engine_(sip_)?/, '').replace(/_total$/, '');
    for (const v of m.values) out[`${short}{${Object.values(v.labels).join(',')}}`] = v.value;
  }
  return out;
}
const engine = await startEngine({
  listen: [{ proto: transport, host: '127.0.0.1', port: Number(sipPort) }],
  control: { host: '127.0.0.1', port: Number(controlPort) },
  secret: 'cymru',
  log: createLogger({ level: 'warn', name: 'engine' }),
  maxServerTransactions: 1000000,
  ...(registry ? { metrics: createEngineMetrics(registry) } : {}),
  overload: {
    // as `kumo engine` reads them: KUMO_ENGINE_SHED_ANSWER_MS=0 runs with the backstops only (the old guard), to compare
    ...(process.env.KUMO_ENGINE_SHED_ANSWER_MS !== undefined ? { latencyHighMs: Number(process.env.KUMO_ENGINE_SHED_ANSWER_MS) } : {}),
    ...(process.env.KUMO_ENGINE_SHED_QUEUE_MS !== undefined ? { queueHighMs: Number(process.env.KUMO_ENGINE_SHED_QUEUE_MS) } : {}),
  },
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
process.on('message', async (m) => {
  if (m === 'gc') globalThis.gc?.();
  if (m === 'stats' || m === 'gc') {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    process.send?.({ stats: engine.stats(), rss: mem.rss, heap: mem.heapUsed, mem, malloc, cpu, io: procIo(), counts: await counts() });
  }
});
process.on('SIGTERM', () => void engine.close().then(() => process.exit(0)));
process.on('SIGINT', () => void engine.close().then(() => process.exit(0)));
