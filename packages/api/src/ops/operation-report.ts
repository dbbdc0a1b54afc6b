/**
 * The monthly operation report (運用レポート) of one tenant: availability with the incidents behind it,
 * ports in use (peak, 95th percentile, by hour of day), registrations, the reception log (受付管理表),
 * maintenance works (工事情報), faults (障害発生情報), traffic summary and Article 33 SLA evidence.
 * Built from the stores; rendered as JSON, HTML with inline SVG charts, CSV, and PDF (headless Chromium
 * printing the same HTML). docs/operations.md, "Monthly operation report".
 */
import {
  PortUsageAccumulator,
  TrafficAccumulator,
  jstMonthEndMs,
  jstMonthStartMs,
  type PortUsage,
  type TrafficCall,
} from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import {
  IncidentStore,
  LocationStore,
  TicketStore,
  WorkStore,
  accumulateMonthTraffic,
  trafficCapacity,
  type Incident,
  type KeySchema,
  type ProvisioningRepo,
  SiteRepo,
  type RedisClient,
  type Ticket,
  type Work,
} from '@kumo/store';
import { tenantAvailability } from '../routes/incidents.js';

export type ReportLang = 'ja' | 'en';

export interface OperationReport {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly month: string;
  readonly from: number;
  readonly to: number;
  readonly generatedAt: number;
  readonly contractPorts: number;
  readonly availability: Awaited<ReturnType<typeof tenantAvailability>>['view'];
  readonly incidents: readonly Incident[];
  readonly ports: PortUsage;
  readonly registrations: { readonly extensions: number; readonly registeredNow: number };
  readonly traffic: { readonly offered: number; readonly carried: number; readonly blocked: number; readonly busyHour: string | null; readonly busyHourErlangs: number; readonly recommendedChannels: number };
  readonly tickets: readonly Ticket[];
  readonly works: readonly Work[];
  /** Periods a site's branch server served the site alone (docs/branch.md), ended in the month. */
  readonly branchPeriods: readonly { readonly siteId: string; readonly from: string; readonly to: string }[];
}

export async function buildOperationReport(redis: RedisClient, keys: KeySchema, repo: ProvisioningRepo, tenantId: string, month: string, now = Date.now()): Promise<OperationReport> {
  const tenant = await repo.tenantById(tenantId);
  if (tenant === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `tenant ${tenantId} not found`);
  const from = jstMonthStartMs(month);
  const to = jstMonthEndMs(month);
  const ports = new PortUsageAccumulator(from, to);
  const traffic = new TrafficAccumulator(from, to, tenantId);
  const sink = { add: (c: TrafficCall): void => { ports.add(c); traffic.add(c); } };
  const [availability, , capacity, tickets, works, extensions, registeredNow] = await Promise.all([
    tenantAvailability(new IncidentStore(redis, keys), tenantId, month, now),
    accumulateMonthTraffic(redis, keys, tenantId, month, sink),
    trafficCapacity(repo, tenantId),
    new TicketStore(redis, keys).listTenant(tenantId, from, to),
    new WorkStore(redis, keys).list({ from, to, tenantId }),
    repo.countExtensions(tenantId),
    new LocationStore(redis, keys).countBindings(tenantId),
  ]);
  const t = traffic.report(capacity).tenant;
  const sites = new SiteRepo(redis, keys, repo);
  const branchPeriods = (await Promise.all((await sites.list(tenantId)).map(async (site) => (await sites.periods(tenantId, site.id, from, to)).map((p) => ({ siteId: site.id, ...p }))))).flat();
  return {
    tenantId,
    tenantName: tenant.name,
    month,
    from,
    to,
    generatedAt: now,
    contractPorts: tenant.ports,
    availability: availability.view,
    incidents: availability.incidents,
    ports: ports.result(),
    registrations: { extensions, registeredNow },
    traffic: {
      offered: t.totals.offered, carried: t.totals.carried, blocked: t.totals.blocked,
      busyHour: t.busyHour?.hour ?? null, busyHourErlangs: t.busyHour?.erlangs ?? 0, recommendedChannels: t.sizing.recommendedChannels,
    },
    tickets: [...tickets].reverse(),
    works,
    branchPeriods,
  };
}

