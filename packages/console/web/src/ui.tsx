import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';
import { errorMessage, t } from './i18n.ts';

export function ErrorBox({ error }: { error: unknown }): JSX.Element | null {
  if (error === null || error === undefined) return null;
  if (error instanceof ApiError) {
    const problems = Object.entries(error.problems());
    return (
      <div class="error" role="alert">
        <p>
          {errorMessage(error.code, error.details)} <code>{error.code}</code>
        </p>
        {problems.length > 0 && (
          <ul>
            {problems.map(([f, m]) => (
              <li key={f}>
                <strong>{f}</strong>: {m}
              </li>
            ))}
          </ul>
        )}
      </div>
    );
  }
  return (
    <div class="error" role="alert">
      <p>{String((error as Error).message ?? error)}</p>
    </div>
  );
}

export function Notice({ text }: { text: string | null }): JSX.Element | null {
  return text === null ? null : (
    <p class="notice" role="status">
      {text}
    </p>
  );
}

export function Field(p: {
  label: string;
  name: string;
  value: string;
  onInput: (v: string) => void;
  type?: 'text' | 'password' | 'search';
  required?: boolean;
  error?: string | undefined;
  autocomplete?: string;
  disabled?: boolean;
  pattern?: string;
  inputMode?: 'numeric' | 'text';
}): JSX.Element {
  const id = `f-${p.name}`;
  return (
    <div class="field">
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name}
        type={(p.type ?? 'text') as 'text'}
        value={p.value}
        required={p.required}
        disabled={p.disabled}
        autocomplete={p.autocomplete ?? 'off'}
        inputMode={p.inputMode}
        aria-invalid={p.error !== undefined ? 'true' : undefined}
        aria-describedby={p.error !== undefined ? `${id}-err` : undefined}
        onInput={(e) => p.onInput((e.currentTarget as HTMLInputElement).value)}
      />
      {p.error !== undefined && (
        <span id={`${id}-err`} class="field-error">
          {p.error}
        </span>
      )}
    </div>
  );
}

/** A confirmation in a modal <dialog> (focus trapped by the browser, Esc cancels). */
export function Confirm(p: { open: boolean; text: string; typeToConfirm?: string; onYes: () => void; onNo: () => void }): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  useEffect(() => {
    const d = ref.current;
    if (d === null) return;
    if (p.open && !d.open) {
      setTyped('');
      d.showModal();
    }
    if (!p.open && d.open) d.close();
  }, [p.open]);
  const ok = p.typeToConfirm === undefined || typed === p.typeToConfirm;
  return (
    <dialog ref={ref} aria-labelledby="confirm-text" onCancel={p.onNo}>
      <p id="confirm-text">{p.text}</p>
      {p.typeToConfirm !== undefined && <Field label={t('id')} name="confirm-id" value={typed} onInput={setTyped} />}
      <div class="row">
        <button type="button" class="danger" disabled={!ok} onClick={p.onYes}>
          {t('confirm')}
        </button>
        <button type="button" onClick={p.onNo}>
          {t('cancel')}
        </button>
      </div>
    </dialog>
  );
}

/** Asks before doing something destructive. */
export function useConfirm(): [JSX.Element, (text: string, action: () => Promise<void> | void, typeToConfirm?: string) => void] {
  const [state, setState] = useState<{ text: string; action: () => Promise<void> | void; typeToConfirm?: string | undefined } | null>(null);
  const el = (
    <Confirm
      open={state !== null}
      text={state?.text ?? ''}
      {...(state?.typeToConfirm !== undefined ? { typeToConfirm: state.typeToConfirm } : {})}
      onNo={() => setState(null)}
      onYes={() => {
        const a = state?.action;
        setState(null);
        void a?.();
      }}
    />
  );
  return [el, (text, action, typeToConfirm) => setState({ text, action, typeToConfirm })];
}

export function Section(p: { title: string; children: ComponentChildren; id?: string }): JSX.Element {
  const hid = `h-${p.id ?? p.title.replace(/\W+/g, '-')}`;
  return (
    <section aria-labelledby={hid}>
      <h2 id={hid}>{p.title}</h2>
      {p.children}
    </section>
  );
}

/** Loads once (and when deps change); returns [data, error, reload]. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[] = []): [T | null, unknown, () => void] {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    fn().then(
      (d) => live && (setData(d), setError(null)),
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return [data, error, () => setN((x) => x + 1)];
}

export function Loading(): JSX.Element {
  return <p aria-busy="true">{t('loading')}</p>;
}
