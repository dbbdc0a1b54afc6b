import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMonths, buildCdr, jstMonthOf, jstMonthStartMs, rateCdr } from '@kumo/domain';
import { BillingLedger, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';

const run = promisify(execFile);
const H = 3_600_000;
let h: Harness;
let acmeKey: string;
let otherKey: string;
// Last month: complete, and its late calls are booked into this month's adjustments (read back by the report).
const month = addMonths(jstMonthOf(Date.now()), -1);
const start = jstMonthStartMs(month);
let incidentId: string;

beforeAll(async () => {
  h = await harness();
  acmeKey = await h.tenant('acme', { name: '雲商事株式会社' });
  otherKey = await h.tenant('other');
  const ledger = new BillingLedger(h.redis, keySchema(h.prefix), { closeGraceMs: 172_800_000, tariffCacheMs: 0 });
  const tariff = await ledger.tariffFor('acme');
  // Three overlapping calls on day 3 at 10:00 JST (3 ports), one on day 4 at 14:00.
  const calls = [[58, 0, 30], [58.1, 1, 20], [58.2, 2, 10], [86, 3, 5]].map(([hour, i, min]) => {
    const t = start + (hour as number) * H;
    return rateCdr(buildCdr({ tenantId: 'acme', aLegCallId: `op-${i}`, aLegFromTag: 'f', direction: 'internal', caller: { dialled: '2001', extension: '2001' }, callee: { dialled: '2002', extension: '2002' }, startedAt: t, answeredAt: t + 2000, endedAt: t + (min as number) * 60_000, finalStatus: 200 }), tariff);
  });
  await ledger.chargeBatch('acme', calls);
  const inc = await h.call('POST', '/v1/ops/incidents', {
    body: { title: '収容装置障害', start: new Date(start + 100 * H).toISOString(), detectedAt: new Date(start + 100 * H).toISOString(), end: new Date(start + 150 * H).toISOString(), cause: 'power supply', impact: { tenants: ['acme'], ports: 100, scope: 'full' } },
  });
  incidentId = inc.json<{ id: string }>().id;
  await h.call('PUT', '/v1/tenants/acme/sla-settings', { body: { monthlyFeeYen: 72_000 } });
  await h.call('POST', '/v1/tenants/acme/tickets', { body: { kind: 'fault', channel: 'phone', subject: '外線不通', body: '', reportedBy: '総務 山田', receivedAt: new Date(start + 101 * H).toISOString() } });
  await h.call('POST', '/v1/ops/works', {
    body: { title: 'ソフトウェア更新', windowStart: new Date(start + 200 * H).toISOString(), windowEnd: new Date(start + 202 * H).toISOString(), impact: 'none', tenants: 'all', notice: { ja: '影響はありません', en: 'No impact expected' } },
  });
});
afterAll(() => h.close());

describe('monthly operation report', () => {
  it('as data: availability with the incident, ports, SLA, reception log, works; tenant isolation', async () => {
    const r = await h.call('GET', `/v1/tenants/acme/reports/${month}`, { key: acmeKey });
    expect(r.statusCode).toBe(200);
    const b = r.json();
    expect(b.tenantName).toBe('雲商事株式会社');
    expect(b.availability.availability).toBeLessThan(1);
    expect(b.incidents.map((i: { id: string }) => i.id)).toEqual([incidentId]);
    expect(b.ports).toMatchObject({ peak: 3 });
    expect(b.ports.byHourOfDay[10].peak).toBe(3);
    expect(b.availability.sla).toMatchObject({ compensableHours: 50, compensationCeilingYen: 5_000 }); // 72,000 × 50 / 720
    expect(b.tickets).toHaveLength(1);
    expect(b.works).toHaveLength(1);
    expect(b.traffic).toMatchObject({ offered: 4, carried: 4, blocked: 0 });
    const other = (await h.call('GET', `/v1/tenants/other/reports/${month}`, { key: otherKey })).json();
    expect(other).toMatchObject({ incidents: [], tickets: [], ports: { peak: 0 } });
    expect(other.works).toHaveLength(1); // the work is for all tenants
    expect((await h.call('GET', `/v1/tenants/acme/reports/${month}`, { key: otherKey })).statusCode).toBe(404);
  });

  it('HTML (ja, en) with the SVG charts; CSV', async () => {
    const ja = await h.call('GET', `/v1/tenants/acme/reports/${month}/report.html`, { key: acmeKey });
    expect(ja.statusCode).toBe(200);
    expect(ja.headers['content-type']).toBe('text/html; charset=utf-8');
    for (const id of ['availability-timeline', 'ports-by-hour', 'ports-by-day']) expect(ja.body).toContain(`<svg id="${id}"`);
    expect(ja.body).toContain('運用レポート');
    expect(ja.body).toContain(incidentId);
    expect(ja.body).toContain('受付管理表');
    expect(ja.body).toContain('5,000 円');
    expect((ja.body.match(/class="outage"/g) ?? []).length).toBe(1);
    const en = await h.call('GET', `/v1/tenants/acme/reports/${month}/report.html?lang=en`, { key: acmeKey });
    expect(en.body).toContain('Operation report');
    expect(en.body).toContain('Compensation ceiling');
    const csv = await h.call('GET', `/v1/tenants/acme/reports/${month}/report.csv?lang=en`, { key: acmeKey });
    expect(csv.statusCode).toBe(200);
    expect(csv.body).toContain('Summary,Ports in use Peak,3\r\n');
    expect(csv.body).toContain(`Faults,${incidentId},`);
  });

  it('PDF printed by headless Chromium from the same HTML; its text checked with pdftotext', async () => {
    const r = await h.call('GET', `/v1/tenants/acme/reports/${month}/report.pdf`, { key: acmeKey });
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200);
    expect(r.headers['content-type']).toBe('application/pdf');
    expect(r.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    const dir = await mkdtemp(join(tmpdir(), 'kumo-report-test-'));
    try {
      await writeFile(join(dir, 'r.pdf'), r.rawPayload);
      const { stdout } = await run('pdftotext', ['-layout', join(dir, 'r.pdf'), '-']);
      expect(stdout).toContain('運用レポート');
      expect(stdout).toContain('雲商事株式会社');
      expect(stdout).toContain(incidentId);
      expect(stdout).toContain('受付管理表');
      expect(stdout).toContain('5,000 円');
      // The charts are vector graphics inside the PDF: their axis labels come through as text.
      expect(stdout).toMatch(/時間帯別使用ポート数/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
