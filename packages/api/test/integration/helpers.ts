import { inject } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createRedis, keySchema, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import { buildApp, createOperatorKey, type ApiDeps } from '@kumo/api';

export const TEST_GRANTS = {
  numbers: ['+81312345678', '+81612345678'],
  blocks: [
    { first: '+81355550000', count: 10000 },
    { first: '+81366660000', count: 10000 },
  ],
  gateways: [...Array.from({ length: 254 }, (_, i) => `192.0.2.${i + 1}`), ...Array.from({ length: 20 }, (_, i) => `198.51.100.${i + 1}`)],
};

export interface Harness {
  app: FastifyInstance;
  redis: RedisClient;
  prefix: string;
  operatorKey: string;
  call(method: string, url: string, opts?: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  /** Creates a tenant and returns a tenant-admin key for it. */
  tenant(id: string, extra?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function harness(
  o: { bodyLimit?: number; security?: ApiDeps['security']; log?: ApiDeps['log']; ownSipAddresses?: { host: string; port: number }[]; now?: () => Date } = {},
): Promise<Harness> {
  const redis = createRedis(inject('redisUrl'));
  const prefix = uniquePrefix('api');
  const keys = keySchema(prefix);
  const app = await buildApp({
    redis,
    keys,
    ...(o.bodyLimit !== undefined ? { bodyLimit: o.bodyLimit } : {}),
    ...(o.ownSipAddresses !== undefined ? { ownSipAddresses: o.ownSipAddresses } : {}),
    ...(o.now !== undefined ? { now: o.now } : {}),
    ...(o.security !== undefined ? { security: o.security } : {}),
    ...(o.log !== undefined ? { log: o.log } : {}),
  });
  const { key: operatorKey } = await createOperatorKey({ redis, keys }, 'test operator');
  const h: Harness = {
    app,
    redis,
    prefix,
    operatorKey,
    call: (method, url, c = {}) => {
      const headers: Record<string, string> = { ...(c.headers ?? {}) };
      const key = c.key === undefined ? operatorKey : c.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let payload: string | undefined;
      if (c.raw !== undefined) payload = c.raw;
      else if (c.body !== undefined) payload = JSON.stringify(c.body);
      if (payload !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
      return app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
    },
    async tenant(id, extra = {}) {
      const r = await h.call('POST', '/v1/tenants', {
        body: { id, name: `Tenant ${id}`, sipDomain: `${id}.kumo.test`, ports: 100, trunkChannels: 10, callsPerSecond: 5, ...extra },
      });
      if (r.statusCode !== 201) throw new Error(`tenant create ${r.statusCode} ${r.body}`);
      // Numbers and carrier gateways are operator-owned (docs/security.md): every test tenant is
      // granted the documentation pools (03-5555-xxxx, 03-6666-xxxx, 192.0.2.0/24, 198.51.100.1–20).
      const g = await h.call('PUT', `/v1/tenants/${id}/grants`, { body: TEST_GRANTS });
      if (g.statusCode !== 200) throw new Error(`grants ${g.statusCode} ${g.body}`);
      const k = await h.call('POST', `/v1/tenants/${id}/api-keys`, { body: { name: 'admin' } });
      if (k.statusCode !== 201) throw new Error(`key create ${k.statusCode} ${k.body}`);
      return k.json<{ key: string }>().key;
    },
    async close() {
      await app.close();
      redis.disconnect();
    },
  };
  return h;
}
