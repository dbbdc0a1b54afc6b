import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { validateTenantCreate, validateTenantPatch } from '@kumo/domain';
import { api, tpath, type Page } from '../api.ts';
import { fmtNum, t, type MsgKey } from '../i18n.ts';
import type { PageProps } from '../session.ts';
import { ErrorBox, FormCard, JsonEditor, Loading, Notice, Section, useConfirm, useForm, useLoad, type FieldSpec, useCursor } from '../ui.tsx';

interface Tenant {
  id: string;
  name: string;
  sipDomain: string;
  ports: number;
  trunkChannels: number;
  callsPerSecond: number;
  status: string;
  restrictionLevel: number;
}

const num = (v: string | undefined): number => (v === undefined || v.trim() === '' ? Number.NaN : Number(v));
const contractFields = (): FieldSpec[] => [
  { name: 'ports', label: t('contractPorts'), inputMode: 'numeric' },
  { name: 'channels', label: t('trunkChannelsL'), inputMode: 'numeric', paths: ['trunkChannels'] },
  { name: 'cps', label: t('cps'), inputMode: 'numeric', paths: ['callsPerSecond'] },
];
const contractOf = (f: Record<string, string>) => ({ ports: num(f['ports']), trunkChannels: num(f['channels']), callsPerSecond: num(f['cps']) });

function NewTenant({ onDone }: { onDone: () => void }): JSX.Element {
  const fields: FieldSpec[] = [
    { name: 'id', label: t('id'), required: true },
    { name: 'name', label: t('name'), required: true },
    { name: 'domain', label: t('sipDomain'), required: true, paths: ['sipDomain'] },
    ...contractFields(),
  ];
  const form = useForm({
    fields,
    initial: { id: '', name: '', domain: '', ports: '100', channels: '10', cps: '5' },
    toBody: (f) => ({ id: f['id'] ?? '', name: f['name'] ?? '', sipDomain: f['domain'] ?? '', ...contractOf(f) }),
    check: validateTenantCreate,
    submit: (b) => api('POST', '/v1/tenants', b),
    onDone,
    doneNote: t('created'),
  });
  return <FormCard form={form} fields={fields} prefix="t-" title={t('newTenant')} titleId="new-tenant" heading="h2" submitLabel={t('create')} />;
}

/** The contract of one tenant (ports, trunk channels, calls per second), validated like the API does. */
function ContractRow({ tn, onDone }: { tn: Tenant; onDone: () => void }): JSX.Element {
  const fields = contractFields();
  const form = useForm({
    fields,
    initial: { ports: String(tn.ports), channels: String(tn.trunkChannels), cps: String(tn.callsPerSecond) },
    toBody: contractOf,
    check: validateTenantPatch,
    submit: (patch) => api('PATCH', tpath(tn.id), patch),
    onDone,
  });
  return (
    <tr>
      <td colSpan={6}>
        <FormCard form={form} fields={fields} prefix="c-" label={`${t('contract')} ${tn.id}`} submitLabel={t('save')} onCancel={onDone} />
      </td>
    </tr>
  );
}

