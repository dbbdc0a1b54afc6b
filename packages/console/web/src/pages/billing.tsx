import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, tpath, type Page } from '../api.ts';
import { fmtDate, fmtMinor, fmtNum, fmtYen, lang, t, tokyoMonth } from '../i18n.ts';
import type { PageProps } from '../session.ts';
import { ErrorBox, JsonEditor, Loading, MonthPicker, Section, useConfirm, useLoad } from '../ui.tsx';

export function Ledgers({ tenantId }: PageProps): JSX.Element {
  const l = lang();
  const ledgers = [
    ['equipment', t('ledgerEquipment')],
    ['extensions', t('ledgerExtensions')],
    ['trunks', t('ledgerTrunks')],
  ] as const;
  return (
    <ul class="downloads">
      {ledgers.map(([name, label]) => (
        <li key={name}>
          <span>{label}</span>
          <a class="button" data-testid={`ledger-${name}-utf8`} href={tpath(tenantId, `/ledgers/${name}.csv?encoding=utf-8&lang=${l}`)} download aria-label={`${label} UTF-8 ${t('download')}`}>
            UTF-8
          </a>
          <a class="button" data-testid={`ledger-${name}-sjis`} href={tpath(tenantId, `/ledgers/${name}.csv?encoding=shift_jis&lang=${l}`)} download aria-label={`${label} Shift_JIS ${t('download')}`}>
            Shift_JIS
          </a>
        </li>
      ))}
    </ul>
  );
}

interface Row {
  key: string;
  calls: number;
  answered: number;
  seconds: number;
  charge: number;
}
interface Report {
  month: string;
  status: string;
  main: { calls: number; answered: number; seconds: number; charge: number; byClass: Row[]; byDepartment: Row[] };
  subtotalYen: number;
  taxYen: number;
  totalYen: number;
}
interface Call {
  cdrId: string;
  startedAt: number;
  calleeDialled: string;
  extension: string | null;
  billableSeconds: number;
  disposition: string;
  charge: number;
}