// ---- text --------------------------------------------------------------------------------------

const L = {
  ja: {
    title: '運用レポート', tenant: 'テナント', month: '対象月', generated: '作成日時', summary: 'サマリー',
    availability: 'サービス稼働率', incidents: '障害発生情報', ports: '使用ポート数', contractPorts: '契約ポート数', peak: '最大',
    p95: '95パーセンタイル', mean: '平均', byHour: '時間帯別使用ポート数 (平均・最大)', byDay: '日別最大使用ポート数', registrations: '登録状況',
    extensions: '内線数', registeredNow: '登録中の端末 (作成時点)', reception: '受付管理表', works: '工事情報', sla: 'SLA (第33条)',
    traffic: 'トラフィック', offered: '呼数', carried: '完了呼数', blocked: '呼損数', busyHour: '最繁時', recommended: '推奨回線数 (呼損率1%)',
    none: 'なし', start: '発生', detected: '検知', end: '復旧', cause: '原因', scope: '影響', full: '全面停止', partial: '一部影響',
    open: '継続中', received: '受付日時', kind: '種別', channel: '受付方法', state: '状態', subject: '件名', assignee: '担当',
    window: '実施時間帯', impact: '影響', notice: 'お知らせ', qualifies: '48時間以上', compensable: '減額対象時間', ceiling: '減額上限額', deadline: '請求期限',
    fee: '月額料金', unavailable: '利用不能時間', hours: '時間', yen: '円', timeline: '稼働状況 (月間)', hourAxis: '時', dayAxis: '日',
    kinds: { inquiry: '問合せ', fault: '故障申告', change: '変更依頼' }, channels: { phone: '電話', mail: 'メール', web: 'Web' },
    states: { new: '新規', 'in-progress': '対応中', waiting: '回答待ち', resolved: '解決', closed: '完了', scheduled: '予定', completed: '完了', cancelled: '中止' },
    impacts: { none: 'なし', partial: '一部', full: '全面' }, notSet: '未設定',
  },
  en: {
    title: 'Operation report', tenant: 'Tenant', month: 'Month', generated: 'Generated', summary: 'Summary',
    availability: 'Service availability', incidents: 'Faults', ports: 'Ports in use', contractPorts: 'Contract ports', peak: 'Peak',
    p95: '95th percentile', mean: 'Mean', byHour: 'Ports in use by hour of day (mean, peak)', byDay: 'Daily peak ports in use', registrations: 'Registrations',
    extensions: 'Extensions', registeredNow: 'Devices registered (at generation)', reception: 'Reception log', works: 'Maintenance works', sla: 'SLA (Article 33)',
    traffic: 'Traffic', offered: 'Offered calls', carried: 'Carried calls', blocked: 'Blocked calls', busyHour: 'Busy hour', recommended: 'Channels for 1 % blocking',
    none: 'None', start: 'Start', detected: 'Detected', end: 'Restored', cause: 'Cause', scope: 'Impact', full: 'Complete outage', partial: 'Partial',
    open: 'ongoing', received: 'Received', kind: 'Kind', channel: 'Channel', state: 'State', subject: 'Subject', assignee: 'Assignee',
    window: 'Window', impact: 'Impact', notice: 'Notice', qualifies: '48 h or more', compensable: 'Compensable time', ceiling: 'Compensation ceiling', deadline: 'Claim deadline',
    fee: 'Monthly fee', unavailable: 'Unavailable time', hours: 'h', yen: 'JPY', timeline: 'Availability over the month', hourAxis: 'hour', dayAxis: 'day',
    kinds: { inquiry: 'Inquiry', fault: 'Fault report', change: 'Change request' }, channels: { phone: 'Phone', mail: 'Mail', web: 'Web' },
    states: { new: 'New', 'in-progress': 'In progress', waiting: 'Waiting', resolved: 'Resolved', closed: 'Closed', scheduled: 'Scheduled', completed: 'Completed', cancelled: 'Cancelled' },
    impacts: { none: 'None', partial: 'Partial', full: 'Full' }, notSet: 'not set',
  },
} as const;

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const pad2 = (n: number): string => String(n).padStart(2, '0');
/** `YYYY-MM-DD HH:MM` in JST. */
export function jst(ms: number | null): string {
  if (ms === null) return '';
  const d = new Date(ms + 9 * 3_600_000);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
}
const pct = (x: number): string => `${(x * 100).toFixed(3)} %`;
const yen = (n: number): string => n.toLocaleString('en-US');

