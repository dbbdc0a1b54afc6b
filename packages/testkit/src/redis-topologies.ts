import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startLocalRedis, type LocalRedis } from '@kumo/store';
import { freePort } from './ports.js';

/**
 * Real Redis topologies on loopback for the test kit: a Sentinel set (1 master, 1 replica,
 * 3 sentinels) and a Cluster (3 masters). Each node is a real `redis-server` child with its
 * data in a temp dir; nothing is faked.
 */

const HOST = '127.0.0.1';

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function withClient<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

function killChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export interface SentinelSet {
  /** `redis-sentinel://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/<master>`, as Kumo's config takes it. */
  readonly url: string;
  readonly masterName: string;
  readonly sentinelPorts: readonly number[];
  /** The data node Sentinel currently names as master. */
  currentMasterPort(): Promise<number>;
  /**
   * Makes the current master fail (SIGKILL, or a Sentinel-coordinated `SENTINEL FAILOVER`)
   * and resolves once Sentinel names the other node master. Returns the new master's port.
   */
  failover(how?: 'kill' | 'sentinel'): Promise<number>;
  /** Starts again a data node that was killed by `failover('kill')`; it rejoins as a replica. */
  reviveKilled(): Promise<void>;
  stop(): Promise<void>;
}

export interface SentinelOptions {
  /** Extra settings for both data nodes, e.g. `{ appendonly: 'yes', appendfsync: 'always' }`. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Sentinel's `down-after-milliseconds` (default 1000). */
  readonly downAfterMs?: number;
}

/** 1 master, 1 replica and 3 sentinels (quorum 2) on free loopback ports. */
export async function startSentinelSet(opts: SentinelOptions = {}): Promise<SentinelSet> {
  const masterName = 'kumo';
  const dir = mkdtempSync(join(tmpdir(), 'kumo-sentinel-'));
  const data: { port: number; node: LocalRedis; killed: boolean }[] = [];
  const sentinels: ChildProcess[] = [];
  const sentinelPorts: number[] = [];
  const settings = { save: '', appendonly: 'no', ...opts.settings };
  try {
    for (const role of ['a', 'b'] as const) {
      const port = await freePort();
      const nodeDir = join(dir, role);
      mkdirSync(nodeDir, { recursive: true });
      const first = data[0];
      const node = await startLocalRedis({
        port,
        dir: nodeDir,
        settings: { ...settings, ...(first ? { replicaof: `${HOST} ${first.port}` } : {}) },
      });
      data.push({ port, node, killed: false });
    }
    const masterPort = (data[0] as { port: number }).port;
    await until('the replica to sync', () =>
      withClient((data[1] as { port: number }).port, async (r) =>
        (await r.info('replication')).includes('master_link_status:up') ? true : undefined,
      ), 15000);

    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          `bind ${HOST}`,
          `dir ${dir}`,
          `sentinel monitor ${masterName} ${HOST} ${masterPort} 2`,
          `sentinel down-after-milliseconds ${masterName} ${opts.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore', detached: true });
      sentinels.push(child);
      sentinelPorts.push(port);
    }
    // Every sentinel knows the master, the replica and the two other sentinels.
    for (const port of sentinelPorts) {
      await until(`sentinel ${port} to see the set`, () =>
        withClient(port, async (r) => {
          const replicas = (await r.call('SENTINEL', 'REPLICAS', masterName)) as unknown[];
          const others = (await r.call('SENTINEL', 'SENTINELS', masterName)) as unknown[];
          return replicas.length >= 1 && others.length >= 2 ? true : undefined;
        }), 20000);
    }
  } catch (err) {
    for (const s of sentinels) await killChild(s, 'SIGKILL');
    for (const d of data) await d.node.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const askMaster = async (): Promise<number> => {
    for (const port of sentinelPorts) {
      try {
        return await withClient(port, async (r) => {
          const a = (await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [string, string];
          return Number(a[1]);
        });
      } catch {
        // try the next sentinel
      }
    }
    throw new Error('no sentinel answered');
  };
  const isMaster = (port: number): Promise<boolean> =>
    withClient(port, async (r) => (await r.info('replication')).includes('role:master')).catch(() => false);

  return {
    url: `redis-sentinel://${sentinelPorts.map((p) => `${HOST}:${p}`).join(',')}/${masterName}`,
    masterName,
    sentinelPorts,
    currentMasterPort: askMaster,
    async failover(how = 'kill') {
      const old = await askMaster();
      const victim = data.find((d) => d.port === old);
      if (!victim) throw new Error(`sentinel names unknown master ${old}`);
      if (how === 'kill') {
        victim.killed = true;
        await killChild(victim.node.process, 'SIGKILL');
      } else {
        await withClient(sentinelPorts[0] as number, (r) => r.call('SENTINEL', 'FAILOVER', masterName));
      }
      const next = await until('sentinel to promote the replica', async () => {
        const m = await askMaster();
        return m !== old && (await isMaster(m)) ? m : undefined;
      }, 30000);
      return next;
    },
    async reviveKilled() {
      for (const d of data) {
        if (!d.killed) continue;
        d.killed = false;
        await d.node.restart('SIGKILL');
      }
    },
    async stop() {
      for (const s of sentinels) await killChild(s, 'SIGKILL');
      for (const d of data) await d.node.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisClusterHandle {
  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`, as Kumo's config takes it. */
  readonly url: string;
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

function runRedisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.once('error', reject);
    c.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-cli ${args.join(' ')} → ${code}: ${out.slice(-800)}`))));
  });
}

/** A Redis Cluster of 3 masters (no replicas), slots spread by `redis-cli --cluster create`. */
export async function startRedisCluster(opts: { settings?: Readonly<Record<string, string>> } = {}): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-cluster-'));
  const nodes: LocalRedis[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const nodeDir = join(dir, String(i));
      mkdirSync(nodeDir, { recursive: true });
      nodes.push(
        await startLocalRedis({
          port,
          dir: nodeDir,
          settings: {
            save: '',
            appendonly: 'no',
            'cluster-enabled': 'yes',
            'cluster-config-file': join(nodeDir, 'nodes.conf'),
            'cluster-node-timeout': '2000',
            ...opts.settings,
          },
        }),
      );
      ports.push(port);
    }
    await runRedisCli(['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) {
      await until(`cluster node ${port} to be ok`, () =>
        withClient(port, async (r) => ((await r.call('CLUSTER', 'INFO')) as string).includes('cluster_state:ok') ? true : undefined),
        20000);
    }
  } catch (err) {
    for (const n of nodes) await n.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `redis-cluster://${ports.map((p) => `${HOST}:${p}`).join(',')}`,
    ports,
    async stop() {
      for (const n of nodes) await n.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
