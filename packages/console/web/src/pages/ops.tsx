/**
 * Operations pages (issue 14's API): incidents and availability, help-desk tickets, maintenance
 * works, the operation and traffic reports, configuration history. Tenant pages read the tenant's
 * own; operator pages (`Op…`) see every tenant and make the changes.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { TICKET_CHANNELS, TICKET_KINDS, TICKET_STATES, WORK_IMPACTS, WORK_STATES } from '@kumo/domain';
import { api, tpath } from '../api.ts';
import { fmtDate, fmtNum, fmtYen, lang, opts, t, word } from '../i18n.ts';
import type { PageProps } from '../session.ts';
import { DataTable, ErrorBox, FormCard, fromIsoJst, type Column, Loading, useMonth, Notice, Section, toIsoJst, useConfirm, useForm, useLoad, type FieldSpec, useCursor } from '../ui.tsx';

const pct = (x: number): string => `${(x * 100).toFixed(3)} %`;
const tenantsText = (v: 'all' | string[]): string => (v === 'all' ? t('allTenants') : v.join(', '));
const nonEmpty = (s: string | undefined): boolean => s !== undefined && s.trim() !== '';

// ---- incidents --------------------------------------------------------------------------------------

interface Incident {
  id: string;
  title: string;
  origin: string;
  state: 'open' | 'resolved';
  start: string;
  detectedAt: string;
  end: string | null;
  cause: string;
  actions: { at: string; by: string; text: string }[];
  impact: { tenants: 'all' | string[]; scope: 'full' | 'partial'; ports?: number | null };
  attributable: boolean;
}
interface Availability {
  month: string;
  from: string;
  to: string;
  availability: number;
  periods: { incidentId: string; title: string; scope: string; from: string; to: string; end: string | null }[];
  sla: { monthlyFeeYen: number | null; unavailableSeconds: number; compensableHours: number; compensationCeilingYen: number | null; claimDeadline: string | null };
}

function IncidentTable({ items, operator, onPick }: { items: Incident[]; operator: boolean; onPick?: (i: Incident) => void }): JSX.Element {
  const cols: Column<Incident>[] = [
    { label: t('id'), cell: (i) => (onPick !== undefined ? <button type="button" onClick={() => onPick(i)} aria-label={`${t('edit')} ${i.id}`}>{i.id}</button> : i.id) },
    { label: t('title'), cell: (i) => <>{i.title}{i.cause !== '' && <div class="muted">{i.cause}</div>}</> },
    { label: t('status'), cell: (i) => word('incident_', i.state) },
    { label: t('incidentStart'), cell: (i) => fmtDate(i.start) },
    { label: t('incidentEnd'), cell: (i) => fmtDate(i.end) },
    { label: t('scope'), cell: (i) => word('scope_', i.impact.scope) },
    ...(operator ? [{ label: t('tenants'), cell: (i: Incident) => tenantsText(i.impact.tenants) }] : []),
    {
      label: t('incidentActions'),
      cell: (i) => (
        <ul class="plain">
          {i.actions.map((a, n) => (
            <li key={n}>
              {fmtDate(a.at)} {a.text}
            </li>
          ))}
        </ul>
      ),
    },
  ];
  return <DataTable label={t('incidents')} testid="incidents" cols={cols} rows={items} rowKey={(i) => i.id} rowAttrs={(i) => ({ 'data-testid': `incident-${i.id}`, 'data-state': i.state })} />;
}

/** The month as a bar: unavailable periods in red over the month (SVG, with a text alternative). */
function Timeline({ a }: { a: Availability }): JSX.Element {
  const from = Date.parse(a.from);
  const span = Math.max(1, Date.parse(a.to) - from);
  const x = (iso: string): number => Math.min(600, Math.max(0, ((Date.parse(iso) - from) / span) * 600));
  const label = `${t('availability')} ${a.month}: ${pct(a.availability)}`;
  return (
    <figure class="chart" data-testid="timeline">
      <svg viewBox="0 0 600 30" role="img" aria-label={label} width="100%">
        <rect x="0" y="5" width="600" height="20" class="tl-future" />
        <rect x="0" y="5" width={x(new Date().toISOString())} height="20" class="tl-ok" />
        {a.periods.map((p) => (
          <rect key={p.incidentId} x={x(p.from)} y="5" width={Math.max(2, x(p.to) - x(p.from))} height="20" class={p.scope === 'full' ? 'tl-down' : 'tl-partial'} />
        ))}
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}

/** The monthly fee Article 33 compensation is based on (operators set it). */
function SlaFee({ tenantId, fee, onDone }: { tenantId: string; fee: number | null; onDone: () => void }): JSX.Element {
  const fields: FieldSpec[] = [{ name: 'monthlyFeeYen', label: t('monthlyFee'), inputMode: 'numeric' }];
  const form = useForm<{ monthlyFeeYen: number | null }>({
    fields,
    initial: { monthlyFeeYen: fee === null ? '' : String(fee) },
    toBody: (f) => ({ monthlyFeeYen: nonEmpty(f['monthlyFeeYen']) ? Number(f['monthlyFeeYen']) : null }),
    check: (b) => (b.monthlyFeeYen === null || (Number.isInteger(b.monthlyFeeYen) && b.monthlyFeeYen >= 0) ? { ok: true } : { ok: false, problems: [{ field: 'monthlyFeeYen', message: 'must be an integer between 0 and 1000000000000' }] }),
    submit: (b) => api('PUT', tpath(tenantId, '/sla-settings'), b),
    onDone,
    doneNote: t('saved'),
  });
  return <FormCard form={form} fields={fields} prefix="sla-" label={t('monthlyFee')} submitLabel={t('save')} />;
}

export function Incidents({ tenantId, session }: PageProps): JSX.Element {
  const [month, monthRow] = useMonth();
  const [list, error] = useLoad(() => api<{ items: Incident[] }>('GET', tpath(tenantId, '/incidents')), [tenantId]);
  const [avail, availError, reloadAvail] = useLoad(() => api<Availability>('GET', tpath(tenantId, `/availability/${month}`)), [tenantId, month]);
  return (
    <>
      {monthRow}
      <ErrorBox error={error ?? availError} />
      <Section title={t('availability')} id="availability">
        {avail === null ? (
          <Loading />
        ) : (
          <>
            <dl class="stats" data-testid="availability">
              <Stat label={t('availability')} value={pct(avail.availability)} />
              <Stat label={t('unavailableMinutes')} value={fmtNum(Math.round(avail.sla.unavailableSeconds / 60))} />
              <Stat label={t('compensableHours')} value={fmtNum(avail.sla.compensableHours)} />
              <Stat label={t('monthlyFee')} value={avail.sla.monthlyFeeYen === null ? '—' : fmtYen(avail.sla.monthlyFeeYen)} testid="sla-fee" />
            </dl>
            <Timeline a={avail} />
            {session.user.role === 'operator' && <SlaFee key={String(avail.sla.monthlyFeeYen)} tenantId={tenantId} fee={avail.sla.monthlyFeeYen} onDone={reloadAvail} />}
          </>
        )}
      </Section>
      <Section title={t('incidents')} id="incident-list">
        {list === null ? <Loading /> : <IncidentTable items={list.items} operator={false} />}
      </Section>
    </>
  );
}

const incidentFields = (): FieldSpec[] => [
  { name: 'title', label: t('title') },
  { name: 'start', label: t('incidentStart'), kind: 'datetime' },
  { name: 'end', label: t('incidentEnd'), kind: 'datetime' },
  { name: 'scope', label: t('scope'), kind: 'select', options: opts(['full', 'partial'], 'scope_'), paths: ['impact/scope', 'impact'] },
  { name: 'tenants', label: t('tenantsHint'), paths: ['impact/tenants'] },
  { name: 'attributable', label: t('attributable'), kind: 'select', options: [{ value: 'true', label: t('yes') }, { value: 'false', label: t('no') }] },
  { name: 'cause', label: t('cause'), kind: 'textarea' },
];
const tenantsOf = (s: string | undefined): 'all' | string[] => (s === undefined || s.trim() === '' || s.trim() === 'all' ? 'all' : s.split(/[\s,、]+/).filter((x) => x !== ''));

interface IncidentBody {
  title: string;
  start: string;
  end?: string | null;
  cause: string;
  impact: { tenants: 'all' | string[]; scope: 'full' | 'partial'; ports: null };
  attributable: boolean;
}
function incidentBody(f: Record<string, string>): IncidentBody {
  return {
    title: f['title'] ?? '',
    start: toIsoJst(f['start'] ?? ''),
    ...(nonEmpty(f['end']) ? { end: toIsoJst(f['end'] ?? '') } : {}),
    cause: f['cause'] ?? '',
    impact: { tenants: tenantsOf(f['tenants']), scope: (f['scope'] ?? 'full') as 'full' | 'partial', ports: null },
    attributable: f['attributable'] !== 'false',
  };
}
/** What the browser can tell before sending (the API checks the rest with its schema). */
function checkIncident(b: IncidentBody): { ok: boolean; problems: { field: string; message: string }[] } {
  const problems: { field: string; message: string }[] = [];
  if (b.title.trim() === '') problems.push({ field: 'title', message: 'must not be empty' });
  if (b.start === '') problems.push({ field: 'start', message: 'is required' });
  return { ok: problems.length === 0, problems };
}

function IncidentEdit({ inc, onDone }: { inc: Incident; onDone: () => void }): JSX.Element {
  const fields: FieldSpec[] = [{ name: 'action', label: t('incidentAction'), kind: 'textarea' }, ...incidentFields().filter((f) => f.name !== 'end')];
  const form = useForm<IncidentBody & { action?: string }>({
    fields,
    initial: {
      action: '',
      title: inc.title,
      start: fromIsoJst(inc.start),
      scope: inc.impact.scope,
      tenants: inc.impact.tenants === 'all' ? 'all' : inc.impact.tenants.join(', '),
      attributable: String(inc.attributable),
      cause: inc.cause,
    },
    toBody: (f) => {
      const { end: _end, ...b } = incidentBody(f);
      return { ...b, ...(nonEmpty(f['action']) ? { action: f['action'] ?? '' } : {}) };
    },
    check: checkIncident,
    submit: (b) => api('PATCH', `/v1/ops/incidents/${inc.id}`, b),
    onDone,
  });
  const [error, setError] = useState<unknown>(null);
  const [confirmEl, confirm] = useConfirm();
  const setEnd = (end: string | null): void =>
    confirm(end === null ? t('confirmReopen', { id: inc.id }) : t('confirmClose', { id: inc.id }), async () => {
      try {
        await api('PATCH', `/v1/ops/incidents/${inc.id}`, { end });
        onDone();
      } catch (err) {
        setError(err);
      }
    });
  return (
    <>
      {confirmEl}
      <ErrorBox error={error} />
      <FormCard form={form} fields={fields} prefix="inc-" title={`${t('updateIncident')} ${inc.id}`} titleId="edit-incident" submitLabel={t('save')} onCancel={onDone}>
        <div class="row">
          {inc.state === 'open' ? (
            <button type="button" class="danger" data-testid="close-incident" onClick={() => setEnd(new Date().toISOString())}>
              {t('closeIncident')}
            </button>
          ) : (
            <button type="button" onClick={() => setEnd(null)}>
              {t('reopenIncident')}
            </button>
          )}
        </div>
      </FormCard>
    </>
  );
}

interface Probe {
  key: string;
  kind: string;
  target: string;
  ok: boolean;
  since: string;
  consecutiveFailures: number;
  lastCheckedAt: string;
  lastError: string | null;
  lastMs: number | null;
  incidentId: string | null;
}

/** The synthetic probes (engines, Redis, billing lag, trunk gateways): their state opens and closes automatic incidents. */
function Probes(): JSX.Element {
  const [list, error] = useLoad(() => api<{ items: Probe[] }>('GET', '/v1/ops/probes'));
  const cols: Column<Probe>[] = [
    { label: t('probe'), cell: (p) => `${p.kind} ${p.target}` },
    { label: t('status'), cell: (p) => <><span class={`dot ${p.ok ? 'registered' : 'down'}`} aria-hidden="true" />{p.ok ? t('health_up') : t('health_down')}</> },
    { label: t('since'), cell: (p) => fmtDate(p.since) },
    { label: t('lastChecked'), cell: (p) => `${fmtDate(p.lastCheckedAt)}${p.lastMs !== null ? ` (${p.lastMs} ms)` : ''}` },
    { label: t('error'), cell: (p) => p.lastError ?? '—' },
    { label: t('incidents'), cell: (p) => p.incidentId ?? '—' },
  ];
  return (
    <Section title={t('probes')} id="probes">
      <ErrorBox error={error} />
      {list === null ? error === null && <Loading /> : <DataTable label={t('probes')} testid="probes" cols={cols} rows={list.items} rowKey={(p) => p.key} rowAttrs={(p) => ({ 'data-ok': String(p.ok) })} />}
    </Section>
  );
}

export function OpIncidents(_p: PageProps): JSX.Element {
  const [state, setState] = useState('');
  const [list, error, reload] = useLoad(() => api<{ items: Incident[] }>('GET', `/v1/ops/incidents${state !== '' ? `?state=${state}` : ''}`), [state]);
  const [picked, setPicked] = useState<Incident | null>(null);
  const fields = incidentFields();
  const form = useForm<IncidentBody>({
    fields,
    initial: { title: '', start: '', end: '', scope: 'partial', tenants: 'all', attributable: 'true', cause: '' },
    toBody: incidentBody,
    check: checkIncident,
    submit: (b) => api('POST', '/v1/ops/incidents', b),
    onDone: reload,
    doneNote: t('created'),
  });
  return (
    <>
      <div class="row">
        <label for="f-inc-state">{t('status')}</label>
        <select id="f-inc-state" value={state} onChange={(e) => setState((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">{t('all')}</option>
          <option value="open">{word('incident_', 'open')}</option>
          <option value="resolved">{word('incident_', 'resolved')}</option>
        </select>
      </div>
      <ErrorBox error={error} />
      {picked !== null && <IncidentEdit key={picked.id} inc={picked} onDone={() => (setPicked(null), reload())} />}
      {list === null ? <Loading /> : <IncidentTable items={list.items} operator onPick={setPicked} />}
      <FormCard form={form} fields={fields} prefix="new-inc-" title={t('openIncident')} titleId="new-incident" heading="h2" submitLabel={t('create')} />
      <Probes />
    </>
  );
}

// ---- help-desk tickets ------------------------------------------------------------------------------------

interface Ticket {
  id: string;
  tenantId: string;
  kind: string;
  channel: string;
  state: string;
  subject: string;
  body: string;
  reportedBy: string;
  assignee: string | null;
  receivedAt: string;
  updatedAt: string;
  notes: { at: string; by: string; text: string }[];
}

function TicketTable({ items, operator, onPick }: { items: Ticket[]; operator: boolean; onPick: (t: Ticket) => void }): JSX.Element {
  const cols: Column<Ticket>[] = [
    {
      label: t('id'),
      cell: (x) => (
        <button type="button" onClick={() => onPick(x)} aria-label={`${t('open')} ${x.id}`}>
          {x.id}
        </button>
      ),
    },
    ...(operator ? [{ label: t('tenant'), cell: (x: Ticket) => x.tenantId }] : []),
    { label: t('ticketKind'), cell: (x) => word('ticketKind_', x.kind) },
    { label: t('subject'), cell: (x) => x.subject },
    { label: t('status'), cell: (x) => word('ticketState_', x.state) },
    { label: t('assignee'), cell: (x) => x.assignee ?? '—' },
    { label: t('receivedAt'), cell: (x) => fmtDate(x.receivedAt) },
  ];
  return <DataTable label={t('tickets')} testid="tickets" cols={cols} rows={items} rowKey={(x) => `${x.tenantId}/${x.id}`} rowAttrs={(x) => ({ 'data-testid': `ticket-${x.id}`, 'data-state': x.state })} />;
}

/** One ticket: its text and notes; a note (everyone who may write), assignee and state (operators), close (tenant, once resolved). */
function TicketDetail({ tk, operator, readOnly, onDone }: { tk: Ticket; operator: boolean; readOnly: boolean; onDone: () => void }): JSX.Element {
  const fields: FieldSpec[] = [
    { name: 'note', label: t('note'), kind: 'textarea' },
    ...(operator
      ? [
          { name: 'state', label: t('status'), kind: 'select' as const, options: opts(TICKET_STATES, 'ticketState_') },
          { name: 'assignee', label: t('assignee') },
        ]
      : []),
  ];
  const form = useForm<Record<string, unknown>>({
    fields,
    initial: { note: '', state: tk.state, assignee: tk.assignee ?? '' },
    toBody: (f) => ({
      ...(nonEmpty(f['note']) ? { note: f['note'] } : {}),
      ...(operator && f['state'] !== tk.state ? { state: f['state'] } : {}),
      ...(operator && f['assignee'] !== (tk.assignee ?? '') ? { assignee: nonEmpty(f['assignee']) ? f['assignee'] : null } : {}),
    }),
    submit: (b) => (Object.keys(b).length === 0 ? Promise.resolve() : api('PATCH', tpath(tk.tenantId, `/tickets/${tk.id}`), b)),
    onDone,
  });
  const [error, setError] = useState<unknown>(null);
  const close = (): void => void api('PATCH', tpath(tk.tenantId, `/tickets/${tk.id}`), { state: 'closed' }).then(onDone, setError);
  return (
    <Section title={`${tk.id}: ${tk.subject}`} id="ticket-detail">
      <div class="card" data-testid="ticket-detail">
        <p>
          {word('ticketKind_', tk.kind)} · {word('ticketChannel_', tk.channel)} · {word('ticketState_', tk.state)} · {tk.reportedBy}
        </p>
        <p class="pre">{tk.body}</p>
        <ul class="plain">
          {tk.notes.map((n, i) => (
            <li key={i}>
              {fmtDate(n.at)} — {n.text}
            </li>
          ))}
        </ul>
      </div>
      <ErrorBox error={error} />
      {!readOnly && (
        <FormCard form={form} fields={fields} prefix="tk-" label={`${t('edit')} ${tk.id}`} submitLabel={t('save')} onCancel={onDone}>
          {!operator && tk.state === 'resolved' && (
            <button type="button" onClick={close}>
              {t('closeTicket')}
            </button>
          )}
        </FormCard>
      )}
    </Section>
  );
}

interface NewTicket {
  kind: string;
  subject: string;
  body: string;
  reportedBy: string;
  channel?: string;
  tenantId?: string;
}
const ticketFields = (operator: boolean): FieldSpec[] => [
  ...(operator ? [{ name: 'tenantId', label: t('tenant') }, { name: 'channel', label: t('ticketChannel'), kind: 'select' as const, options: opts(TICKET_CHANNELS, 'ticketChannel_') }] : []),
  { name: 'kind', label: t('ticketKind'), kind: 'select', options: opts(TICKET_KINDS, 'ticketKind_') },
  { name: 'subject', label: t('subject') },
  { name: 'reportedBy', label: t('reportedBy') },
  { name: 'body', label: t('ticketBody'), kind: 'textarea', rows: 4 },
];
function checkTicket(b: NewTicket): { ok: boolean; problems: { field: string; message: string }[] } {
  const problems: { field: string; message: string }[] = (['subject', 'reportedBy'] as const).filter((k) => b[k].trim() === '').map((field) => ({ field, message: 'must not be empty' }));
  if (b.tenantId !== undefined && b.tenantId.trim() === '') problems.push({ field: 'tenantId', message: 'must not be empty' });
  return { ok: problems.length === 0, problems };
}

function TicketsPage({ operator, tenantId, readOnly, session }: PageProps & { operator: boolean }): JSX.Element {
  const [list, error, reload] = useLoad(() => api<{ items: Ticket[] }>('GET', operator ? '/v1/ops/tickets' : tpath(tenantId, '/tickets')), [tenantId, operator]);
  const [picked, setPicked] = useState<string | null>(null);
  const fields = ticketFields(operator);
  const form = useForm<NewTicket>({
    fields,
    initial: { tenantId: '', channel: 'phone', kind: 'inquiry', subject: '', reportedBy: session.user.name, body: '' },
    toBody: (f) => ({
      kind: f['kind'] ?? 'inquiry',
      subject: f['subject'] ?? '',
      body: f['body'] ?? '',
      reportedBy: f['reportedBy'] ?? '',
      ...(operator ? { channel: f['channel'] ?? 'phone', tenantId: f['tenantId'] ?? '' } : {}),
    }),
    check: checkTicket,
    submit: ({ tenantId: tid, ...b }) => api('POST', tpath(tid ?? tenantId, '/tickets'), b),
    onDone: reload,
    doneNote: t('created'),
  });
  const tk = list?.items.find((x) => `${x.tenantId}/${x.id}` === picked) ?? null;
  return (
    <>
      <ErrorBox error={error} />
      {list === null ? <Loading /> : <TicketTable items={list.items} operator={operator} onPick={(x) => setPicked(`${x.tenantId}/${x.id}`)} />}
      {tk !== null && <TicketDetail key={`${picked}-${tk.updatedAt}`} tk={tk} operator={operator} readOnly={readOnly} onDone={() => (setPicked(null), reload())} />}
      {!readOnly && <FormCard form={form} fields={fields} prefix="new-tk-" title={t('newTicket')} titleId="new-ticket" heading="h2" submitLabel={t('create')} />}
    </>
  );
}

export const Tickets = (p: PageProps): JSX.Element => <TicketsPage {...p} operator={false} />;
export const OpTickets = (p: PageProps): JSX.Element => <TicketsPage {...p} readOnly={false} operator />;

// ---- maintenance works ------------------------------------------------------------------------------------

interface Work {
  id: string;
  title: string;
  description: string;
  windowStart: string;
  windowEnd: string;
  impact: string;
  tenants: 'all' | string[];
  state: string;
  notice: { ja: string; en: string };
}

function WorkTable({ items, operator, onState, onPick }: { items: Work[]; operator: boolean; onState?: (w: Work, s: string) => void; onPick?: (w: Work) => void }): JSX.Element {
  const cols: Column<Work>[] = [
    {
      label: t('title'),
      cell: (w) =>
        onPick !== undefined ? (
          <button type="button" onClick={() => onPick(w)} aria-label={`${t('edit')} ${w.title}`}>
            {w.title}
          </button>
        ) : (
          w.title
        ),
    },
    { label: t('window'), cell: (w) => `${fmtDate(w.windowStart)} – ${fmtDate(w.windowEnd)}` },
    { label: t('impact'), cell: (w) => word('workImpact_', w.impact) },
    {
      label: t('status'),
      cell: (w) =>
        operator && onState !== undefined ? (
          <select aria-label={`${t('status')} ${w.title}`} value={w.state} onChange={(e) => onState(w, (e.currentTarget as HTMLSelectElement).value)}>
            {opts(WORK_STATES, 'workState_').map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        ) : (
          word('workState_', w.state)
        ),
    },
    ...(operator ? [{ label: t('tenants'), cell: (w: Work) => tenantsText(w.tenants) }] : []),
    { label: t('notice'), cell: (w) => <span class="pre">{lang() === 'ja' ? w.notice.ja : w.notice.en}</span> },
  ];
  return <DataTable label={t('works')} testid="works" cols={cols} rows={items} rowKey={(w) => w.id} rowAttrs={(w) => ({ 'data-testid': `work-${w.id}`, 'data-state': w.state })} />;
}

export function Works({ tenantId }: PageProps): JSX.Element {
  const [list, error] = useLoad(() => api<{ items: Work[] }>('GET', tpath(tenantId, '/works')), [tenantId]);
  return (
    <>
      <ErrorBox error={error} />
      {list === null ? <Loading /> : <WorkTable items={list.items} operator={false} />}
    </>
  );
}

interface WorkBody {
  title: string;
  description: string;
  windowStart: string;
  windowEnd: string;
  impact: string;
  tenants: 'all' | string[];
  notice: { ja: string; en: string };
}
const workFields = (): FieldSpec[] => [
  { name: 'title', label: t('title') },
  { name: 'windowStart', label: t('windowStart'), kind: 'datetime' },
  { name: 'windowEnd', label: t('windowEnd'), kind: 'datetime' },
  { name: 'impact', label: t('impact'), kind: 'select', options: opts(WORK_IMPACTS, 'workImpact_') },
  { name: 'tenants', label: t('tenantsHint') },
  { name: 'description', label: t('description'), kind: 'textarea' },
  { name: 'noticeJa', label: t('noticeJa'), kind: 'textarea', paths: ['notice/ja'] },
  { name: 'noticeEn', label: t('noticeEn'), kind: 'textarea', paths: ['notice/en'] },
];
function checkWork(b: WorkBody): { ok: boolean; problems: { field: string; message: string }[] } {
  const problems: { field: string; message: string }[] = [];
  if (b.title.trim() === '') problems.push({ field: 'title', message: 'must not be empty' });
  if (b.windowStart === '') problems.push({ field: 'windowStart', message: 'is required' });
  if (b.windowEnd === '') problems.push({ field: 'windowEnd', message: 'is required' });
  return { ok: problems.length === 0, problems };
}

const workBody = (f: Record<string, string>): WorkBody => ({
  title: f['title'] ?? '',
  description: f['description'] ?? '',
  windowStart: toIsoJst(f['windowStart'] ?? ''),
  windowEnd: toIsoJst(f['windowEnd'] ?? ''),
  impact: f['impact'] ?? 'partial',
  tenants: tenantsOf(f['tenants']),
  notice: { ja: f['noticeJa'] ?? '', en: f['noticeEn'] ?? '' },
});

/** Change a scheduled work: its window, impact, tenants, notices. */
function WorkEdit({ w, onDone }: { w: Work; onDone: () => void }): JSX.Element {
  const fields = workFields();
  const form = useForm<WorkBody>({
    fields,
    initial: {
      title: w.title,
      windowStart: fromIsoJst(w.windowStart),
      windowEnd: fromIsoJst(w.windowEnd),
      impact: w.impact,
      tenants: w.tenants === 'all' ? 'all' : w.tenants.join(', '),
      description: w.description,
      noticeJa: w.notice.ja,
      noticeEn: w.notice.en,
    },
    toBody: workBody,
    check: checkWork,
    submit: (b) => api('PATCH', `/v1/ops/works/${w.id}`, b),
    onDone,
  });
  return <FormCard form={form} fields={fields} prefix="work-" title={`${t('edit')} ${w.title}`} titleId="edit-work" submitLabel={t('save')} onCancel={onDone} />;
}

export function OpWorks(_p: PageProps): JSX.Element {
  const [list, error, reload] = useLoad(() => api<{ items: Work[] }>('GET', '/v1/ops/works'));
  const [picked, setPicked] = useState<Work | null>(null);
  const [opError, setOpError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const fields = workFields();
  const form = useForm<WorkBody>({
    fields,
    initial: { title: '', windowStart: '', windowEnd: '', impact: 'partial', tenants: 'all', description: '', noticeJa: '', noticeEn: '' },
    toBody: workBody,
    check: checkWork,
    submit: (b) => api('POST', '/v1/ops/works', b),
    onDone: reload,
    doneNote: t('created'),
  });
  const onState = (w: Work, state: string): void =>
    void api('PATCH', `/v1/ops/works/${w.id}`, { state }).then(
      () => (setOpError(null), setNote(t('saved')), reload()),
      (err: unknown) => (setOpError(err), reload()),
    );
  return (
    <>
      <Notice text={note} />
      <ErrorBox error={error ?? opError} />
      {picked !== null && <WorkEdit key={picked.id} w={picked} onDone={() => (setPicked(null), reload())} />}
      {list === null ? <Loading /> : <WorkTable items={list.items} operator onState={onState} onPick={setPicked} />}
      <FormCard form={form} fields={fields} prefix="new-work-" title={t('newWork')} titleId="new-work" heading="h2" submitLabel={t('create')} />
    </>
  );
}

// ---- reports ---------------------------------------------------------------------------------------------

interface OpReport {
  month: string;
  contractPorts: number;
  availability: { availability: number };
  ports: { peak?: number; peakAt?: number | null } & Record<string, unknown>;
  registrations: { extensions: number; registeredNow: number };
  traffic: { offered: number; carried: number; blocked: number; busyHour: string | null; busyHourErlangs: number; recommendedChannels: number };
  incidents: unknown[];
  tickets: unknown[];
  works: unknown[];
}
interface Series {
  dimension: string;
  key: string;
  totals: { offered: number; carried: number; blocked: number; blockingRate: number; erlangs: number; meanHoldingSeconds: number };
  busyHour: { hour: string; erlangs: number } | null;
  sizing: { capacity: number | null; predictedBlocking: number | null; recommendedChannels: number };
}
interface Traffic {
  month: string;
  calls: number;
  tenant: Series;
  trunks: Series[];
  groups: Series[];
}

function Stat({ label, value, testid }: { label: string; value: string; testid?: string }): JSX.Element {
  return (
    <div class="stat" data-testid={testid}>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

export function Reports({ tenantId }: PageProps): JSX.Element {
  const [month, monthRow] = useMonth();
  const [rep, repError] = useLoad(() => api<OpReport>('GET', tpath(tenantId, `/reports/${month}`)), [tenantId, month]);
  const [tr, trError] = useLoad(() => api<Traffic>('GET', tpath(tenantId, `/traffic/${month}`)), [tenantId, month]);
  const l = lang();
  const enc = l === 'ja' ? 'shift_jis' : 'utf-8';
  const base = tpath(tenantId, `/reports/${month}`);
  return (
    <>
      {monthRow}
      <ErrorBox error={repError ?? trError} />
      <Section title={t('operationReport')} id="operation-report">
        <div class="row">
          <a class="button" href={`${base}/report.html?lang=${l}`} target="_blank" rel="noopener" data-testid="report-html">
            {t('openHtml')}
          </a>
          <a class="button" href={`${base}/report.csv?lang=${l}&encoding=${enc}`} download data-testid="report-csv">
            CSV
          </a>
          <a class="button" href={`${base}/report.pdf?lang=${l}`} download data-testid="report-pdf">
            PDF
          </a>
        </div>
        {rep === null ? (
          repError === null && <Loading />
        ) : (
          <dl class="stats" data-testid="operation-report">
            <Stat label={t('availability')} value={pct(rep.availability.availability)} />
            <Stat label={t('contractPorts')} value={fmtNum(rep.contractPorts)} />
            <Stat label={t('extensionsProvisioned')} value={fmtNum(rep.registrations.extensions)} />
            <Stat label={t('registered')} value={fmtNum(rep.registrations.registeredNow)} />
            <Stat label={t('incidents')} value={fmtNum(rep.incidents.length)} />
            <Stat label={t('tickets')} value={fmtNum(rep.tickets.length)} />
            <Stat label={t('works')} value={fmtNum(rep.works.length)} />
          </dl>
        )}
      </Section>
      <Section title={t('trafficReport')} id="traffic-report">
        <div class="row">
          <a class="button" href={tpath(tenantId, `/traffic/${month}/report.csv?lang=${l}&encoding=${enc}`)} download data-testid="traffic-csv">
            CSV
          </a>
        </div>
        {tr === null ? (
          trError === null && <Loading />
        ) : (
          <>
            <dl class="stats" data-testid="traffic">
              <Stat label={t('calls')} value={fmtNum(tr.calls)} testid="traffic-calls" />
              <Stat label={t('erlangs')} value={tr.tenant.totals.erlangs.toFixed(2)} />
              <Stat label={t('blocked')} value={fmtNum(tr.tenant.totals.blocked)} />
              <Stat label={t('busyHour')} value={tr.tenant.busyHour === null ? '—' : `${fmtDate(tr.tenant.busyHour.hour)} (${tr.tenant.busyHour.erlangs.toFixed(2)} erl)`} />
              <Stat label={t('recommendedChannels')} value={fmtNum(tr.tenant.sizing.recommendedChannels)} />
            </dl>
            <DataTable
              label={t('trafficReport')}
              testid="traffic-series"
              rows={[tr.tenant, ...tr.trunks, ...tr.groups]}
              rowKey={(x) => `${x.dimension}/${x.key}`}
              cols={[
                { label: t('dimension'), cell: (x) => word('dimension_', x.dimension) },
                { label: t('id'), cell: (x) => x.key },
                { label: t('offered'), cell: (x) => fmtNum(x.totals.offered) },
                { label: t('carried'), cell: (x) => fmtNum(x.totals.carried) },
                { label: t('blocked'), cell: (x) => fmtNum(x.totals.blocked) },
                { label: t('erlangs'), cell: (x) => x.totals.erlangs.toFixed(3) },
                { label: t('recommendedChannels'), cell: (x) => fmtNum(x.sizing.recommendedChannels) },
              ]}
            />
          </>
        )}
      </Section>
    </>
  );
}

// ---- configuration history ----------------------------------------------------------------------------------

interface Version {
  version: number;
  at: string;
  by: string;
  request: string;
  baseline?: boolean;
  changes: { section: string; key: string; op: 'add' | 'remove' | 'change'; fields: { path: string; before?: unknown; after?: unknown }[] }[];
}
interface RestoreResult {
  restoredTo: number;
  problems: string[];
  newPasswords?: Record<string, string>;
}

/** A configuration value in a diff line ('—' for none). */
const show = (v: unknown): string => (v === undefined || v === null ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

export function History({ tenantId, session }: PageProps): JSX.Element {
  const operator = session.user.role === 'operator';
  const paging = useCursor();
  const before = paging.cursor;
  const [page, error, reload] = useLoad(() => api<{ items: Version[]; next: string | null }>('GET', tpath(tenantId, `/config-history?limit=20${before !== '' ? `&before=${before}` : ''}`)), [tenantId, before]);
  const [confirmEl, confirm] = useConfirm();
  const [opError, setOpError] = useState<unknown>(null);
  const [result, setResult] = useState<RestoreResult | null>(null);
  const restore = (v: Version): void =>
    confirm(
      t('confirmRestore', { v: v.version }),
      async () => {
        try {
          setOpError(null);
          setResult(await api<RestoreResult>('POST', tpath(tenantId, `/config-history/${v.version}/restore`)));
          paging.reset();
          reload();
        } catch (err) {
          setOpError(err);
        }
      },
      String(v.version),
    );
  const l = lang();
  return (
    <>
      {confirmEl}
      <div class="row">
        <a class="button" href={tpath(tenantId, `/config-history.csv?lang=${l}&encoding=${l === 'ja' ? 'shift_jis' : 'utf-8'}`)} download data-testid="history-csv">
          {t('exportCsv')}
        </a>
      </div>
      <ErrorBox error={error ?? opError} />
      {result !== null && (
        <div class="notice" role="status" data-testid="restore-result">
          <p>{t('restored', { v: result.restoredTo })}</p>
          {result.problems.length > 0 && (
            <ul>
              {result.problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          )}
          {result.newPasswords !== undefined && Object.keys(result.newPasswords).length > 0 && (
            <p>
              {t('newPasswords')}: {Object.entries(result.newPasswords).map(([k, v]) => `${k} ${v}`).join(', ')}
            </p>
          )}
        </div>
      )}
      {page === null ? (
        error === null && <Loading />
      ) : page.items.length === 0 ? (
        <p>{t('empty')}</p>
      ) : (
        <ol class="versions" data-testid="versions">
          {page.items.map((v) => (
            <li key={v.version} class="card" data-testid={`version-${v.version}`}>
              <div class="row">
                <strong>
                  {t('version')} {v.version}
                </strong>
                <span>{fmtDate(v.at)}</span>
                <span>{v.by}</span>
                {v.baseline === true ? <span class="muted">{t('baseline')}</span> : <code>{v.request}</code>}
                {operator && (
                  <button type="button" class="danger" onClick={() => restore(v)} aria-label={`${t('restore')} ${v.version}`}>
                    {t('restore')}
                  </button>
                )}
              </div>
              <ul class="diff">
                {v.changes.map((c, i) => (
                  <li key={i} class={`op-${c.op}`}>
                    <span class="op">{word('op_', c.op)}</span> {word('section_', c.section)} <code>{c.key}</code>
                    {c.op === 'change' && (
                      <ul>
                        {c.fields.map((f) => (
                          <li key={f.path}>
                            <code>{f.path}</code>: <del>{show(f.before)}</del> → <ins>{show(f.after)}</ins>
                          </li>
                        ))}
                      </ul>
                    )}
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ol>
      )}
      {paging.pager(page?.next)}
    </>
  );
}
