import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Runs the traffic report benchmark (not part of the test suite):
//   npx tsc -b && npx vitest run --config loadtest/traffic/vitest.config.ts
const root = fileURLToPath(new URL('../..', import.meta.url));
const alias = [{ find: /^@kumo\/([a-z]+)$/, replacement: `${root}packages/$1/src/index.ts` }];

export default defineConfig({
  resolve: { alias },
  test: {
    root,
    include: ['loadtest/traffic/*.bench.ts'],
    environment: 'node',
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
