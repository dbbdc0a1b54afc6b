import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, tpath, type Page } from '../api.ts';
import { t, type MsgKey } from '../i18n.ts';
import type { PageProps } from '../session.ts';
import { ErrorBox, Loading, Notice, Section, useConfirm, useLoad } from '../ui.tsx';

type Row = Record<string, unknown>;
interface Col {
  key: MsgKey;
  value: (r: Row) => string;
}

/** A list of one resource with delete (confirmed) for admins. */
function ResourceTable(p: { title: MsgKey; path: string; idOf: (r: Row) => string; cols: Col[]; tenantId: string; readOnly: boolean; testid: string }): JSX.Element {
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
    </Section>
  );
}

const s = (k: string) => (r: Row) => (r[k] === undefined || r[k] === null ? '' : String(r[k]));

export function Groups({ tenantId, readOnly }: PageProps): JSX.Element {
  return (
    <>
      <ResourceTable
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
