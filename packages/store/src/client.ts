import { Redis, Cluster, type RedisOptions } from 'ioredis';
import { KumoError } from '@kumo/runtime';

export type RedisClient = Redis | Cluster;

/**
 * One factory for every Redis shape Kumo supports:
 * - `redis://[:password@]host:port[/db]`, `rediss://…` (TLS)
 * - `redis-sentinel://[:password@]host:port,host:port/<masterName>[?db=N]`
 * - `redis-cluster://[:password@]host:port,host:port`
 */
interface RedisUrl {
  readonly scheme: 'redis' | 'rediss' | 'redis-sentinel' | 'redis-cluster';
  readonly username?: string;
  readonly password?: string;
  readonly hosts: { host: string; port: number | undefined }[];
  readonly path: string;
  readonly query: URLSearchParams;
}

const REDIS_URL = /^(redis|rediss|redis-sentinel|redis-cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#@]+)(\/[^?#]*)?(?:\?([^#]*))?$/;
const HOST = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/;

/**
 * Parses the Redis URL shapes Kumo accepts. WHATWG `URL` cannot be used: it rejects the
 * comma-separated host lists of Sentinel and Cluster URLs.
 */
function parseRedisUrl(url: string): RedisUrl {
  const m = REDIS_URL.exec(url.trim());
  if (!m) throw new KumoError('KUMO_ERR_REDIS_URL', `not a Redis URL: ${redactUrl(url)}`);
  const hosts = (m[4] as string).split(',').map((hp) => {
    const h = HOST.exec(hp);
    const port = h?.[3] === undefined ? undefined : Number(h[3]);
    if (!h || (port !== undefined && (port < 1 || port > 65535))) {
      throw new KumoError('KUMO_ERR_REDIS_URL', `bad host in Redis URL: ${hp}`);
    }
    return { host: (h[1] ?? h[2]) as string, port };
  });
  const decode = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : decodeURIComponent(v));
  const username = decode(m[2]);
  const password = decode(m[3]);
  return {
    scheme: m[1] as RedisUrl['scheme'],
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    hosts,
    path: (m[5] ?? '').replace(/^\//, ''),
    query: new URLSearchParams(m[6] ?? ''),
  };
}

/**
 * One factory for every Redis shape Kumo supports:
 * - `redis://[[user]:password@]host:port[/db]`, `rediss://…` (TLS)
 * - `redis-sentinel://[:password@]host:port,host:port/<masterName>[?db=N]`
 * - `redis-cluster://[:password@]host:port,host:port`
 */
export function createRedis(url: string, extra: RedisOptions = {}): RedisClient {
  const u = parseRedisUrl(url);
  const base: RedisOptions = {
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    lazyConnect: false,
    ...extra,
  };
  const auth = {
    ...(u.password !== undefined ? { password: u.password } : {}),
    ...(u.username !== undefined ? { username: u.username } : {}),
  };
  const dbOf = (raw: string | null): number => {
    const db = Number(raw ?? '0');
    if (!Number.isInteger(db) || db < 0 || db > 15) throw new KumoError('KUMO_ERR_REDIS_URL', `bad Redis db: ${raw}`);
    return db;
  };
  switch (u.scheme) {
    case 'redis':
    case 'rediss': {
      const [h] = u.hosts;
      if (!h || u.hosts.length > 1) throw new KumoError('KUMO_ERR_REDIS_URL', 'a redis:// URL has exactly one host');
      return new Redis({
        ...base,
        ...auth,
        host: h.host,
        port: h.port ?? 6379,
        db: dbOf(u.path === '' ? '0' : u.path),
        ...(u.scheme === 'rediss' ? { tls: {} } : {}),
      });
    }
    case 'redis-sentinel': {
      if (u.path === '') throw new KumoError('KUMO_ERR_REDIS_URL', 'redis-sentinel URL needs /<masterName>');
      return new Redis({
        ...base,
        ...auth,
        sentinels: u.hosts.map((h) => ({ host: h.host, port: h.port ?? 26379 })),
        name: u.path,
        db: dbOf(u.query.get('db')),
      });
    }
    case 'redis-cluster':
      return new Cluster(
        u.hosts.map((h) => ({ host: h.host, port: h.port ?? 6379 })),
        // No auto-pipelining on Cluster: ioredis groups a pipeline by the slot of each command's first
        // string argument and loads Lua scripts per pipeline, which fails ("All keys in the pipeline should
        // belong to the same slots allocation group") for concurrent script calls; found by the
        // redis-cluster test project.
        { redisOptions: { ...base, ...auth }, enableAutoPipelining: false, lazyConnect: base.lazyConnect ?? false },
      );
  }
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
