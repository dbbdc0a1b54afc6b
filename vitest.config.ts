import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

// Tests import workspace packages from source (no build needed for unit tests);
// processes spawned by integration tests run the built `dist/` (the test command builds first).
const alias = [{ find: /^@kumo\/([a-z]+)$/, replacement: `${root}packages/$1/src/index.ts` }];

/** Integration files that must pass on every Redis topology Kumo supports (see docs/scaling.md). */
const topologyFiles = [
  'packages/store/test/integration/registrar.test.ts',
  'packages/store/test/integration/admission-store.test.ts',
  'packages/store/test/integration/provisioning.test.ts',
  'packages/store/test/integration/billing.test.ts',
  'packages/billing/test/integration/worker.test.ts',
  'packages/sip/test/integration/registrar-sipp.test.ts',
  'packages/sip/test/integration/calls-sipp.test.ts',
  'packages/sip/test/integration/worker-relay.test.ts',
  'packages/store/test/integration/cached-directory.test.ts',
  'packages/store/test/integration/hunt-state.test.ts',
];

/**
 * The sip suites that run again on the C++ drachtio-server when KUMO_TEST_DRACHTIO_BIN names its binary
 * (docs/deploy-drachtio.md has the matrix). Tests of the engine's own internals (call-state-leak,
 * corpus-app) belong to Kumo's engine only.
 */
const drachtioFiles = [
  'packages/sip/test/integration/registrar-sipp.test.ts',
  'packages/sip/test/integration/registrar-wire.test.ts',
  'packages/sip/test/integration/methods-wire.test.ts',
  'packages/sip/test/integration/calls-sipp.test.ts',
  'packages/sip/test/integration/cancel-reason-sipp.test.ts',
  'packages/sip/test/integration/attended-transfer-sipp.test.ts',
  'packages/sip/test/integration/transfer-identity-sipp.test.ts',
  'packages/sip/test/integration/admission-sipp.test.ts',
  'packages/sip/test/integration/auth-guard.test.ts',
  'packages/sip/test/integration/tcp-reachability.test.ts',
  'packages/sip/test/integration/carriers-sipp.test.ts',
  'packages/sip/test/integration/gateway-health-sipp.test.ts',
  'packages/sip/test/integration/trunk-registration-sipp.test.ts',
  'packages/sip/test/integration/trunk-roles-sipp.test.ts',
  'packages/sip/test/integration/softphones.test.ts',
  // real processes (kumo sip with drachtio-server as its engine)
  'packages/cli/test/integration/keepalive.test.ts',
];
const drachtioBin = process.env.KUMO_TEST_DRACHTIO_BIN;

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['packages/*/test/integration/**/*.test.ts', 'loadtest/**/*.smoke.test.ts'],
          environment: 'node',
          globalSetup: ['packages/testkit/src/global-setup.ts'],
          testTimeout: 60000,
          hookTimeout: 60000,
          // Integration files start real processes and sockets: keep them from starving each other on 2 cores.
          maxWorkers: 2,
          fileParallelism: true,
          sequence: { groupOrder: 1 },
        },
      },
      // The sip suites again on the C++ drachtio-server (KUMO_TEST_DRACHTIO_BIN); without it, one skipped test says how.
      {
        resolve: { alias },
        test: {
          name: 'drachtio',
          include: drachtioBin ? drachtioFiles : ['packages/sip/test/drachtio/unset.test.ts'],
          env: { KUMO_TEST_ENGINE: 'drachtio' },
          environment: 'node',
          globalSetup: ['packages/testkit/src/global-setup.ts'],
          testTimeout: 60000,
          hookTimeout: 60000,
          maxWorkers: 2,
          fileParallelism: true,
          sequence: { groupOrder: 3 },
        },
      },
      // The core store, billing and registrar scenarios again, on a real Sentinel set and a real Cluster.
      ...(['redis-sentinel', 'redis-cluster'] as const).map((name) => ({
        resolve: { alias },
        test: {
          name,
          include: topologyFiles,
          environment: 'node',
          globalSetup: ['packages/testkit/src/global-setup-topology.ts'],
          testTimeout: 60000,
          hookTimeout: 60000,
          maxWorkers: 2,
          fileParallelism: true,
          sequence: { groupOrder: 2 },
        },
      })),
    ],
  },
});