// ---- SVG charts --------------------------------------------------------------------------------

function barChart(id: string, title: string, labels: readonly string[], bars: readonly number[], marks: readonly number[] | null, limit: number | null): string {
  const W = 720;
  const H = 220;
  const left = 40;
  const bottom = 24;
  const top = 12;
  const max = Math.max(1, ...bars, ...(marks ?? []), limit ?? 0);
  const step = (W - left - 8) / Math.max(1, bars.length);
  const y = (v: number): number => top + (H - top - bottom) * (1 - v / max);
  const parts: string[] = [];
  parts.push(`<svg id="${id}" class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${W} ${H}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>${esc(title)}</title>`);
  parts.push(`<line x1="${left}" y1="${H - bottom}" x2="${W - 4}" y2="${H - bottom}" stroke="#888"/>`);
  for (const frac of [0.5, 1]) {
    const v = Math.round(max * frac);
    parts.push(`<text x="${left - 4}" y="${y(v) + 4}" font-size="10" text-anchor="end">${v}</text><line x1="${left}" y1="${y(v)}" x2="${W - 4}" y2="${y(v)}" stroke="#eee"/>`);
  }
  bars.forEach((v, i) => {
    const x = left + i * step + step * 0.15;
    parts.push(`<rect class="bar" x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(step * 0.7).toFixed(1)}" height="${(H - bottom - y(v)).toFixed(1)}" fill="#3b7dd8"><title>${esc(labels[i])}: ${v.toFixed(2)}</title></rect>`);
    if (marks) parts.push(`<circle class="mark" cx="${(x + step * 0.35).toFixed(1)}" cy="${y(marks[i] ?? 0).toFixed(1)}" r="3" fill="#d8453b"/>`);
    if (bars.length <= 31 || i % 2 === 0) parts.push(`<text x="${(x + step * 0.35).toFixed(1)}" y="${H - 8}" font-size="9" text-anchor="middle">${esc(labels[i])}</text>`);
  });
  if (limit !== null) parts.push(`<line class="limit" x1="${left}" y1="${y(limit)}" x2="${W - 4}" y2="${y(limit)}" stroke="#d8453b" stroke-dasharray="4 3"/>`);
  parts.push('</svg>');
  return `<figure>${parts.join('')}<figcaption>${esc(title)}</figcaption></figure>`;
}

function timelineChart(title: string, r: OperationReport): string {
  const W = 720;
  const H = 48;
  const span = r.to - r.from;
  const x = (ms: number): number => 4 + ((W - 8) * (Math.min(Math.max(ms, r.from), r.to) - r.from)) / span;
  const parts = [`<svg id="availability-timeline" class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${W} ${H}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>${esc(title)}</title>`];
  parts.push(`<rect x="4" y="8" width="${W - 8}" height="20" fill="#5cb85c"/>`);
  for (const i of r.incidents) {
    const a = x(i.start);
    const b = x(i.end ?? r.generatedAt);
    parts.push(`<rect class="outage" x="${a.toFixed(1)}" y="8" width="${Math.max(1.5, b - a).toFixed(1)}" height="20" fill="${i.impact.scope === 'full' ? '#d8453b' : '#f0ad4e'}"><title>${esc(i.id)} ${esc(i.title)}</title></rect>`);
  }
  const days = Math.round(span / 86_400_000);
  for (let d = 0; d < days; d += 5) parts.push(`<text x="${x(r.from + d * 86_400_000).toFixed(1)}" y="42" font-size="9">${d + 1}</text>`);
  parts.push('</svg>');
  return `<figure>${parts.join('')}<figcaption>${esc(title)}</figcaption></figure>`;
}

// ---- HTML --------------------------------------------------------------------------------------

