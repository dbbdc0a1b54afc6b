import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import {
  validateDid,
  validateNumberingPlan,
  validatePickupGroup,
  validateRingGroup,
  validateTrunk,
  CALLER_NAME_MODES,
  DID_TARGET_TYPES,
  NUMBER_FORMATS,
  RING_STRATEGIES,
  TRANSPORTS,
  TRUNK_ROLES,
  type DidInput,
  type NumberingPlan,
  type RingGroupInput,
  type TrunkInput,
} from '@kumo/domain';
import { api, tpath, type Page } from '../api.ts';
import { fmtDate, opts, t, word, type MsgKey } from '../i18n.ts';
import type { PageProps } from '../session.ts';
import { ErrorBox, FormCard, Loading, Notice, Section, useConfirm, useForm, useLoad, type Checked, type FieldSpec } from '../ui.tsx';

type Row = Record<string, unknown>;
interface Col {
  key: MsgKey;
  value: (r: Row) => string | JSX.Element;
}

/** A list of one resource with edit and delete (confirmed) for admins, and its create form. */
function ResourceTable(p: {
  title: MsgKey;
  path: string;
  idOf: (r: Row) => string;
  cols: Col[];
  tenantId: string;
  readOnly: boolean;
  testid: string;
  create?: (reload: () => void) => JSX.Element;
  edit?: (row: Row, done: () => void, cancel: () => void) => JSX.Element;
}): JSX.Element {
  const [data, error, reload] = useLoad(() => api<Page<Row> | Row[]>('GET', tpath(p.tenantId, p.path)), [p.tenantId, p.path]);
  const [confirmEl, confirm] = useConfirm();
  const [note, setNote] = useState<string | null>(null);
  const [opError, setOpError] = useState<unknown>(null);
  const [editing, setEditing] = useState<string | null>(null);
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
  const span = p.cols.length + (p.readOnly ? 0 : 1);
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
              {items.map((r) =>
                editing === p.idOf(r) && !p.readOnly && p.edit !== undefined ? (
                  <tr key={p.idOf(r)}>
                    <td colSpan={span}>
                      {p.edit(
                        r,
                        () => {
                          setEditing(null);
                          setNote(t('saved'));
                          reload();
                        },
                        () => setEditing(null),
                      )}
                    </td>
                  </tr>
                ) : (
                  <tr key={p.idOf(r)} data-testid={`${p.testid}-${p.idOf(r)}`}>
                    {p.cols.map((c) => (
                      <td key={c.key}>{c.value(r)}</td>
                    ))}
                    {!p.readOnly && (
                      <td>
                        <div class="row">
                          {p.edit !== undefined && (
                            <button type="button" onClick={() => (setNote(null), setEditing(p.idOf(r)))} aria-label={`${t('edit')} ${p.idOf(r)}`}>
                              {t('edit')}
                            </button>
                          )}
                          <button type="button" class="danger" onClick={() => remove(p.idOf(r))} aria-label={`${t('delete')} ${p.idOf(r)}`}>
                            {t('delete')}
                          </button>
                        </div>
                      </td>
                    )}
                  </tr>
                ),
              )}
            </tbody>
          </table>
        </div>
      )}
      {!p.readOnly && p.create?.(reload)}
    </Section>
  );
}

/** One create or edit form of a resource: the shared form, validated with the API's validator. */
function ResourceForm<B>(p: {
  id: string;
  title?: string;
  label?: string;
  fields: FieldSpec[];
  initial: Record<string, string>;
  toBody: (f: Record<string, string>) => B;
  check: (b: B) => Checked;
  submit: (b: B) => Promise<unknown>;
  onDone: () => void;
  /** An edit form (saves, keeps its inputs) with a cancel button. */
  onCancel?: () => void;
}): JSX.Element {
  const edit = p.onCancel !== undefined;
  const form = useForm<B>({ fields: p.fields, initial: p.initial, toBody: p.toBody, check: p.check, submit: p.submit, onDone: p.onDone, doneNote: edit ? null : t('created') });
  return (
    <FormCard
      form={form}
      fields={p.fields}
      prefix={`${p.id}-`}
      {...(p.title !== undefined ? { title: p.title, titleId: p.id } : { label: p.label ?? p.id })}
      submitLabel={edit ? t('save') : t('create')}
      {...(p.onCancel !== undefined ? { onCancel: p.onCancel } : {})}
    />
  );
}

