import { Redis, Cluster, type RedisOptions } from 'ioredis';
import { KumoError } from '@kumo/runtime';

export type RedisClient = Redis | Cluster;

/**
 * One factory for every Redis shape Kumo supports:
 * - `redis://[:password@]host:port[/db]`, `rediss://…` (TLS)
 * - `redis-sentinel://[:password@]host:port,host:port/<masterName>[?db=N]`
 * - `redis-cluster://[:password@]host:port,host:port`
 */
export function createRedis(url: string, extra: RedisOptions = {}): RedisClient {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new KumoError('KUMO_ERR_REDIS_URL', `not a URL: ${redactUrl(url)}`);
  }
  const base: RedisOptions = {
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    lazyConnect: false,
    ...extra,
  };
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const auth = { ...(password !== undefined ? { password } : {}), ...(username !== undefined ? { username } : {}) };
  switch (u.protocol) {
    case 'redis:':
    case 'rediss:': {
      const db = Number(u.pathname.replace(/^\//, '') || '0');
      return new Redis({
        ...base,
        ...auth,
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: Number(u.port || 6379),
        db: Number.isFinite(db) ? db : 0,
        ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
      });
    }
    case 'redis-sentinel:': {
      const hosts = parseHostList(url);
      const name = u.pathname.replace(/^\//, '');
      if (!name) throw new KumoError('KUMO_ERR_REDIS_URL', 'redis-sentinel URL needs /<masterName>');
      const db = Number(u.searchParams.get('db') ?? '0');
      return new Redis({ ...base, ...auth, sentinels: hosts, name, db });
    }
    case 'redis-cluster:': {
      const hosts = parseHostList(url);
      return new Cluster(hosts, { redisOptions: { ...base, ...auth }, enableAutoPipelining: true });
    }
    default:
      throw new KumoError('KUMO_ERR_REDIS_URL', `unsupported Redis URL scheme ${u.protocol}`);
  }
}

function parseHostList(url: string): { host: string; port: number }[] {
  const m = /^[a-z-]+:\/\/(?:[^@/]*@)?([^/?]+)/.exec(url);
  if (!m?.[1]) throw new KumoError('KUMO_ERR_REDIS_URL', 'no hosts in Redis URL');
  return m[1].split(',').map((hp) => {
    const mm = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(hp);
    if (!mm) throw new KumoError('KUMO_ERR_REDIS_URL', `bad host in Redis URL: ${hp}`);
    return { host: (mm[1] ?? mm[2]) as string, port: Number(mm[3] ?? 26379) };
  });
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//[redacted]@');
}

/** Resolves when the client answers PING, rejects after `timeoutMs`. */
export async function pingRedis(client: RedisClient, timeoutMs = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([
      client.ping(),
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error('timeout')), timeoutMs);
      }),
    ]);
    return r === 'PONG';
  } catch {
    return false;
  } finally {
    if (timer) clearTimeout(timer);
  }
}
