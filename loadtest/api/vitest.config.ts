import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Runs the provisioning API benchmark (not part of the test suite):
//   npx tsc -b && npx vitest run --config loadtest/api/vitest.config.ts
const root = fileURLToPath(new URL('../..', import.meta.url));
const alias = [{ find: /^@kumo\/([a-z]+)$/, replacement: `${root}packages/$1/src/index.ts` }];

export default defineConfig({
  resolve: { alias },
  test: {
    root,
    include: ['loadtest/api/*.bench.ts'],
    environment: 'node',
    testTimeout: 600_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
