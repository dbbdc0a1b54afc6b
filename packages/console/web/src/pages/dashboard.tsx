import type { JSX } from 'preact';
import { api, tpath } from '../api.ts';
import { fmtDate, fmtNum, t } from '../i18n.ts';
import type { PageProps } from '../session.ts';
import { ErrorBox, Section, useLoad } from '../ui.tsx';

function Meter(p: { label: string; value: number; max?: number; testid: string }): JSX.Element {
  const pct = p.max !== undefined && p.max > 0 ? Math.min(100, Math.round((p.value / p.max) * 100)) : null;
  return (
    <div class="stat" data-testid={p.testid}>
      <span class="stat-label">{p.label}</span>
      <span class="stat-value">
        {fmtNum(p.value)}
        {p.max !== undefined && <small> / {fmtNum(p.max)}</small>}
      </span>
      {pct !== null && <progress max={100} value={pct} aria-label={`${p.label} ${pct}%`} />}
    </div>
  );
}

export function Dashboard({ tenantId, live }: PageProps): JSX.Element {
  const [month, error] = useLoad(() => api<{ main: { calls: number } }>('GET', tpath(tenantId, '/billing/months/current')), [tenantId]);
  const [events] = useLoad(() => api<{ items: { id: string; type: string; at: string; fields: Record<string, string> }[] }>('GET', tpath(tenantId, '/admission/events?limit=10')), [tenantId]);
  const u = live.usage;
  return (
    <>
      <p class={live.connected ? 'live on' : 'live'} role="status">
        {live.connected ? t('live') : t('offline')}
      </p>
      <ErrorBox error={error} />
      {u !== null && (
        <div class="stats">
          <Meter testid="ports-in-use" label={t('portsInUse')} value={u.activeCalls} max={u.ports} />
          <Meter testid="extensions-count" label={t('extensionsProvisioned')} value={u.extensions} max={u.ports} />
          <Meter testid="registered-count" label={t('registered')} value={u.registeredExtensions} max={u.extensions} />
          <Meter testid="active-calls" label={t('activeCalls')} value={u.activeCalls} />
          <Meter testid="trunk-calls" label={t('trunkCalls')} value={u.trunkCalls} />
          {month !== null && <Meter testid="month-calls" label={t('todayCalls')} value={month.main.calls} />}
        </div>
      )}
      <Section title={t('alerts')} id="alerts">
        {events === null || events.items.length === 0 ? (
          <p>{t('none')}</p>
        ) : (
          <ul data-testid="alerts">
            {events.items.map((e) => (
              <li key={e.id}>
                {fmtDate(e.at)} — <strong>{e.type}</strong> {Object.entries(e.fields).map(([k, v]) => `${k}=${v}`).join(' ')}
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title={t('inCallNow')} id="incall">
        {live.inCall.length === 0 ? (
          <p>{t('none')}</p>
        ) : (
          <ul class="chips" data-testid="in-call">
            {live.inCall.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        )}
      </Section>
    </>
  );
}
