import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());

describe('OpenAPI document', () => {
  it('is OpenAPI 3, resolves every $ref, documents errors and never exposes secrets', async () => {
    const doc = (await h.call('GET', '/docs/json', { key: null })).json();
    expect(doc.openapi).toMatch(/^3\./);
    const text = JSON.stringify(doc);
    const refs = [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const r of new Set(refs)) expect(doc.components.schemas).toHaveProperty(r);
    expect(doc.paths['/v1/tenants/{tenantId}/extensions'].post.responses).toHaveProperty('409');
    // Passwords only appear in request bodies; response schemas never list HA1s or passwords.
    for (const [path, ops] of Object.entries<Record<string, { responses?: unknown }>>(doc.paths)) {
      for (const op of Object.values(ops)) expect(JSON.stringify(op.responses ?? {}), path).not.toMatch(/"(password|ha1Md5|ha1Sha256)"/);
    }
  });
});

describe('OpenAPI: one update model', () => {
  it('every item resource has PUT and PATCH; each PATCH body says it is a merge patch and has examples', async () => {
    const doc = (await h.call('GET', '/docs/json', { key: null })).json();
    const items = ['extensions/{number}', 'ring-groups/{number}', 'pickup-groups/{id}', 'trunks/{id}', 'dids/{number}', 'sites/{siteId}'].map((p) => `/v1/tenants/{tenantId}/${p}`);
    for (const path of [...items, '/v1/tenants/{tenantId}/numbering-plan']) {
      expect(doc.paths[path], path).toHaveProperty('put');
      const media = doc.paths[path].patch.requestBody.content['application/json'];
      expect(media.schema.description, path).toMatch(/JSON Merge Patch \(RFC 7396\)/);
      expect(Object.keys(media.examples ?? {}).length, path).toBeGreaterThan(0);
    }
    const ext = doc.paths['/v1/tenants/{tenantId}/extensions/{number}'].patch.requestBody.content['application/json'].schema;
    expect(ext.description).toContain('{"forwarding":{"noAnswer":null}}');
  });
});
