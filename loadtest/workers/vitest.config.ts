import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Runs the sip-worker scaling benchmark (not part of the test suite; needs the built CLI):
//   npx tsc -b && npx vitest run --config loadtest/workers/vitest.config.ts
const root = fileURLToPath(new URL('../..', import.meta.url));
const alias = [{ find: /^@kumo\/([a-z]+)$/, replacement: `${root}packages/$1/src/index.ts` }];

export default defineConfig({
  resolve: { alias },
  test: {
    root,
    include: ['loadtest/workers/workers.bench.ts'],
    environment: 'node',
    testTimeout: 3_600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
