// The engine in a process of its own, started with the environment it gets in production (the test passes
// ENGINE_PROCESS_ENV), for the burst-memory test: argv sipPort controlPort T1ms. Answers 'stats' and 'gc' over IPC.
import { mallocInUse, startEngine } from '../../dist/index.js';
import { createLogger } from '@kumo/runtime';

const [sipPort, controlPort, t1] = process.argv.slice(2).map(Number);
const engine = await startEngine({
  listen: [{ proto: 'udp', host: '127.0.0.1', port: sipPort }],
  control: { host: '127.0.0.1', port: controlPort },
  secret: 'cymru',
  log: createLogger({ level: 'warn', name: 'engine' }),
  timers: { T1: t1 },
  maxServerTransactions: 1000000,
});
const malloc = mallocInUse();
process.on('message', (m) => {
  if (m === 'gc') globalThis.gc?.();
  const s = engine.stats();
  process.send?.({ txns: s.serverTransactions + s.clientTransactions, dialogs: s.dialogs, rss: process.memoryUsage().rss, malloc });
});
process.send?.({ ready: true });
process.on('SIGTERM', () => void engine.close().then(() => process.exit(0)));