export function renderOperationReportHtml(r: OperationReport, lang: ReportLang): string {
  const t = L[lang];
  const a = r.availability;
  const table = (head: readonly string[], rows: readonly (readonly string[])[]): string =>
    rows.length === 0 ? `<p class="none">${t.none}</p>` : `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
  const hod = r.ports.byHourOfDay;
  const sla = a.sla;
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>${esc(t.title)} ${esc(r.tenantName)} ${esc(r.month)}</title>
<style>
body{font-family:"Noto Sans CJK JP","IPAexGothic","Hiragino Sans",sans-serif;font-size:11pt;margin:16mm;color:#222}
h1{font-size:18pt;margin:0 0 4mm} h2{font-size:13pt;border-bottom:1px solid #3b7dd8;margin:7mm 0 3mm}
table{border-collapse:collapse;width:100%;font-size:9.5pt} th,td{border:1px solid #bbb;padding:1.5mm 2mm;text-align:left;vertical-align:top} th{background:#eef3fb}
.kv td:first-child{width:45%;background:#f7f7f7} .chart{margin:2mm 0} figure{margin:0 0 4mm} figcaption{font-size:9pt;color:#444;text-align:center} .none{color:#666} @page{size:A4;margin:0}
</style></head><body>
<h1>${esc(t.title)}</h1>
<table class="kv"><tbody>
<tr><td>${t.tenant}</td><td>${esc(r.tenantName)} (${esc(r.tenantId)})</td></tr>
<tr><td>${t.month}</td><td>${esc(r.month)}</td></tr>
<tr><td>${t.generated}</td><td>${esc(jst(r.generatedAt))} JST</td></tr>
</tbody></table>
<h2>${t.summary}</h2>
<table class="kv"><tbody>
<tr><td>${t.availability}</td><td id="availability">${pct(a.availability)}</td></tr>
<tr><td>${t.incidents}</td><td>${r.incidents.length}</td></tr>
<tr><td>${t.contractPorts}</td><td>${r.contractPorts}</td></tr>
<tr><td>${t.ports}: ${t.peak} / ${t.p95} / ${t.mean}</td><td id="ports">${r.ports.peak} / ${r.ports.p95} / ${r.ports.mean.toFixed(2)}</td></tr>
<tr><td>${t.registrations}: ${t.extensions} / ${t.registeredNow}</td><td>${r.registrations.extensions} / ${r.registrations.registeredNow}</td></tr>
<tr><td>${t.traffic}: ${t.offered} / ${t.carried} / ${t.blocked}</td><td>${r.traffic.offered} / ${r.traffic.carried} / ${r.traffic.blocked}</td></tr>
<tr><td>${t.busyHour}</td><td>${esc(r.traffic.busyHour ?? '-')} (${r.traffic.busyHourErlangs.toFixed(2)} E)</td></tr>
<tr><td>${t.recommended}</td><td>${r.traffic.recommendedChannels}</td></tr>
<tr><td>${t.reception}</td><td>${r.tickets.length}</td></tr>
<tr><td>${t.works}</td><td>${r.works.length}</td></tr>
</tbody></table>
<h2>${t.timeline}</h2>
${timelineChart(t.timeline, r)}
<h2>${t.ports}</h2>
${barChart('ports-by-hour', t.byHour, hod.map((h) => `${h.hour}`), hod.map((h) => h.mean), hod.map((h) => h.peak), null)}
${barChart('ports-by-day', t.byDay, r.ports.byDay.map((d) => d.date.slice(8)), r.ports.byDay.map((d) => d.peak), null, r.contractPorts)}
<h2>${t.incidents}</h2>
${table([t.start, t.detected, t.end, t.scope, t.subject, t.cause], r.incidents.map((i) => [jst(i.start), jst(i.detectedAt), i.end === null ? t.open : jst(i.end), i.impact.scope === 'full' ? t.full : t.partial, `${i.id} ${i.title}`, i.cause]))}
<h2>${t.sla}</h2>
<table class="kv"><tbody>
<tr><td>${t.fee}</td><td>${sla.monthlyFeeYen === null ? t.notSet : `${yen(sla.monthlyFeeYen)} ${t.yen}`}</td></tr>
<tr><td>${t.unavailable}</td><td>${(sla.unavailableSeconds / 3600).toFixed(2)} ${t.hours}</td></tr>
<tr><td>${t.compensable}</td><td>${sla.compensableHours} ${t.hours}</td></tr>
<tr><td>${t.ceiling}</td><td id="sla-ceiling">${sla.compensationCeilingYen === null ? t.notSet : `${yen(sla.compensationCeilingYen)} ${t.yen}`}</td></tr>
<tr><td>${t.deadline}</td><td>${esc(sla.claimDeadline ?? '-')}</td></tr>
</tbody></table>
${table([t.start, t.end, t.unavailable, t.qualifies], sla.runs.map((x) => [jst(Date.parse(x.from)), x.open ? t.open : jst(Date.parse(x.to)), `${(x.durationSeconds / 3600).toFixed(2)} ${t.hours}`, x.qualifies ? '✔' : '']))}
<h2>${t.reception}</h2>
${table([t.received, t.kind, t.channel, t.state, t.subject, t.assignee], r.tickets.map((k) => [jst(k.receivedAt), t.kinds[k.kind], t.channels[k.channel], t.states[k.state], `${k.id} ${k.subject}`, k.assignee ?? '']))}
<h2>${t.works}</h2>
${table([t.window, t.impact, t.state, t.subject, t.notice], r.works.map((w) => [`${jst(w.windowStart)} – ${jst(w.windowEnd)}`, t.impacts[w.impact], t.states[w.state], `${w.id} ${w.title}`, w.notice[lang]]))}
</body></html>
`;
}

