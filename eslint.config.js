// @ts-check
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.kumo/**', 'loadtest/results/**', '**/*.js', '**/*.cjs'] },
  {
    files: ['packages/**/*.ts', 'loadtest/**/*.ts', 'vitest.config.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'import-x/no-cycle': ['error', { maxDepth: 10, ignoreExternal: true }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@kumo/*/*'], message: 'Import a package through its public face (src/index.ts), never a deep path.' },
            { group: ['../../*/src/*', '../../../packages/*'], message: 'No reaching into another package.' },
          ],
        },
      ],
    },
  },
  {
    // domain is pure: no I/O, no runtime services.
    files: ['packages/domain/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'domain has no I/O: no node built-ins.' },
            { group: ['@kumo/*'], message: 'domain imports nothing.' },
          ],
          paths: [
            'ioredis', 'fastify', 'pino', 'prom-client', 'drachtio-srf',
            'fs', 'net', 'dgram', 'http', 'https', 'crypto', 'child_process', 'os', 'path', 'events', 'timers',
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'packages/testkit/**/*.ts', 'loadtest/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