const list = (s: string): string[] => s.split(/[\s,、]+/).filter((x) => x !== '');
const s = (k: string) => (r: Row) => (r[k] === undefined || r[k] === null ? '' : String(r[k]));

// ---- groups -----------------------------------------------------------------------------------------

type RgMember = { extension: string; timeoutSec?: number };
const rgFields = (edit: boolean): FieldSpec[] => [
  ...(edit ? [] : [{ name: 'number', label: t('number'), inputMode: 'numeric' as const }]),
  { name: 'name', label: t('name') },
  { name: 'strategy', label: t('strategy'), kind: 'select', options: opts(RING_STRATEGIES, 'strategy_') },
  { name: 'members', label: `${t('members')} (1001, 1002)` },
  { name: 'totalTimeoutSec', label: t('totalTimeout'), inputMode: 'numeric' },
  { name: 'overflow', label: t('overflow') },
];
function rgBody(f: Record<string, string>, keep: readonly RgMember[] = []): RingGroupInput {
  const members = list(f['members'] ?? '').map((extension) => keep.find((m) => m.extension === extension) ?? { extension });
  return {
    number: f['number'] ?? '',
    name: f['name'] ?? '',
    strategy: (f['strategy'] ?? 'ring-all') as RingGroupInput['strategy'],
    members,
    ...(f['totalTimeoutSec'] !== undefined && f['totalTimeoutSec'] !== '' ? { totalTimeoutSec: Number(f['totalTimeoutSec']) } : {}),
    ...(f['overflow'] !== undefined && f['overflow'] !== '' ? { overflow: f['overflow'] } : {}),
  };
}

