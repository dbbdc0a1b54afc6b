import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startRedis, type RedisHandle } from './redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** 'standalone' here; 'sentinel' or 'cluster' in the topology projects (global-setup-topology.ts). */
    redisTopology: string;
  }
}

let redis: RedisHandle | undefined;

/** Vitest globalSetup for the integration project: one redis-server per test run. */
export async function setup(project: TestProject): Promise<void> {
  redis = await startRedis({ settings: { appendonly: 'no' } });
  project.provide('redisUrl', redis.url);
  project.provide('redisTopology', 'standalone');
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}