// ---- CSV ---------------------------------------------------------------------------------------

export function renderOperationReportCsv(r: OperationReport, lang: ReportLang): string {
  const t = L[lang];
  const c = (v: string | number | null): string => {
    const s = String(v ?? '');
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const rows: string[] = [[lang === 'ja' ? '区分' : 'section', lang === 'ja' ? '項目' : 'item', lang === 'ja' ? '値' : 'value', '', '', '', ''].join(',')];
  const row = (...cells: (string | number | null)[]): void => void rows.push(cells.map(c).join(','));
  row(t.summary, t.tenant, r.tenantId);
  row(t.summary, t.month, r.month);
  row(t.summary, t.availability, r.availability.availability.toFixed(6));
  row(t.summary, t.contractPorts, r.contractPorts);
  row(t.summary, `${t.ports} ${t.peak}`, r.ports.peak);
  row(t.summary, `${t.ports} ${t.p95}`, r.ports.p95);
  row(t.summary, `${t.ports} ${t.mean}`, r.ports.mean.toFixed(3));
  row(t.summary, t.extensions, r.registrations.extensions);
  row(t.summary, t.registeredNow, r.registrations.registeredNow);
  row(t.summary, t.offered, r.traffic.offered);
  row(t.summary, t.carried, r.traffic.carried);
  row(t.summary, t.blocked, r.traffic.blocked);
  row(t.summary, t.busyHour, r.traffic.busyHour ?? '');
  row(t.summary, t.recommended, r.traffic.recommendedChannels);
  for (const h of r.ports.byHourOfDay) row(t.byHour, `${h.hour}${lang === 'ja' ? '時' : ':00'}`, h.mean.toFixed(3), h.peak);
  for (const d of r.ports.byDay) row(t.byDay, d.date, d.peak);
  for (const i of r.incidents) row(t.incidents, i.id, i.title, jst(i.start), jst(i.detectedAt), i.end === null ? t.open : jst(i.end), i.impact.scope === 'full' ? t.full : t.partial);
  const sla = r.availability.sla;
  row(t.sla, t.fee, sla.monthlyFeeYen ?? '');
  row(t.sla, t.compensable, sla.compensableHours);
  row(t.sla, t.ceiling, sla.compensationCeilingYen ?? '');
  row(t.sla, t.deadline, sla.claimDeadline ?? '');
  for (const k of r.tickets) row(t.reception, k.id, jst(k.receivedAt), t.kinds[k.kind], t.channels[k.channel], t.states[k.state], k.subject);
  for (const w of r.works) row(t.works, w.id, w.title, jst(w.windowStart), jst(w.windowEnd), t.impacts[w.impact], t.states[w.state]);
  return `${rows.join('\r\n')}\r\n`;
}
