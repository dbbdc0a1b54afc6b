import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { validateExtension, validateExtensionPatch, PERMISSION_CLASSES, type ExtensionInput, type NumberingPlan } from '@kumo/domain';
import { api, tpath, type ApiError, type Page } from '../api.ts';
import { decodeCsv, headerField, parseCsv } from '../csv.ts';
import { lang, t } from '../i18n.ts';
import type { PageProps } from '../session.ts';
import { ErrorBox, FormCard, Notice, useConfirm, useForm, useLoad, type FieldSpec, useCursor } from '../ui.tsx';

interface Extension {
  number: string;
  displayName: string;
  department: string;
  permissionClass: string;
  forwarding: { unconditional?: string; busy?: string; noAnswer?: string };
}

const PAGE = 50;

const newFields = (): FieldSpec[] => [
  { name: 'number', label: t('number'), inputMode: 'numeric', required: true },
  { name: 'displayName', label: t('name'), required: true },
  { name: 'password', label: t('sipPassword'), kind: 'password', autocomplete: 'new-password', required: true },
  { name: 'department', label: t('department') },
  { name: 'permissionClass', label: t('permission'), kind: 'select', options: PERMISSION_CLASSES },
];

function CreateForm({ tenantId, plan, onDone }: { tenantId: string; plan: NumberingPlan | null; onDone: () => void }): JSX.Element {
  const fields = newFields();
  const form = useForm<ExtensionInput>({
    fields,
    initial: { number: '', displayName: '', password: '', department: '', permissionClass: 'national' },
    toBody: (f) => ({ ...(f as unknown as ExtensionInput), permissionClass: f['permissionClass'] as NonNullable<ExtensionInput['permissionClass']> }),
    check: (b) => validateExtension(b, plan ?? undefined),
    submit: (b) => api('POST', tpath(tenantId, '/extensions'), b),
    onDone,
    doneNote: t('created'),
  });
  return <FormCard form={form} fields={fields} title={t('newExtension')} titleId="new-ext" heading="h2" submitLabel={t('create')} />;
}

const editFields = (): FieldSpec[] => [
  { name: 'displayName', label: t('name') },
  { name: 'department', label: t('department') },
  { name: 'fwd-u', label: t('forwardAlways'), paths: ['forwarding/unconditional'] },
  { name: 'fwd-b', label: t('forwardBusy'), paths: ['forwarding/busy'] },
  { name: 'fwd-n', label: t('forwardNoAnswer'), paths: ['forwarding/noAnswer'] },
];

function EditRow({ tenantId, ext, onDone }: { tenantId: string; ext: Extension; onDone: () => void }): JSX.Element {
  const fields = editFields();
  const form = useForm({
    fields,
    initial: { displayName: ext.displayName, department: ext.department, 'fwd-u': ext.forwarding.unconditional ?? '', 'fwd-b': ext.forwarding.busy ?? '', 'fwd-n': ext.forwarding.noAnswer ?? '' },
    toBody: (f) => ({
      displayName: f['displayName'] ?? '',
      department: f['department'] ?? '',
      forwarding: Object.fromEntries(Object.entries({ unconditional: f['fwd-u'], busy: f['fwd-b'], noAnswer: f['fwd-n'] }).filter(([, v]) => v !== undefined && v !== '')),
    }),
    check: validateExtensionPatch,
    submit: (patch) => api('PATCH', tpath(tenantId, `/extensions/${ext.number}`), patch),
    onDone,
  });
  return (
    <tr>
      <td colSpan={5}>
        <FormCard form={form} fields={fields} prefix="edit-" label={`${t('edit')} ${ext.number}`} submitLabel={t('save')} onCancel={onDone} />
      </td>
    </tr>
  );
}

interface ImportProblem {
  row: number;
  number: string;
  message: string;
}

