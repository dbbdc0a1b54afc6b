import { inject } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createRedis, keySchema, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import { buildApp, createOperatorKey, type ApiDeps } from '@kumo/api';

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

export async function harness(o: { bodyLimit?: number; security?: ApiDeps['security']; log?: ApiDeps['log'] } = {}): Promise<Harness> {
  const redis = createRedis(inject('redisUrl'));
  const prefix = uniquePrefix('api');
  const keys = keySchema(prefix);
  const app = await buildApp({
    redis,
    keys,
    ...(o.bodyLimit !== undefined ? { bodyLimit: o.bodyLimit } : {}),
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
