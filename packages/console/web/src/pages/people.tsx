import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, setCsrf, tpath } from '../api.ts';
import { fmtDate, t } from '../i18n.ts';
import type { PageProps, User } from '../session.ts';
import { ErrorBox, Field, Notice, Section, useConfirm, useLoad } from '../ui.tsx';

interface Key {
  id: string;
  name: string;
  createdAt: string;
}

export function ApiKeys({ tenantId, readOnly }: PageProps): JSX.Element {
  const [keys, error, reload] = useLoad(() => api<{ items: Key[] } | Key[]>('GET', tpath(tenantId, '/api-keys')), [tenantId]);
  const [name, setName] = useState('');
  const [issued, setIssued] = useState<string | null>(null);
  const [opError, setOpError] = useState<unknown>(null);
  const [confirmEl, confirm] = useConfirm();
  const list = keys === null ? [] : Array.isArray(keys) ? keys : keys.items;
  const issue = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      const r = await api<{ key: string }>('POST', tpath(tenantId, '/api-keys'), { name });
      setIssued(r.key);
      setName('');
      reload();
    } catch (err) {
      setOpError(err);
    }
  };
  return (
    <>
      {confirmEl}
      <ErrorBox error={error ?? opError} />
      <table data-testid="api-keys">
        <thead>
          <tr>
            <th scope="col">{t('id')}</th>
            <th scope="col">{t('keyName')}</th>
            <th scope="col">{t('createdAt')}</th>
            {!readOnly && <th scope="col">{t('actions')}</th>}
          </tr>
        </thead>
        <tbody>
          {list.map((k) => (
            <tr key={k.id}>
              <td>
                <code>{k.id}</code>
              </td>
              <td>{k.name}</td>
              <td>{fmtDate(k.createdAt)}</td>
              {!readOnly && (
                <td>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`${t('revoke')} ${k.id}`}
                    onClick={() =>
                      confirm(t('confirmDelete', { what: k.name }), async () => {
                        try {
                          await api('DELETE', tpath(tenantId, `/api-keys/${k.id}`));
                          reload();
                        } catch (err) {
                          setOpError(err);
                        }
                      })
                    }
                  >
                    {t('revoke')}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {!readOnly && (
        <form class="card" onSubmit={(e) => void issue(e)}>
          <Field label={t('keyName')} name="key-name" value={name} onInput={setName} required />
          <button type="submit" class="primary">
            {t('issueKey')}
          </button>
          {issued !== null && (
            <p role="status">
              {t('newKey')} <code data-testid="issued-key">{issued}</code>
            </p>
          )}
        </form>
      )}
    </>
  );
}

type UserRow = User & { createdAt: string };

export function Users({ session, tenantId, readOnly }: PageProps): JSX.Element {
  const op = session.user.role === 'operator';
  const base = op ? '/v1/platform/users' : tpath(tenantId, '/users');
  const [users, error, reload] = useLoad(() => api<{ items: UserRow[] }>('GET', base), [base]);
  const [f, setF] = useState({ login: '', name: '', role: op ? 'operator' : 'tenant-viewer', password: '' });
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [opError, setOpError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const [confirmEl, confirm] = useConfirm();
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
  const roleText = (r: string): string => (r === 'operator' ? t('roleOperator') : r === 'tenant-admin' ? t('roleAdmin') : t('roleViewer'));
  const create = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      await api('POST', base, f);
      setNote(t('created'));
      setErrs({});
      setOpError(null);
      setF({ ...f, login: '', name: '', password: '' });
      reload();
    } catch (err) {
      setOpError(err);
      if (err instanceof ApiError) setErrs(err.problems());
    }
  };
  return (
    <>
      {confirmEl}
      <Notice text={note} />
      <ErrorBox error={error ?? opError} />
      <table data-testid="users">
        <thead>
          <tr>
            <th scope="col">{t('loginName')}</th>
            <th scope="col">{t('name')}</th>
            <th scope="col">{t('role')}</th>
            <th scope="col">{t('totp')}</th>
            {!readOnly && <th scope="col">{t('actions')}</th>}
          </tr>
        </thead>
        <tbody>
          {(users?.items ?? []).map((u) => (
            <tr key={u.id}>
              <td>{u.login}</td>
              <td>{u.name}</td>
              <td>{roleText(u.role)}</td>
              <td>{u.totp ? t('totpOn') : t('totpOff')}</td>
              {!readOnly && (
                <td>
                  {u.id !== session.user.id && (
                    <button
                      type="button"
                      class="danger"
                      aria-label={`${t('delete')} ${u.login}`}
                      onClick={() =>
                        confirm(t('confirmDelete', { what: u.login }), async () => {
                          try {
                            await api('DELETE', `${base}/${u.id}`);
                            reload();
                          } catch (err) {
                            setOpError(err);
                          }
                        })
                      }
                    >
                      {t('delete')}
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {!readOnly && (
        <form class="card" onSubmit={(e) => void create(e)} aria-labelledby="new-user">
          <h2 id="new-user">{t('newUser')}</h2>
          <div class="grid">
            <Field label={t('loginName')} name="user-login" value={f.login} onInput={set('login')} error={errs['login']} required />
            <Field label={t('name')} name="user-name" value={f.name} onInput={set('name')} error={errs['name']} required />
            <Field label={t('newPassword')} name="user-password" type="password" value={f.password} onInput={set('password')} error={errs['password']} autocomplete="new-password" required />
            {!op && (
              <div class="field">
                <label for="f-user-role">{t('role')}</label>
                <select id="f-user-role" value={f.role} onChange={(e) => set('role')((e.currentTarget as HTMLSelectElement).value)}>
                  <option value="tenant-admin">{t('roleAdmin')}</option>
                  <option value="tenant-viewer">{t('roleViewer')}</option>
                </select>
              </div>
            )}
          </div>
          <button type="submit" class="primary">
            {t('create')}
          </button>
        </form>
      )}
    </>
  );
}

export function Account({ session }: PageProps): JSX.Element {
  const [pw, setPw] = useState({ current: '', password: '' });
  const [secret, setSecret] = useState<{ secret: string; uri: string } | null>(null);
  const [code, setCode] = useState('');
  const [totp, setTotp] = useState(session.user.totp);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const [confirmEl, confirm] = useConfirm();
  const run = (fn: () => Promise<void>) => async (e?: Event) => {
    e?.preventDefault();
    setError(null);
    setNote(null);
    try {
      await fn();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      {confirmEl}
      <Notice text={note} />
      <ErrorBox error={error} />
      <Section title={t('changePassword')} id="pw">
        <form
          class="card"
          onSubmit={(e) =>
            void run(async () => {
              const s = await api<{ csrf: string }>('POST', '/v1/session/password', pw);
              setCsrf(s.csrf);
              setPw({ current: '', password: '' });
              setNote(t('saved'));
            })(e)
          }
        >
          <Field label={t('currentPassword')} name="pw-current" type="password" value={pw.current} onInput={(v) => setPw({ ...pw, current: v })} autocomplete="current-password" required />
          <Field label={t('newPassword')} name="pw-new" type="password" value={pw.password} onInput={(v) => setPw({ ...pw, password: v })} autocomplete="new-password" required />
          <button type="submit" class="primary">
            {t('save')}
          </button>
        </form>
      </Section>
      <Section title={t('totp')} id="totp">
        <p>{totp ? t('totpOn') : t('totpOff')}</p>
        {!totp && secret === null && (
          <button type="button" onClick={() => void run(async () => setSecret(await api('POST', '/v1/session/totp/setup')))()}>
            {t('totpSetup')}
          </button>
        )}
        {(secret !== null || totp) && (
          <form
            class="card"
            onSubmit={(e) =>
              void run(async () => {
                if (totp) await api('DELETE', '/v1/session/totp', { code });
                else await api('POST', '/v1/session/totp/enable', { secret: secret?.secret, code });
                setTotp(!totp);
                setSecret(null);
                setCode('');
                setNote(t('saved'));
              })(e)
            }
          >
            {secret !== null && (
              <p>
                {t('totpSecret')}: <code data-testid="totp-secret">{secret.secret}</code>
              </p>
            )}
            <Field label={t('totpCode')} name="totp-code" value={code} onInput={setCode} inputMode="numeric" autocomplete="one-time-code" required />
            <button type="submit" class="primary">
              {totp ? t('totpDisable') : t('totpEnable')}
            </button>
          </form>
        )}
      </Section>
      <Section title={t('logoutAll')} id="logout-all">
        <button
          type="button"
          class="danger"
          onClick={() =>
            confirm(t('logoutAll'), async () => {
              await api('DELETE', '/v1/sessions');
              location.reload();
            })
          }
        >
          {t('logoutAll')}
        </button>
      </Section>
    </>
  );
}
