import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { validateDid, validatePickupGroup, validateRingGroup, DID_TARGET_TYPES, RING_STRATEGIES, type NumberingPlan, type RingGroupInput, type DidInput } from '@kumo/domain';
import { api, ApiError, tpath, type Page } from '../api.ts';
import { t, type MsgKey } from '../i18n.ts';
import type { PageProps } from '../session.ts';
import { ErrorBox, Field, Loading, Notice, Section, useConfirm, useLoad } from '../ui.tsx';

type Row = Record<string, unknown>;
interface Col {
  key: MsgKey;
  value: (r: Row) => string;
}

/** A list of one resource with delete (confirmed) for admins. */
function ResourceTable(p: {
  title: MsgKey;
  path: string;
  idOf: (r: Row) => string;
  cols: Col[];
  tenantId: string;
  readOnly: boolean;
  testid: string;
  create?: (reload: () => void) => JSX.Element;
}): JSX.Element {
  const [data, error, reload] = useLoad(() => api<Page<Row> | Row[]>('GET', tpath(p.tenantId, p.path)), [p.tenantId, p.path]);
  const [confirmEl, confirm] = useConfirm();
  const [note, setNote] = useState<string | null>(null);
  const [opError, setOpError] = useState<unknown>(null);
  const items = data === null ? null : Array.isArray(data) ? data : data.items;
  const remove = (id: string): void =>
    confirm(t('confirmDelete', { what: id }), async () => {
      try {
        await api('DELETE', tpath(p.tenantId, `${p.path}/${encodeURIComponent(id)}`));
        setNote(t('deleted'));
        reload();
      } catch (err) {
        setOpError(err);
      }
    });
  return (
    <Section title={t(p.title)} id={p.testid}>
      {confirmEl}
      <Notice text={note} />
      <ErrorBox error={error ?? opError} />
      {items === null ? (
        error === null && <Loading />
      ) : items.length === 0 ? (
        <p>{t('empty')}</p>
      ) : (
        <div class="table-wrap">
          <table data-testid={p.testid}>
            <thead>
              <tr>
                {p.cols.map((c) => (
                  <th key={c.key} scope="col">
                    {t(c.key)}
                  </th>
                ))}
                {!p.readOnly && <th scope="col">{t('actions')}</th>}
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={p.idOf(r)}>
                  {p.cols.map((c) => (
                    <td key={c.key}>{c.value(r)}</td>
                  ))}
                  {!p.readOnly && (
                    <td>
                      <button type="button" class="danger" onClick={() => remove(p.idOf(r))} aria-label={`${t('delete')} ${p.idOf(r)}`}>
                        {t('delete')}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!p.readOnly && p.create?.(reload)}
    </Section>
  );
}

/** A create form: fields as strings, `toBody` builds the API body, `check` is the API's own validator. */
function CreateForm<B>(p: {
  id: string;
  title: string;
  fields: { name: string; label: MsgKey; hint?: string; options?: readonly string[] }[];
  initial: Record<string, string>;
  toBody: (f: Record<string, string>) => B;
  check: (b: B) => { ok: boolean; problems?: readonly { field: string; message: string }[] };
  submit: (b: B) => Promise<unknown>;
  onDone: () => void;
}): JSX.Element {
  const [f, setF] = useState(p.initial);
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const go = async (e: Event): Promise<void> => {
    e.preventDefault();
    setNote(null);
    const body = p.toBody(f);
    const v = p.check(body);
    const problems = Object.fromEntries((v.ok ? [] : (v.problems ?? [])).map((x) => [x.field.split('/')[0] ?? x.field, x.message]));
    setErrs(problems);
    if (!v.ok) return;
    try {
      await p.submit(body);
      setError(null);
      setNote(t('created'));
      setF(p.initial);
      p.onDone();
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) setErrs(Object.fromEntries(Object.entries(err.problems()).map(([k, m]) => [k.split('/')[0] ?? k, m])));
    }
  };
  return (
    <form class="card" onSubmit={(e) => void go(e)} aria-labelledby={p.id} noValidate>
      <h3 id={p.id}>{p.title}</h3>
      <ErrorBox error={error} />
      <Notice text={note} />
      <div class="grid">
        {p.fields.map((x) =>
          x.options !== undefined ? (
            <div class="field" key={x.name}>
              <label for={`f-${p.id}-${x.name}`}>{t(x.label)}</label>
              <select id={`f-${p.id}-${x.name}`} value={f[x.name]} onChange={(e) => setF({ ...f, [x.name]: (e.currentTarget as HTMLSelectElement).value })}>
                {x.options.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            </div>
          ) : (
            <Field key={x.name} label={x.hint !== undefined ? `${t(x.label)} (${x.hint})` : t(x.label)} name={`${p.id}-${x.name}`} value={f[x.name] ?? ''} onInput={(v) => setF({ ...f, [x.name]: v })} error={errs[x.name]} />
          ),
        )}
      </div>
      <button type="submit" class="primary">
        {t('create')}
      </button>
    </form>
  );
}

const list = (s: string): string[] => s.split(/[\s,、]+/).filter((x) => x !== '');

const s = (k: string) => (r: Row) => (r[k] === undefined || r[k] === null ? '' : String(r[k]));

export function Groups({ tenantId, readOnly }: PageProps): JSX.Element {
  const [plan] = useLoad(() => api<NumberingPlan>('GET', tpath(tenantId, '/numbering-plan')), [tenantId]);
  return (
    <>
      <ResourceTable
        create={(reload) => (
          <CreateForm<RingGroupInput>
            id="new-rg"
            title={`${t('ringGroups')}: ${t('add')}`}
            fields={[
              { name: 'number', label: 'number' },
              { name: 'name', label: 'name' },
              { name: 'strategy', label: 'strategy', options: RING_STRATEGIES },
              { name: 'members', label: 'members', hint: '1001, 1002' },
            ]}
            initial={{ number: '', name: '', strategy: 'ring-all', members: '' }}
            toBody={(f) => ({ number: f['number'] ?? '', name: f['name'] ?? '', strategy: (f['strategy'] ?? 'ring-all') as RingGroupInput['strategy'], members: list(f['members'] ?? '').map((extension) => ({ extension })) })}
            check={(b) => validateRingGroup(b, plan ?? undefined)}
            submit={(b) => api('POST', tpath(tenantId, '/ring-groups'), b)}
            onDone={reload}
          />
        )}
        title="ringGroups"
        testid="ring-groups"
        path="/ring-groups"
        tenantId={tenantId}
        readOnly={readOnly}
        idOf={s('number')}
        cols={[
          { key: 'number', value: s('number') },
          { key: 'name', value: s('name') },
          { key: 'strategy', value: s('strategy') },
          { key: 'members', value: (r) => ((r['members'] as { extension: string }[] | undefined) ?? []).map((m) => m.extension).join(', ') },
        ]}
      />
      <ResourceTable
        create={(reload) => (
          <CreateForm<{ id: string; name: string; members: string[] }>
            id="new-pg"
            title={`${t('pickupGroups')}: ${t('add')}`}
            fields={[
              { name: 'id', label: 'id' },
              { name: 'name', label: 'name' },
              { name: 'members', label: 'members', hint: '1001, 1002' },
            ]}
            initial={{ id: '', name: '', members: '' }}
            toBody={(f) => ({ id: f['id'] ?? '', name: f['name'] ?? '', members: list(f['members'] ?? '') })}
            check={validatePickupGroup}
            submit={(b) => api('POST', tpath(tenantId, '/pickup-groups'), b)}
            onDone={reload}
          />
        )}
        title="pickupGroups"
        testid="pickup-groups"
        path="/pickup-groups"
        tenantId={tenantId}
        readOnly={readOnly}
        idOf={s('id')}
        cols={[
          { key: 'id', value: s('id') },
          { key: 'name', value: s('name') },
          { key: 'members', value: (r) => ((r['members'] as string[] | undefined) ?? []).join(', ') },
        ]}
      />
    </>
  );
}

export function Trunks({ tenantId, readOnly }: PageProps): JSX.Element {
  return (
    <ResourceTable
      title="trunks"
      testid="trunks"
      path="/trunks"
      tenantId={tenantId}
      readOnly={readOnly}
      idOf={s('id')}
      cols={[
        { key: 'id', value: s('id') },
        { key: 'name', value: s('name') },
        { key: 'gateways', value: (r) => ((r['gateways'] as { address?: string; host?: string }[] | undefined) ?? []).map((g) => g.address ?? g.host ?? '').join(', ') },
        { key: 'channels', value: s('channels') },
        { key: 'registration', value: (r) => (r['registration'] !== undefined ? t('yes') : t('no')) },
      ]}
    />
  );
}

export function Dids({ tenantId, readOnly }: PageProps): JSX.Element {
  return (
    <ResourceTable
      create={(reload) => (
        <CreateForm<DidInput>
          id="new-did"
          title={`${t('dids')}: ${t('add')}`}
          fields={[
            { name: 'number', label: 'number', hint: '0312345678' },
            { name: 'type', label: 'target', options: DID_TARGET_TYPES },
            { name: 'target', label: 'number' },
          ]}
          initial={{ number: '', type: 'extension', target: '' }}
          toBody={(f) => ({ number: f['number'] ?? '', target: { type: (f['type'] ?? 'extension') as DidInput['target']['type'], number: f['target'] ?? '' } })}
          check={validateDid}
          submit={(b) => api('POST', tpath(tenantId, '/dids'), b)}
          onDone={reload}
        />
      )}
      title="dids"
      testid="dids"
      path="/dids"
      tenantId={tenantId}
      readOnly={readOnly}
      idOf={s('number')}
      cols={[
        { key: 'number', value: s('number') },
        { key: 'target', value: (r) => { const tg = r['target'] as { type?: string; value?: string; number?: string } | undefined; return tg === undefined ? '' : `${tg.type ?? ''} ${tg.value ?? tg.number ?? ''}`; } },
      ]}
    />
  );
}

export function Plan({ tenantId }: PageProps): JSX.Element {
  const [plan, error] = useLoad(() => api<Record<string, unknown>>('GET', tpath(tenantId, '/numbering-plan')), [tenantId]);
  return (
    <>
      <ErrorBox error={error} />
      {plan === null ? (
        error === null && <Loading />
      ) : (
        <table data-testid="plan">
          <thead>
            <tr>
              <th scope="col">{t('setting')}</th>
              <th scope="col">{t('value')}</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(plan).map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
