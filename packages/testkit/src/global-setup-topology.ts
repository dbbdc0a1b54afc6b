import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startRedisCluster, startSentinelSet } from './redis-topologies.js';

import './global-setup.js';

let stop: (() => Promise<void>) | undefined;

/**
 * Vitest globalSetup for the `redis-sentinel` and `redis-cluster` projects: the same core
 * integration files as the standalone project, run against a real Sentinel set or Cluster.
 * The topology comes from the project name.
 */
export async function setup(project: TestProject): Promise<void> {
  const topology = project.name === 'redis-cluster' ? 'cluster' : 'sentinel';
  if (topology === 'cluster') {
    const c = await startRedisCluster();
    stop = () => c.stop();
    project.provide('redisUrl', c.url);
  } else {
    const s = await startSentinelSet();
    stop = () => s.stop();
    project.provide('redisUrl', s.url);
  }
  project.provide('redisTopology', topology);
}

export async function teardown(): Promise<void> {
  await stop?.();
}
