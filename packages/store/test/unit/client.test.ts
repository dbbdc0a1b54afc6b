import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedis, redactUrl } from '@kumo/store';

// lazyConnect: nothing is dialled; only the options the factory derived from the URL are checked.
const lazy = { lazyConnect: true } as const;

describe('createRedis', () => {
  it.each([
    ['redis://127.0.0.1:6390', { host: '127.0.0.1', port: 6390, db: 0 }],
    ['redis://:s3cret@10.0.0.5:6379/2', { host: '10.0.0.5', port: 6379, db: 2, password: 's3cret' }],
    ['redis://user:p%40ss@[::1]:7000/1', { host: '::1', port: 7000, db: 1, username: 'user', password: 'p@ss' }],
    ['redis://redis', { host: 'redis', port: 6379, db: 0 }],
  ])('standalone %s', (url, expected) => {
    const c = createRedis(url, lazy);
    expect(c).toBeInstanceOf(Redis);
    expect((c as Redis).options).toMatchObject(expected);
    c.disconnect();
  });

  it('rediss:// turns TLS on', () => {
    const c = createRedis('rediss://cache.example:6380', lazy) as Redis;
    expect(c.options.tls).toBeDefined();
    c.disconnect();
  });

  it('Sentinel: every sentinel, the master name and the db', () => {
    const c = createRedis('redis-sentinel://:pw@s1:26379,s2:26380,[::1]/kumo?db=3', lazy) as Redis;
    expect(c.options).toMatchObject({
      name: 'kumo',
      db: 3,
      password: 'pw',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: '::1', port: 26379 },
      ],
    });
    c.disconnect();
  });

  it('Cluster: the seed nodes', () => {
    const c = createRedis('redis-cluster://n1:7000,n2:7001', lazy);
    expect(c).toBeInstanceOf(Cluster);
    expect((c as Cluster).startupNodes).toEqual([
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 7001 },
    ]);
    c.disconnect();
  });

  it.each([
    ['not a url', 'KUMO_ERR_REDIS_URL'],
    ['redis://a:1,b:2', 'KUMO_ERR_REDIS_URL'],
    ['redis://host:99999', 'KUMO_ERR_REDIS_URL'],
    ['redis://host/99', 'KUMO_ERR_REDIS_URL'],
    ['http://127.0.0.1:6379', 'KUMO_ERR_REDIS_URL'],
    ['redis-sentinel://s1:26379', 'KUMO_ERR_REDIS_URL'],
  ])('refuses %s with a typed error', (url, code) => {
    expect(() => createRedis(url, lazy)).toThrow(expect.objectContaining({ code }));
  });

  it('never prints a password', () => {
    expect(redactUrl('redis://:s3cret@host:6379/0')).toBe('redis://[redacted]@host:6379/0');
    expect(() => createRedis('redis-sentinel://:s3cret@s1:26379', lazy)).toThrow(expect.not.stringContaining('s3cret'));
  });
});