/** Horizontal bars in SVG (no chart library): one bar per row, labelled, with a text alternative. */
function BarChart({ rows, title }: { rows: Row[]; title: string }): JSX.Element {
  const max = Math.max(1, ...rows.map((r) => r.charge));
  const h = 28;
  return (
    <figure class="chart" data-testid="chart">
      <svg viewBox={`0 0 600 ${Math.max(1, rows.length) * h + 10}`} role="img" aria-label={title} width="100%">
        {rows.map((r, i) => (
          <g key={r.key} transform={`translate(0 ${i * h + 5})`}>
            <text x="0" y="17" class="chart-label">
              {r.key}
            </text>
            <rect x="150" y="4" height="18" width={Math.max(2, (r.charge / max) * 330)} class="chart-bar" />
            <text x={160 + Math.max(2, (r.charge / max) * 330)} y="17" class="chart-value">
              {fmtMinor(r.charge)}
            </text>
          </g>
        ))}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

/** The tenant's tariff: the effective prices for everyone; operators edit or remove the tenant's override. */
function TenantTariff({ tenantId, operator }: { tenantId: string; operator: boolean }): JSX.Element {
  const [tariff, error, reload] = useLoad(() => api<{ platform: unknown; override: unknown; effective: unknown }>('GET', tpath(tenantId, '/billing/tariff')), [tenantId]);
  const [confirmEl, confirm] = useConfirm();
  const [opError, setOpError] = useState<unknown>(null);
  if (tariff === null) return error === null ? <Loading /> : <ErrorBox error={error} />;
  return (
    <Section title={t('tenantTariff')} id="tenant-tariff">
      {confirmEl}
      <ErrorBox error={opError} />
      <details>
        <summary>{t('effectiveTariff')}</summary>
        <pre class="pre" data-testid="effective-tariff">{JSON.stringify(tariff.effective, null, 2)}</pre>
      </details>
      {operator && (
        <>
          <JsonEditor id="tariff-override" label={t('tariffOverride')} value={tariff.override ?? {}} confirmText={t('tariffOverride')} save={(b) => api('PUT', tpath(tenantId, '/billing/tariff'), b)} onDone={reload} />
          {tariff.override !== null && (
            <button
              type="button"
              class="danger"
              onClick={() => confirm(t('confirmDelete', { what: t('tariffOverride') }), () => void api('DELETE', tpath(tenantId, '/billing/tariff')).then(reload, setOpError))}
            >
              {t('removeOverride')}
            </button>
          )}
        </>
      )}
    </Section>
  );
}

export function Billing({ tenantId, session }: PageProps): JSX.Element {
  const months = Array.from({ length: 12 }, (_, i) => tokyoMonth(-i));
  const [month, setMonth] = useState(months[0]!);
  const [report, error] = useLoad(() => api<Report>('GET', tpath(tenantId, `/billing/months/${month}`)), [tenantId, month]);
  const [calls] = useLoad(() => api<Page<Call>>('GET', tpath(tenantId, `/billing/months/${month}/calls?limit=100`)), [tenantId, month]);
  const l = lang();
  return (
    <>
      <div class="row">
        <MonthPicker value={month} onChange={setMonth} months={months} />
        <a class="button" href={tpath(tenantId, `/billing/months/${month}/report.csv?encoding=${l === 'ja' ? 'shift_jis' : 'utf-8'}&lang=${l}`)} download data-testid="report-csv">
          {t('reportCsv')}
        </a>
        <a class="button" href={tpath(tenantId, `/billing/months/${month}/calls.csv?encoding=${l === 'ja' ? 'shift_jis' : 'utf-8'}&lang=${l}`)} download>
          {t('callsCsv')}
        </a>
      </div>
      <ErrorBox error={error} />
      {report === null ? (
        error === null && <Loading />
      ) : (
        <>
          <dl class="stats" data-testid="billing-totals">
            <div class="stat">
              <dt>{t('calls')}</dt>
              <dd>{fmtNum(report.main.calls)}</dd>
            </div>
            <div class="stat">
              <dt>{t('status')}</dt>
              <dd>{report.status}</dd>
            </div>
            <div class="stat">
              <dt>{t('subtotal')}</dt>
              <dd>{fmtYen(report.subtotalYen)}</dd>
            </div>
            <div class="stat">
              <dt>{t('tax')}</dt>
              <dd>{fmtYen(report.taxYen)}</dd>
            </div>
            <div class="stat">
              <dt>{t('total')}</dt>
              <dd>{fmtYen(report.totalYen)}</dd>
            </div>
          </dl>
          <BarChart rows={report.main.byClass} title={t('chargeByClass')} />
          {report.main.byDepartment.length > 0 && <BarChart rows={report.main.byDepartment} title={t('chargeByDepartment')} />}
        </>
      )}
      <Section title={t('callList')} id="calls">
        {calls === null ? (
          <Loading />
        ) : calls.items.length === 0 ? (
          <p>{t('empty')}</p>
        ) : (
          <div class="table-wrap">
            <table data-testid="calls">
              <thead>
                <tr>
                  <th scope="col">{t('startedAt')}</th>
                  <th scope="col">{t('extension')}</th>
                  <th scope="col">{t('callee')}</th>
                  <th scope="col">{t('duration')}</th>
                  <th scope="col">{t('charge')}</th>
                </tr>
              </thead>
              <tbody>
                {calls.items.map((c) => (
                  <tr key={c.cdrId}>
                    <td>{fmtDate(c.startedAt)}</td>
                    <td>{c.extension ?? ''}</td>
                    <td>{c.calleeDialled}</td>
                    <td>{fmtNum(c.billableSeconds)}</td>
                    <td>{fmtMinor(c.charge)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <TenantTariff tenantId={tenantId} operator={session.user.role === 'operator'} />
    </>
  );
}
