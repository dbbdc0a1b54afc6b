import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Runs the call-routing benchmark (not part of the test suite):
//   npx tsc -b && npx vitest run --config loadtest/calls/vitest.config.ts
// The latency and hold-time phases live in their own file:
//   KUMO_BENCH_FILE=loadtest/calls/latency-hold.bench.ts npx vitest run --config loadtest/calls/vitest.config.ts
const root = fileURLToPath(new URL('../..', import.meta.url));
const alias = [{ find: /^@kumo\/([a-z]+)$/, replacement: `${root}packages/$1/src/index.ts` }];

export default defineConfig({
  resolve: { alias },
  test: {
    root,
    include: [process.env.KUMO_BENCH_FILE ?? 'loadtest/calls/calls.bench.ts'],
    environment: 'node',
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // Settled memory figures are taken after a forced GC.
    pool: 'forks',
    execArgv: ['--expose-gc'],
  },
});
