/**
 * A 200-extension office provisioned through the API only — tenant, numbering plan,
 * extensions, ring groups of every strategy, pickup groups, forwarding, two trunks, DIDs —
 * using every update verb (POST, PUT, PATCH, DELETE), then read back and compared exactly
 * with what the admin meant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryRepo, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let key: string;
const T = '/v1/tenants/office';

type Json = Record<string, unknown>;

async function ok(method: string, path: string, body?: unknown, status = method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200): Promise<Json> {
  const r = await h.call(method, `${T}${path}`, { key, ...(body !== undefined ? { body } : {}) });
  if (r.statusCode !== status) throw new Error(`${method} ${path} → ${r.statusCode} ${r.body}`);
  return r.statusCode === 204 ? {} : r.json<Json>();
}

/** Every item of a list, following `next` with small pages. */
async function all(path: string): Promise<Json[]> {
  const out: Json[] = [];
  let after: string | null = null;
  do {
    const page = await ok('GET', `${path}?limit=37${after !== null ? `&after=${encodeURIComponent(after)}` : ''}`);
    out.push(...(page.items as Json[]));
    after = page.next as string | null;
  } while (after !== null);
  return out;
}

const strip = (x: Json): Json => {
  const { createdAt: _c, updatedAt: _u, ...rest } = x;
  return rest;
};

const DEPARTMENTS = ['営業部', '総務部', '経理部', '開発部', 'サポート', '人事部', '広報部', '法務部', '購買部', '品質保証'];
const number = (i: number): string => String(2000 + i);

// What the admin means the office to be, kept alongside the calls.
const extensions = new Map<string, Json>();
const ringGroups = new Map<string, Json>();
const pickupGroups = new Map<string, Json>();
const trunks = new Map<string, Json>();
const dids = new Map<string, Json>();

beforeAll(async () => {
  h = await harness({ security: { tenantWriteBurst: 2000, tenantWriteRate: 1000 } });
  key = await h.tenant('office', { ports: 200, trunkChannels: 20 });
});
afterAll(() => h.close());

