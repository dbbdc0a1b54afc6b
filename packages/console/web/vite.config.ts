import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// The console: Preact (JSX through Vite's own transform, no Babel), served by the API at /console/.
// `@kumo/domain` is bundled from source: forms validate with the very functions the API uses.
export default defineConfig({
  root: here('.'),
  base: '/console/',
  resolve: { alias: [{ find: /^@kumo\/domain$/, replacement: here('../../domain/src/index.ts') }] },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
    chunkSizeWarningLimit: 200,
  },
  logLevel: 'warn',
});