function Import({ tenantId, plan, onDone }: { tenantId: string; plan: NumberingPlan | null; onDone: () => void }): JSX.Element {
  const [encoding, setEncoding] = useState<'auto' | 'utf-8' | 'shift_jis'>('auto');
  const [progress, setProgress] = useState<string | null>(null);
  const [result, setResult] = useState<{ ok: number; problems: ImportProblem[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async (file: File): Promise<void> => {
    setResult(null);
    setError(null);
    const rows = parseCsv(decodeCsv(await file.arrayBuffer(), encoding));
    const header = (rows.shift() ?? []).map(headerField);
    if (!header.includes('number')) {
      setError(new Error('CSV: no number / 内線番号 column'));
      return;
    }
    const problems: ImportProblem[] = [];
    let ok = 0;
    for (let i = 0; i < rows.length; i++) {
      const rec: Record<string, string> = {};
      header.forEach((h, j) => {
        const v = rows[i]![j]?.trim() ?? '';
        if (h !== undefined && v !== '') rec[h] = v;
      });
      const line = i + 2;
      const v = validateExtension(rec as unknown as ExtensionInput, plan ?? undefined);
      if (!v.ok) {
        problems.push({ row: line, number: rec['number'] ?? '', message: v.problems.map((p) => `${p.field}: ${p.message}`).join('; ') });
        continue;
      }
      try {
        await api('POST', tpath(tenantId, '/extensions'), rec);
        ok++;
      } catch (err) {
        const e = err as ApiError;
        problems.push({ row: line, number: rec['number'] ?? '', message: `${e.code}: ${e.message}` });
      }
      if (i % 10 === 0) setProgress(t('importing', { n: `${i + 1}/${rows.length}` }));
    }
    setProgress(null);
    setResult({ ok, problems });
    onDone();
  };
  return (
    <div class="card">
      <h2 id="import">{t('importCsv')}</h2>
      <div class="grid">
        <div class="field">
          <label for="f-encoding">{t('encoding')}</label>
          <select id="f-encoding" value={encoding} onChange={(e) => setEncoding((e.currentTarget as HTMLSelectElement).value as typeof encoding)}>
            <option value="auto">{t('encodingAuto')}</option>
            <option value="utf-8">UTF-8</option>
            <option value="shift_jis">Shift_JIS</option>
          </select>
        </div>
        <div class="field">
          <label for="f-csv">{t('csvFile')}</label>
          <input id="f-csv" type="file" accept=".csv,text/csv" onChange={(e) => {
            const file = (e.currentTarget as HTMLInputElement).files?.[0];
            if (file !== undefined) void run(file);
          }} />
        </div>
      </div>
      <Notice text={progress} />
      <ErrorBox error={error} />
      {result !== null && (
        <div data-testid="import-result">
          <p role="status">{t('importResult', { ok: result.ok, bad: result.problems.length })}</p>
          {result.problems.length > 0 && (
            <table>
              <caption>{t('error')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('row')}</th>
                  <th scope="col">{t('number')}</th>
                  <th scope="col">{t('error')}</th>
                </tr>
              </thead>
              <tbody>
                {result.problems.map((p) => (
                  <tr key={p.row} data-testid="import-error">
                    <td>{p.row}</td>
                    <td>{p.number}</td>
                    <td>{p.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}

export function Extensions({ tenantId, readOnly, live }: PageProps): JSX.Element {
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  const paging = useCursor();
  const [editing, setEditing] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [opError, setOpError] = useState<unknown>(null);
  const [confirmEl, confirm] = useConfirm();
  const after = paging.cursor;
  const [plan] = useLoad(() => api<NumberingPlan>('GET', tpath(tenantId, '/numbering-plan')), [tenantId]);
  const [page, error, reload] = useLoad(
    () => api<Page<Extension>>('GET', tpath(tenantId, `/extension-search?limit=${PAGE}&q=${encodeURIComponent(query)}${after !== '' ? `&after=${encodeURIComponent(after)}` : ''}`)),
    [tenantId, query, after],
  );
  const remove = (n: string): void =>
    confirm(t('confirmDelete', { what: n }), async () => {
      try {
        await api('DELETE', tpath(tenantId, `/extensions/${n}`));
        setNote(t('deleted'));
        reload();
      } catch (err) {
        setOpError(err);
      }
    });
  const stateOf = (n: string): 'in-call' | 'registered' | 'unregistered' => (live.inCall.includes(n) ? 'in-call' : (live.registered[n] ?? 0) > 0 ? 'registered' : 'unregistered');
  const stateText = { 'in-call': t('inCall'), registered: t('registeredState'), unregistered: t('notRegistered') };
  const enc = lang() === 'ja' ? 'shift_jis' : 'utf-8';
  return (
    <>
      {confirmEl}
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(q);
          paging.reset();
        }}
      >
        <label for="f-q">{t('search')}</label>
        <input id="f-q" type="search" value={q} placeholder={t('searchHint')} onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
        <button type="submit">{t('search')}</button>
        <a class="button" href={tpath(tenantId, `/ledgers/extensions.csv?encoding=${enc}&lang=${lang()}`)} download>
          {t('exportCsv')} ({enc === 'shift_jis' ? 'Shift_JIS' : 'UTF-8'})
        </a>
        <a class="button" href={tpath(tenantId, `/ledgers/extensions.csv?encoding=${enc === 'utf-8' ? 'shift_jis' : 'utf-8'}&lang=${lang()}`)} download>
          {t('exportCsv')} ({enc === 'shift_jis' ? 'UTF-8' : 'Shift_JIS'})
        </a>
      </form>
      <Notice text={note} />
      <ErrorBox error={error ?? opError} />
      <div class="table-wrap">
        <table data-testid="extensions">
          <caption>{page !== null ? t('pageOf', { n: page.items.length }) : t('loading')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('number')}</th>
              <th scope="col">{t('name')}</th>
              <th scope="col">{t('department')}</th>
              <th scope="col">{t('state')}</th>
              <th scope="col">{readOnly ? '' : t('actions')}</th>
            </tr>
          </thead>
          <tbody>
            {page?.items.map((x) =>
              editing === x.number && !readOnly ? (
                <EditRow key={x.number} tenantId={tenantId} ext={x} onDone={() => (setEditing(null), reload())} />
              ) : (
                <tr key={x.number} data-testid={`ext-${x.number}`} data-state={stateOf(x.number)} class={`st-${stateOf(x.number)}`}>
                  <td>{x.number}</td>
                  <td>{x.displayName}</td>
                  <td>{x.department}</td>
                  <td>
                    <span class={`dot ${stateOf(x.number)}`} aria-hidden="true" />
                    {stateText[stateOf(x.number)]}
                    {(live.registered[x.number] ?? 0) > 1 ? ` ×${live.registered[x.number]}` : ''}
                  </td>
                  <td>
                    {!readOnly && (
                      <div class="row">
                        <button type="button" onClick={() => setEditing(x.number)} aria-label={`${t('edit')} ${x.number}`}>
                          {t('edit')}
                        </button>
                        <button type="button" class="danger" onClick={() => remove(x.number)} aria-label={`${t('delete')} ${x.number}`}>
                          {t('delete')}
                        </button>
                      </div>
                    )}
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      </div>
      {paging.pager(page?.next)}
      {!readOnly && (
        <>
          <CreateForm tenantId={tenantId} plan={plan} onDone={reload} />
          <Import tenantId={tenantId} plan={plan} onDone={reload} />
        </>
      )}
    </>
  );
}