describe('a 200-extension office through the API only', () => {
  it('builds the office with every resource and every update verb', async () => {
    // Tenant (operator): PATCH the contract and notes.
    const ten = await h.call('PATCH', T, { body: { notes: '本社 3F/4F', callsPerSecond: 10 } });
    expect(ten.json()).toMatchObject({ ports: 200, trunkChannels: 20, callsPerSecond: 10, notes: '本社 3F/4F' });

    // Numbers and carrier gateways are the operator's to assign (docs/security.md): grant what the office routes.
    const grant = await h.call('PUT', `${T}/grants`, {
      body: { blocks: [{ first: '0312345000', count: 10 }, { first: '0355550100', count: 10 }], gateways: ['192.0.2.81', '192.0.2.82', 'sbc.carrier.example', '198.51.100.7'] },
    });
    expect(grant.statusCode, grant.body).toBe(200);

    // Numbering plan: PATCH (merge), then PUT (replace) back to the defaults but the pickup code.
    await ok('PATCH', '/numbering-plan', { featureCodes: { pickup: '*9' } });
    await ok('PUT', '/numbering-plan', { extensionLength: 4, featureCodes: { pickup: '*8', directedPickup: '**' } });

    // 200 extensions (the contract's every port).
    for (let i = 0; i < 200; i++) {
      const n = number(i);
      const dept = DEPARTMENTS[i % 10] ?? '';
      const body = {
        number: n,
        displayName: `社員 ${n}`,
        password: `pw-${n}-secret`,
        department: dept,
        permissionClass: i % 50 === 0 ? 'international' : i % 5 === 0 ? 'mobile' : 'national',
        device: { mac: `00:11:22:33:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, model: 'KX-HDV130', location: i < 100 ? '3F' : '4F' },
      };
      await ok('POST', '/extensions', body);
      const { password: _p, ...rest } = body;
      extensions.set(n, { ...rest, callerIdPresentation: 'allowed', noAnswerTimeoutSec: 30, forwarding: {} });
    }
    const full = await h.call('POST', `${T}/extensions`, { key, body: { number: '2999', displayName: 'x', password: 'password1' } });
    expect(full.json().code).toBe('KUMO_ERR_PORT_LIMIT');

    // Ring groups: one of each strategy; the last overflows to the first.
    const strategies = ['ring-all', 'sequential', 'round-robin', 'longest-idle'] as const;
    for (const [i, strategy] of strategies.entries()) {
      const g = { number: String(600 + i), name: `${DEPARTMENTS[i]} 代表`, strategy, members: [0, 1, 2, 3].map((k) => ({ extension: number(i * 10 + k), timeoutSec: 15 + k })), totalTimeoutSec: 60 };
      await ok('POST', '/ring-groups', { ...g, ...(i === 3 ? { overflow: '600' } : {}) });
      ringGroups.set(g.number, { ...g, ...(i === 3 ? { overflow: '600' } : {}) });
    }
    // PATCH: rename and drop the overflow; PUT: replace members and strategy.
    await ok('PATCH', '/ring-groups/603', { name: '開発部 代表 (夜間)', overflow: null });
    ringGroups.set('603', { ...ringGroups.get('603'), name: '開発部 代表 (夜間)' });
    delete ringGroups.get('603')?.overflow;
    await ok('PUT', '/ring-groups/602', { name: '経理部 代表', strategy: 'sequential', members: [{ extension: number(20) }, { extension: number(21) }] });
    ringGroups.set('602', { number: '602', name: '経理部 代表', strategy: 'sequential', members: [{ extension: number(20), timeoutSec: 20 }, { extension: number(21), timeoutSec: 20 }], totalTimeoutSec: 60 });

    // Pickup groups, one per department; PATCH a name, PUT a member list.
    for (const [d, name] of DEPARTMENTS.entries()) {
      const members = Array.from({ length: 20 }, (_, k) => number(k * 10 + d));
      await ok('POST', '/pickup-groups', { id: `dept${d}`, name, members });
      pickupGroups.set(`dept${d}`, { id: `dept${d}`, name, members });
    }
    await ok('PATCH', '/pickup-groups/dept0', { name: '営業部 (東京)' });
    pickupGroups.set('dept0', { ...pickupGroups.get('dept0'), name: '営業部 (東京)' });
    await ok('PUT', '/pickup-groups/dept9', { name: '品質保証', members: [number(9), number(19)] });
    pickupGroups.set('dept9', { id: 'dept9', name: '品質保証', members: [number(9), number(19)] });

    // Forwarding: PATCH merges by kind; PUT replaces the whole extension.
    await ok('PATCH', `/extensions/${number(0)}`, { forwarding: { noAnswer: '600' } });
    await ok('PATCH', `/extensions/${number(0)}`, { forwarding: { busy: number(1) }, department: '営業部 (課長)' });
    extensions.set(number(0), { ...extensions.get(number(0)), department: '営業部 (課長)', forwarding: { noAnswer: '600', busy: number(1) } });
    await ok('PATCH', `/extensions/${number(2)}`, { forwarding: { unconditional: '0312345678' }, callerIdPresentation: 'restricted', outboundCallerId: '03-1234-5001' });
    extensions.set(number(2), { ...extensions.get(number(2)), forwarding: { unconditional: '0312345678' }, callerIdPresentation: 'restricted', outboundCallerId: '+81312345001' });
    await ok('PUT', `/extensions/${number(199)}`, { displayName: '受付', department: '総務部', noAnswerTimeoutSec: 20, forwarding: { noAnswer: '601' } });
    extensions.set(number(199), { number: number(199), displayName: '受付', department: '総務部', noAnswerTimeoutSec: 20, forwarding: { noAnswer: '601' }, permissionClass: 'national', callerIdPresentation: 'allowed', device: {} });

    // Two trunks: POST both, PATCH one (merge), PUT the other (replace).
    await ok('POST', '/trunks', {
      id: 'ntt', name: 'NTT ひかり電話', channelLimit: 16, numberFormat: 'national', callerId: '03-1234-5000', emergency: true,
      gateways: [{ host: '192.0.2.81', priority: 10 }, { host: '192.0.2.82', priority: 20 }],
      registration: { username: '0312345000', password: 'carrier-secret', expiresSec: 3600 },
    });
    await ok('PATCH', '/trunks/ntt', { registration: { expiresSec: 600 }, callerName: 'fixed', callerNameFixed: '株式会社オフィス' });
    trunks.set('ntt', {
      id: 'ntt', name: 'NTT ひかり電話', channelLimit: 16, numberFormat: 'national', callerId: '+81312345000', roles: ['ordinary', 'emergency'], emergency: true, callerName: 'fixed', callerNameFixed: '株式会社オフィス',
      gateways: [{ host: '192.0.2.81', port: 5060, transport: 'udp', priority: 10 }, { host: '192.0.2.82', port: 5060, transport: 'udp', priority: 20 }],
      registration: { username: '0312345000', expiresSec: 600 },
    });
    await ok('POST', '/trunks', { id: 'ipv', name: 'IP 事業者', channelLimit: 4, gateways: [{ host: 'sbc.carrier.example', transport: 'tls' }] });
    await ok('PUT', '/trunks/ipv', { name: 'IP 事業者 (予備)', channelLimit: 4, numberFormat: 'e164', gateways: [{ host: '198.51.100.7', port: 5080, transport: 'tcp', priority: 5 }] });
    trunks.set('ipv', { id: 'ipv', name: 'IP 事業者 (予備)', channelLimit: 4, numberFormat: 'e164', roles: ['ordinary'], emergency: false, callerName: 'none', gateways: [{ host: '198.51.100.7', port: 5080, transport: 'tcp', priority: 5 }] });

    // DIDs to groups and extensions; PATCH a description, PUT another's target.
    for (let i = 0; i < 10; i++) {
      const target = i < 4 ? { type: 'ringGroup', number: String(600 + i) } : { type: 'extension', number: number(100 + i) };
      await ok('POST', '/dids', { number: `03-5555-01${String(i).padStart(2, '0')}`, target, description: `DID ${i}` });
      dids.set(`+8135555010${i}`, { number: `+8135555010${i}`, target, description: `DID ${i}` });
    }
    await ok('PATCH', '/dids/0355550100', { description: '代表番号' });
    dids.set('+81355550100', { ...dids.get('+81355550100'), description: '代表番号' });
    await ok('PUT', '/dids/%2B81355550109', { target: { type: 'extension', number: number(150) } });
    dids.set('+81355550109', { number: '+81355550109', target: { type: 'extension', number: number(150) }, description: '' });

    // DELETE: a DID, a pickup group, and an extension that is in a ring group and a pickup group (cascade).
    await ok('DELETE', '/dids/0355550108');
    dids.delete('+81355550108');
    await ok('DELETE', '/pickup-groups/dept8');
    pickupGroups.delete('dept8');
    await ok('DELETE', `/extensions/${number(3)}`);
    extensions.delete(number(3));
    ringGroups.set('600', { ...ringGroups.get('600'), members: (ringGroups.get('600')?.members as Json[]).filter((m) => m.extension !== number(3)) });
    pickupGroups.set('dept3', { ...pickupGroups.get('dept3'), members: (pickupGroups.get('dept3')?.members as string[]).filter((m) => m !== number(3)) });
  });

  it('reads the office back exactly', async () => {
    expect((await all('/extensions')).map(strip)).toEqual([...extensions.values()].sort((a, b) => String(a.number).localeCompare(String(b.number))));
    expect((await all('/ring-groups')).map(strip)).toEqual([...ringGroups.values()]);
    expect((await all('/pickup-groups')).map(strip)).toEqual([...pickupGroups.values()].sort((a, b) => String(a.id).localeCompare(String(b.id))));
    expect((await all('/trunks')).map(strip)).toEqual([trunks.get('ipv'), trunks.get('ntt')]);
    expect((await all('/dids')).map(strip)).toEqual([...dids.values()].sort((a, b) => String(a.number).localeCompare(String(b.number))));
    expect(await ok('GET', '/numbering-plan')).toEqual({ extensionLength: 4, outsideLinePrefix: '0', featureCodes: { pickup: '*8', directedPickup: '**' } });
    // Secrets never come back; the registration password was kept through the PATCH.
    const text = JSON.stringify(await all('/trunks')) + JSON.stringify(await all('/extensions'));
    expect(text).not.toMatch(/secret|ha1/);
    expect((await new DirectoryRepo(h.redis, keySchema(h.prefix)).trunk('office', 'ntt'))?.registration?.password).toBe('carrier-secret');
    expect(extensions.size).toBe(199);
  });
});
