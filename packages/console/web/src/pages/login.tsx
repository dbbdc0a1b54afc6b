import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, setCsrf } from '../api.ts';
import { t } from '../i18n.ts';
import type { Session } from '../session.ts';
import { ErrorBox, Field } from '../ui.tsx';

export function Login(p: { pending: boolean; onSession: (s: Session) => void }): JSX.Element {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [pending, setPending] = useState(p.pending);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = pending ? await api<Session>('POST', '/v1/session/totp', { code }) : await api<Session>('POST', '/v1/session', { login, password });
      setCsrf(s.csrf);
      if (s.stage === 'pending-totp') setPending(true);
      else p.onSession(s);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card login" onSubmit={(e) => void submit(e)}>
      <h1>{pending ? t('totpTitle') : t('loginTitle')}</h1>
      <ErrorBox error={error} />
      {pending ? (
        <Field label={t('totpCode')} name="code" value={code} onInput={setCode} autocomplete="one-time-code" inputMode="numeric" required />
      ) : (
        <>
          <Field label={t('loginName')} name="login" value={login} onInput={setLogin} autocomplete="username" required />
          <Field label={t('password')} name="password" type="password" value={password} onInput={setPassword} autocomplete="current-password" required />
        </>
      )}
      <button type="submit" class="primary" disabled={busy}>
        {pending ? t('verify') : t('login')}
      </button>
    </form>
  );
}