export function Tenants({ openTenant }: PageProps): JSX.Element {
  const [editing, setEditing] = useState<string | null>(null);
  const paging = useCursor();
  const after = paging.cursor;
  const [page, error, reload] = useLoad(() => api<Page<Tenant>>('GET', `/v1/tenants?limit=50${after !== '' ? `&after=${encodeURIComponent(after)}` : ''}`), [after]);
  const [opError, setOpError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const [confirmEl, confirm] = useConfirm();
  const act = (tn: Tenant, action: 'suspend' | 'resume' | 'terminate'): void => {
    const text = action === 'suspend' ? t('confirmSuspend', { id: tn.id }) : action === 'resume' ? t('confirmResume', { id: tn.id }) : t('confirmTerminate', { id: tn.id });
    confirm(
      text,
      async () => {
        try {
          await api('POST', tpath(tn.id, `/${action}`));
          setNote(t('saved'));
          reload();
        } catch (err) {
          setOpError(err);
        }
      },
      action === 'terminate' ? tn.id : undefined,
    );
  };
  return (
    <>
      {confirmEl}
      <Notice text={note} />
      <ErrorBox error={error ?? opError} />
      <div class="table-wrap">
        <table data-testid="tenants">
          <thead>
            <tr>
              <th scope="col">{t('id')}</th>
              <th scope="col">{t('name')}</th>
              <th scope="col">{t('sipDomain')}</th>
              <th scope="col">{t('contractPorts')}</th>
              <th scope="col">{t('status')}</th>
              <th scope="col">{t('actions')}</th>
            </tr>
          </thead>
          <tbody>
            {page?.items.map((tn) =>
              editing === tn.id ? (
                <ContractRow key={tn.id} tn={tn} onDone={() => (setEditing(null), reload())} />
              ) : (
              <tr key={tn.id} data-testid={`tenant-${tn.id}`} data-status={tn.status}>
                <td>{tn.id}</td>
                <td>{tn.name}</td>
                <td>{tn.sipDomain}</td>
                <td>{fmtNum(tn.ports)}</td>
                <td>{tn.status === 'active' ? t('statusActive') : tn.status === 'suspended' ? t('statusSuspended') : tn.status === 'terminated' ? t('statusTerminated') : tn.status}</td>
                <td>
                  <div class="row">
                    {tn.status !== 'terminated' && (
                      <button type="button" onClick={() => openTenant(tn.id)} aria-label={`${t('open')} ${tn.id}`}>
                        {t('open')}
                      </button>
                    )}
                    {tn.status !== 'terminated' && (
                      <button type="button" onClick={() => setEditing(tn.id)} aria-label={`${t('contract')} ${tn.id}`}>
                        {t('contract')}
                      </button>
                    )}
                    {tn.status === 'active' && (
                      <button type="button" onClick={() => act(tn, 'suspend')} aria-label={`${t('suspend')} ${tn.id}`}>
                        {t('suspend')}
                      </button>
                    )}
                    {tn.status === 'suspended' && (
                      <button type="button" onClick={() => act(tn, 'resume')} aria-label={`${t('resume')} ${tn.id}`}>
                        {t('resume')}
                      </button>
                    )}
                    {tn.status !== 'terminated' && (
                      <button type="button" class="danger" onClick={() => act(tn, 'terminate')} aria-label={`${t('terminate')} ${tn.id}`}>
                        {t('terminate')}
                      </button>
                    )}
                  </div>
                </td>
              </tr>
              ),
            )}
          </tbody>
        </table>
      </div>
      {paging.pager(page?.next)}
      <NewTenant onDone={reload} />
    </>
  );
}

interface DeadLetter {
  id: string;
  error?: string;
  deliveries?: number;
}

export function Platform(_p: PageProps): JSX.Element {
  const [level, levelError, reloadLevel] = useLoad(() => api<{ level: number }>('GET', '/v1/platform/restriction'));
  const [choice, setChoice] = useState<string | null>(null);
  const [prio, prioError] = useLoad(() => api<{ numbers: string[] }>('GET', '/v1/admission/priority-numbers'));
  const [prioText, setPrioText] = useState<string | null>(null);
  const [dead, deadError, reloadDead] = useLoad(() => api<{ items: DeadLetter[]; total: number }>('GET', '/v1/billing/dead-letters?limit=50'));
  const [health] = useLoad(() => fetch('/readyz').then(async (r) => ({ ok: r.ok, body: (await r.json()) as Record<string, unknown> })));
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const [confirmEl, confirm] = useConfirm();
  const current = choice ?? String(level?.level ?? 0);
  const effect = (`restriction${current}` as MsgKey);
  const run = (fn: () => Promise<void>) => {
    setError(null);
    setNote(null);
    fn().then(() => setNote(t('saved')), setError);
  };
  return (
    <>
      {confirmEl}
      <Notice text={note} />
      <ErrorBox error={error ?? levelError ?? prioError ?? deadError} />
      <Section title={t('restriction')} id="restriction">
        <form
          class="card"
          onSubmit={(e) => {
            e.preventDefault();
            confirm(`${t('restriction')}: ${current} — ${t(effect)}`, () => run(async () => (await api('PUT', '/v1/platform/restriction', { level: Number(current) }), reloadLevel())));
          }}
        >
          <div class="field">
            <label for="f-level">{t('restriction')}</label>
            <select id="f-level" value={current} onChange={(e) => setChoice((e.currentTarget as HTMLSelectElement).value)} aria-describedby="level-effect">
              {[0, 1, 2, 3].map((l) => (
                <option key={l} value={String(l)}>
                  {l}
                </option>
              ))}
            </select>
          </div>
          <p id="level-effect" data-testid="restriction-effect">
            {t('restrictionEffect')}: {t(effect)}
          </p>
          <button type="submit" class="primary">
            {t('apply')}
          </button>
        </form>
      </Section>
      <Section title={t('priorityNumbers')} id="priority">
        {prio === null ? (
          <Loading />
        ) : (
          <form
            class="card"
            onSubmit={(e) => {
              e.preventDefault();
              const numbers = (prioText ?? prio.numbers.join('\n')).split(/\s+/).filter((x) => x !== '');
              run(async () => void (await api('PUT', '/v1/admission/priority-numbers', { numbers })));
            }}
          >
            <label for="f-prio">{t('priorityNumbers')}</label>
            <textarea id="f-prio" rows={5} value={prioText ?? prio.numbers.join('\n')} onInput={(e) => setPrioText((e.currentTarget as HTMLTextAreaElement).value)} />
            <button type="submit" class="primary">
              {t('save')}
            </button>
          </form>
        )}
      </Section>
      <Section title={t('deadLetters')} id="dead">
        {dead === null ? (
          <Loading />
        ) : dead.items.length === 0 ? (
          <p>{t('empty')}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('id')}</th>
                <th scope="col">{t('error')}</th>
                <th scope="col">{t('actions')}</th>
              </tr>
            </thead>
            <tbody>
              {dead.items.map((d) => (
                <tr key={d.id}>
                  <td>{d.id}</td>
                  <td>{d.error ?? ''}</td>
                  <td>
                    <button type="button" onClick={() => run(async () => (await api('POST', `/v1/billing/dead-letters/${d.id}/replay`), reloadDead()))}>
                      {t('replay')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title={t('tariff')} id="tariff">
        <Tariff />
      </Section>
      <Section title={t('health')} id="health">
        {health === null ? <Loading /> : <p data-testid="health">{health.ok ? 'ready' : 'not ready'} — {JSON.stringify(health.body)}</p>}
      </Section>
    </>
  );
}

/** The platform default tariff as JSON (prices in 1/100 JPY); the server validates and audits it. */
function Tariff(): JSX.Element {
  const [tariff, error, reload] = useLoad(() => api<Record<string, unknown>>('GET', '/v1/billing/tariff'));
  if (tariff === null) return error === null ? <Loading /> : <ErrorBox error={error} />;
  return <JsonEditor id="tariff" label={t('tariff')} value={tariff} confirmText={t('tariff')} save={(b) => api('PUT', '/v1/billing/tariff', b)} onDone={reload} />;
}