export function Groups({ tenantId, readOnly }: PageProps): JSX.Element {
  const [plan] = useLoad(() => api<NumberingPlan>('GET', tpath(tenantId, '/numbering-plan')), [tenantId]);
  return (
    <>
      <ResourceTable
        create={(reload) => (
          <ResourceForm<RingGroupInput>
            id="new-rg"
            title={`${t('ringGroups')}: ${t('add')}`}
            fields={rgFields(false)}
            initial={{ number: '', name: '', strategy: 'ring-all', members: '', totalTimeoutSec: '', overflow: '' }}
            toBody={(f) => rgBody(f)}
            check={(b) => validateRingGroup(b, plan ?? undefined)}
            submit={(b) => api('POST', tpath(tenantId, '/ring-groups'), b)}
            onDone={reload}
          />
        )}
        edit={(r, done, cancel) => {
          const keep = (r['members'] as RgMember[] | undefined) ?? [];
          return (
            <ResourceForm<RingGroupInput>
              id="edit-rg"
              onCancel={cancel}
              label={`${t('edit')} ${s('number')(r)}`}
              fields={rgFields(true)}
              initial={{ number: s('number')(r), name: s('name')(r), strategy: s('strategy')(r), members: keep.map((m) => m.extension).join(', '), totalTimeoutSec: s('totalTimeoutSec')(r), overflow: s('overflow')(r) }}
              toBody={(f) => rgBody(f, keep)}
              check={(b) => validateRingGroup(b, plan ?? undefined)}
              submit={({ number, overflow, ...rest }) => api('PATCH', tpath(tenantId, `/ring-groups/${number}`), { ...rest, overflow: overflow ?? null })}
              onDone={done}
            />
          );
        }}
        title="ringGroups"
        testid="ring-groups"
        path="/ring-groups"
        tenantId={tenantId}
        readOnly={readOnly}
        idOf={s('number')}
        cols={[
          { key: 'number', value: s('number') },
          { key: 'name', value: s('name') },
          { key: 'strategy', value: (r) => opts(RING_STRATEGIES, 'strategy_').find((o) => o.value === r['strategy'])?.label ?? s('strategy')(r) },
          { key: 'members', value: (r) => ((r['members'] as RgMember[] | undefined) ?? []).map((m) => m.extension).join(', ') },
        ]}
      />
      <ResourceTable
        create={(reload) => (
          <ResourceForm<{ id: string; name: string; members: string[] }>
            id="new-pg"
            title={`${t('pickupGroups')}: ${t('add')}`}
            fields={[
              { name: 'id', label: t('id') },
              { name: 'name', label: t('name') },
              { name: 'members', label: `${t('members')} (1001, 1002)` },
            ]}
            initial={{ id: '', name: '', members: '' }}
            toBody={(f) => ({ id: f['id'] ?? '', name: f['name'] ?? '', members: list(f['members'] ?? '') })}
            check={validatePickupGroup}
            submit={(b) => api('POST', tpath(tenantId, '/pickup-groups'), b)}
            onDone={reload}
          />
        )}
        edit={(r, done, cancel) => (
          <ResourceForm<{ id: string; name: string; members: string[] }>
            id="edit-pg"
            onCancel={cancel}
            label={`${t('edit')} ${s('id')(r)}`}
            fields={[
              { name: 'name', label: t('name') },
              { name: 'members', label: `${t('members')} (1001, 1002)` },
            ]}
            initial={{ name: s('name')(r), members: ((r['members'] as string[] | undefined) ?? []).join(', ') }}
            toBody={(f) => ({ id: s('id')(r), name: f['name'] ?? '', members: list(f['members'] ?? '') })}
            check={validatePickupGroup}
            submit={({ id, ...rest }) => api('PATCH', tpath(tenantId, `/pickup-groups/${encodeURIComponent(id)}`), rest)}
            onDone={done}
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

// ---- trunks -------------------------------------------------------------------------------------------

interface Gw {
  host: string;
  port: number;
  transport: string;
  priority: number;
}
interface TrunkStatus {
  registration?: { state: string; expiresAt?: string; failures?: number; lastStatus?: number };
  gateways: { host: string; port: number; transport: string; state: string; since?: string; lastStatus?: number }[];
}

/** Gateways as text: one a line, `host [port] [transport] [priority]`. */
const gwText = (gws: readonly Gw[]): string => gws.map((g) => `${g.host} ${g.port} ${g.transport} ${g.priority}`).join('\n');
function gwParse(text: string): TrunkInput['gateways'] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const [host = '', ...rest] = l.split(/\s+/);
      const port = rest.find((x) => /^\d+$/.test(x));
      const transport = rest.find((x) => !/^\d+$/.test(x));
      const nums = rest.filter((x) => /^\d+$/.test(x));
      return {
        host,
        ...(port !== undefined ? { port: Number(port) } : {}),
        ...(transport !== undefined ? { transport: transport.toLowerCase() as (typeof TRANSPORTS)[number] } : {}),
        ...(nums[1] !== undefined ? { priority: Number(nums[1]) } : {}),
      };
    });
}

const trunkFields = (edit: boolean, hasReg: boolean): FieldSpec[] => [
  ...(edit ? [] : [{ name: 'id', label: t('id') }]),
  { name: 'name', label: t('name') },
  { name: 'gateways', label: t('gatewaysHint'), kind: 'textarea', rows: 3 },
  { name: 'channelLimit', label: t('channels'), inputMode: 'numeric' },
  { name: 'roles', label: t('trunkRoles'), kind: 'checks', options: opts(TRUNK_ROLES, 'role_') },
  { name: 'numberFormat', label: t('numberFormat'), kind: 'select', options: opts(NUMBER_FORMATS, 'format_') },
  { name: 'callerId', label: t('callerId') },
  { name: 'callerName', label: t('callerName'), kind: 'select', options: opts(CALLER_NAME_MODES, 'callerName_') },
  { name: 'callerNameFixed', label: t('callerNameFixed') },
  { name: 'regUser', label: t('regUser'), paths: ['registration/username', 'registration'] },
  { name: 'regPassword', label: hasReg ? t('regPasswordKeep') : t('regPassword'), kind: 'password', autocomplete: 'new-password', paths: ['registration/password'] },
  { name: 'regRealm', label: t('regRealm'), paths: ['registration/realm'] },
  { name: 'regExpires', label: t('regExpires'), inputMode: 'numeric', paths: ['registration/expiresSec'] },
];

function trunkInitial(r?: Row): Record<string, string> {
  const reg = r?.['registration'] as { username: string; realm?: string; expiresSec?: number } | undefined;
  return {
    id: r === undefined ? '' : s('id')(r),
    name: r === undefined ? '' : s('name')(r),
    gateways: r === undefined ? '' : gwText((r['gateways'] as Gw[] | undefined) ?? []),
    channelLimit: r === undefined ? '10' : s('channelLimit')(r),
    roles: r === undefined ? 'ordinary,emergency' : ((r['roles'] as string[] | undefined) ?? ['ordinary']).join(','),
    numberFormat: r === undefined ? 'national' : s('numberFormat')(r) || 'national',
    callerId: r === undefined ? '' : s('callerId')(r),
    callerName: r === undefined ? 'none' : s('callerName')(r) || 'none',
    callerNameFixed: r === undefined ? '' : s('callerNameFixed')(r),
    regUser: reg?.username ?? '',
    regPassword: '',
    regRealm: reg?.realm ?? '',
    regExpires: reg?.expiresSec !== undefined ? String(reg.expiresSec) : '3600',
  };
}

/** The trunk as the API takes it. `keepPassword`: an edit with a stored registration password and none typed. */
function trunkBody(f: Record<string, string>, keepPassword = false): TrunkInput {
  const user = f['regUser'] ?? '';
  const pw = f['regPassword'] ?? '';
  return {
    id: f['id'] ?? '',
    name: f['name'] ?? '',
    gateways: gwParse(f['gateways'] ?? ''),
    channelLimit: Number(f['channelLimit'] ?? ''),
    roles: (f['roles'] ?? '').split(',').filter((x) => x !== '') as TrunkInput['roles'] & string[],
    numberFormat: (f['numberFormat'] ?? 'national') as TrunkInput['numberFormat'] & string,
    ...(f['callerId'] !== '' ? { callerId: f['callerId'] ?? '' } : {}),
    callerName: (f['callerName'] ?? 'none') as TrunkInput['callerName'] & string,
    ...(f['callerNameFixed'] !== '' ? { callerNameFixed: f['callerNameFixed'] ?? '' } : {}),
    ...(user !== ''
      ? {
          registration: {
            username: user,
            // Write-only: an edit that leaves it blank keeps the stored one (the API merges).
            password: pw === '' && keepPassword ? '\u0000keep' : pw,
            ...(f['regRealm'] !== '' ? { realm: f['regRealm'] ?? '' } : {}),
            ...(f['regExpires'] !== '' ? { expiresSec: Number(f['regExpires']) } : {}),
          },
        }
      : {}),
  };
}

/** A merge patch of every editable setting (null removes what was emptied). */
function trunkPatch(b: TrunkInput): Record<string, unknown> {
  const { id: _id, registration, callerId, callerNameFixed, ...rest } = b;
  let reg: Record<string, unknown> | null = null;
  if (registration !== undefined) {
    const { password, realm, ...r } = registration;
    reg = { ...r, realm: realm ?? null, ...(password === '\u0000keep' ? {} : { password }) };
  }
  return { ...rest, callerId: callerId ?? null, callerNameFixed: callerNameFixed ?? null, registration: reg };
}

const stateClass = (st: string): string => (st === 'up' || st === 'registered' ? 'registered' : st === 'down' || st === 'failed' ? 'down' : 'unregistered');

/** Gateway health (OPTIONS pings) and carrier registration of one trunk, refreshed every 5 s. */
function TrunkHealth({ tenantId, id }: { tenantId: string; id: string }): JSX.Element {
  const [st, setSt] = useState<TrunkStatus | null>(null);
  useEffect(() => {
    let live = true;
    const load = (): void => void api<TrunkStatus>('GET', tpath(tenantId, `/trunks/${encodeURIComponent(id)}/status`)).then((x) => live && setSt(x), () => undefined);
    load();
    const timer = setInterval(load, 5000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [tenantId, id]);
  if (st === null) return <span aria-busy="true">…</span>;
  const health = (x: string): string => word('health_', x);
  return (
    <ul class="plain" data-testid={`trunk-health-${id}`}>
      {st.gateways.map((g) => (
        <li key={`${g.host}:${g.port}`} data-state={g.state}>
          <span class={`dot ${stateClass(g.state)}`} aria-hidden="true" />
          {g.host}:{g.port}/{g.transport} {health(g.state)}
          {g.since !== undefined ? ` (${fmtDate(g.since)})` : ''}
        </li>
      ))}
      {st.registration !== undefined && (
        <li data-testid={`trunk-reg-${id}`} data-state={st.registration.state}>
          <span class={`dot ${stateClass(st.registration.state)}`} aria-hidden="true" />
          {t('registration')}: {health(st.registration.state)}
          {st.registration.lastStatus !== undefined ? ` (${st.registration.lastStatus})` : ''}
        </li>
      )}
    </ul>
  );
}

export function Trunks({ tenantId, readOnly }: PageProps): JSX.Element {
  return (
    <ResourceTable
      create={(reload) => (
        <ResourceForm<TrunkInput>
          id="new-trunk"
          title={`${t('trunks')}: ${t('add')}`}
          fields={trunkFields(false, false)}
          initial={trunkInitial()}
          toBody={(f) => trunkBody(f)}
          check={(b) => validateTrunk(b)}
          submit={(b) => api('POST', tpath(tenantId, '/trunks'), b)}
          onDone={reload}
        />
      )}
      edit={(r, done, cancel) => {
        const hasReg = r['registration'] !== undefined;
        return (
          <ResourceForm<TrunkInput>
            id="edit-trunk"
            onCancel={cancel}
            label={`${t('edit')} ${s('id')(r)}`}
            fields={trunkFields(true, hasReg)}
            initial={trunkInitial(r)}
            toBody={(f) => trunkBody(f, hasReg)}
            check={(b) => validateTrunk(b)}
            submit={(b) => api('PATCH', tpath(tenantId, `/trunks/${encodeURIComponent(b.id)}`), trunkPatch(b))}
            onDone={done}
          />
        );
      }}
      title="trunks"
      testid="trunks"
      path="/trunks"
      tenantId={tenantId}
      readOnly={readOnly}
      idOf={s('id')}
      cols={[
        { key: 'id', value: s('id') },
        { key: 'name', value: s('name') },
        { key: 'channels', value: s('channelLimit') },
        { key: 'trunkRoles', value: (r) => ((r['roles'] as string[] | undefined) ?? []).map((x) => word('role_', x)).join(', ') },
        { key: 'gatewayHealth', value: (r) => <TrunkHealth tenantId={tenantId} id={s('id')(r)} /> },
      ]}
    />
  );
}

// ---- DIDs ------------------------------------------------------------------------------------------------

const didFields = (edit: boolean): FieldSpec[] => [
  ...(edit ? [] : [{ name: 'number', label: `${t('number')} (0312345678)`, inputMode: 'numeric' as const }]),
  { name: 'type', label: t('target'), kind: 'select', options: opts(DID_TARGET_TYPES, 'didTarget_'), paths: ['target/type'] },
  { name: 'target', label: t('targetNumber'), inputMode: 'numeric', paths: ['target/number', 'target'] },
  { name: 'description', label: t('description') },
];
const didBody = (f: Record<string, string>): DidInput => ({
  number: f['number'] ?? '',
  target: { type: (f['type'] ?? 'extension') as DidInput['target']['type'], number: f['target'] ?? '' },
  description: f['description'] ?? '',
});
const didTargetText = (r: Row): string => {
  const tg = r['target'] as { type?: string; number?: string } | undefined;
  return tg === undefined ? '' : `${word('didTarget_', tg.type ?? 'extension')} ${tg.number ?? ''}`;
};

export function Dids({ tenantId, readOnly }: PageProps): JSX.Element {
  return (
    <ResourceTable
      create={(reload) => (
        <ResourceForm<DidInput>
          id="new-did"
          title={`${t('dids')}: ${t('add')}`}
          fields={didFields(false)}
          initial={{ number: '', type: 'extension', target: '', description: '' }}
          toBody={didBody}
          check={validateDid}
          submit={(b) => api('POST', tpath(tenantId, '/dids'), b)}
          onDone={reload}
        />
      )}
      edit={(r, done, cancel) => {
        const tg = (r['target'] as { type: string; number: string } | undefined) ?? { type: 'extension', number: '' };
        return (
          <ResourceForm<DidInput>
            id="edit-did"
            onCancel={cancel}
            label={`${t('edit')} ${s('number')(r)}`}
            fields={didFields(true)}
            initial={{ number: s('number')(r), type: tg.type, target: tg.number, description: s('description')(r) }}
            toBody={didBody}
            check={validateDid}
            submit={({ number, ...rest }) => api('PATCH', tpath(tenantId, `/dids/${encodeURIComponent(number)}`), rest)}
            onDone={done}
          />
        );
      }}
      title="dids"
      testid="dids"
      path="/dids"
      tenantId={tenantId}
      readOnly={readOnly}
      idOf={s('number')}
      cols={[
        { key: 'number', value: s('number') },
        { key: 'target', value: didTargetText },
        { key: 'description', value: s('description') },
      ]}
    />
  );
}

// ---- numbering plan --------------------------------------------------------------------------------------

const planFields = (): FieldSpec[] => [
  { name: 'extensionLength', label: t('extensionLength'), inputMode: 'numeric' },
  { name: 'outsideLinePrefix', label: t('outsideLinePrefix'), inputMode: 'numeric' },
  { name: 'pickup', label: t('pickupCode'), paths: ['featureCodes/pickup'] },
  { name: 'directedPickup', label: t('directedPickupCode'), paths: ['featureCodes/directedPickup'] },
];

function PlanForm({ tenantId, plan, onDone }: { tenantId: string; plan: NumberingPlan; onDone: () => void }): JSX.Element {
  const fields = planFields();
  const form = useForm({
    fields,
    initial: { extensionLength: String(plan.extensionLength), outsideLinePrefix: plan.outsideLinePrefix, pickup: plan.featureCodes.pickup, directedPickup: plan.featureCodes.directedPickup },
    toBody: (f) => ({ extensionLength: Number(f['extensionLength']), outsideLinePrefix: f['outsideLinePrefix'] ?? '', featureCodes: { pickup: f['pickup'] ?? '', directedPickup: f['directedPickup'] ?? '' } }),
    check: (b) => validateNumberingPlan(b),
    submit: (b) => api('PATCH', tpath(tenantId, '/numbering-plan'), b),
    onDone,
    doneNote: t('saved'),
  });
  return <FormCard form={form} fields={fields} prefix="plan-" title={t('editPlan')} titleId="edit-plan" submitLabel={t('save')} />;
}

export function Plan({ tenantId, readOnly }: PageProps): JSX.Element {
  const [plan, error, reload] = useLoad(() => api<NumberingPlan>('GET', tpath(tenantId, '/numbering-plan')), [tenantId]);
  const rows: [MsgKey, string][] =
    plan === null
      ? []
      : [
          ['extensionLength', String(plan.extensionLength)],
          ['outsideLinePrefix', plan.outsideLinePrefix === '' ? t('none') : plan.outsideLinePrefix],
          ['pickupCode', plan.featureCodes.pickup],
          ['directedPickupCode', plan.featureCodes.directedPickup],
        ];
  return (
    <>
      <ErrorBox error={error} />
      {plan === null ? (
        error === null && <Loading />
      ) : (
        <>
          <table data-testid="plan">
            <thead>
              <tr>
                <th scope="col">{t('setting')}</th>
                <th scope="col">{t('value')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{t(k)}</th>
                  <td data-testid={`plan-${k}`}>{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {!readOnly && <PlanForm key={JSON.stringify(plan)} tenantId={tenantId} plan={plan} onDone={reload} />}
        </>
      )}
    </>
  );
}
