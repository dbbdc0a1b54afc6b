/** What the call benchmarks share: the bench tenant with its two extensions, the callee's binding, and latency percentiles. */
import { existsSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import { validateExtension, validateTenantCreate } from '@kumo/domain';
import { LocationStore, ProvisioningRepo, SYSTEM_ACTOR, type KeySchema, type RedisClient } from '@kumo/store';
import { quantile } from '../lib/quantile.mjs';

export const BENCH_DOMAIN = 'bench.kumo.test';

/** Tenant `bench` (`ports` contract ports) with extensions 1001 and 1002, password `pass<ext>x`. */
export async function seedBenchTenant(redis: RedisClient, keys: KeySchema, ports: number): Promise<void> {
  const repo = new ProvisioningRepo(redis, keys);
  const tenant = validateTenantCreate({ id: 'bench', name: 'Bench', sipDomain: BENCH_DOMAIN, ports, trunkChannels: 10, callsPerSecond: 1000 });
  if (!tenant.ok) throw new Error('tenant');
  await repo.createTenant(tenant.value, SYSTEM_ACTOR);
  for (const number of ['1001', '1002']) {
    const e = validateExtension({ number, displayName: number, password: `pass${number}x` });
    if (!e.ok) throw new Error('ext');
    await repo.createExtension('bench', e.value, SYSTEM_ACTOR);
  }
}

/** The callee 1002 bound to the sipp UAS on `port` (UDP), replacing any earlier binding. */
export async function registerCallee(redis: RedisClient, keys: KeySchema, port: number): Promise<void> {
  await redis.del(keys.tenant.regBindings('bench', '1002'));
  await new LocationStore(redis, keys).register({
    tenantId: 'bench',
    extension: '1002',
    callId: `bench-${port}`,
    cseq: 1,
    maxContacts: 5,
    policy: 'replace-oldest',
    mode: 'update',
    updates: [{ id: `b${port}`, expires: 3600, contact: `sip:1002@127.0.0.1:${port}`, source: { address: '127.0.0.1', port, transport: 'udp' } }],
  });
}

export interface Rtd {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function percentiles(values: number[]): Rtd {
  const v = [...values].sort((a, b) => a - b);
  return { n: v.length, p50: quantile(v, 0.5), p99: quantile(v, 0.99), max: v[v.length - 1] ?? NaN };
}

/**
 * Moves the response-time file of a sipp run with `-trace_rtt` (`<scenario>_<pid>_rtt.csv`, written in the working
 * directory; `scenario_<pid>_rtt.csv` when the test kit ran a resolved copy named scenario.xml) into `dir`, and
 * returns its new path (undefined when sipp wrote none). Nothing is left in the working directory.
 */
export function takeRttCsv(scenarioFile: string, pid: number | undefined, dir: string): string | undefined {
  const name = [`${basename(scenarioFile, '.xml')}_${pid}_rtt.csv`, `scenario_${pid}_rtt.csv`].find((f) => existsSync(f));
  if (name === undefined) return undefined;
  const kept = join(dir, name);
  renameSync(name, kept);
  return kept;
}
