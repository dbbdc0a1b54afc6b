import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';
import { errorMessage, problemText, t, tokyoMonth } from './i18n.ts';

export function ErrorBox({ error }: { error: unknown }): JSX.Element | null {
  if (error === null || error === undefined) return null;
  if (error instanceof ApiError) {
    const problems = Object.entries(error.problems());
    return (
      <div class="error" role="alert">
        <p>
          {errorMessage(error.code, error.details, error.message)} <code>{error.code}</code>
        </p>
        {problems.length > 0 && (
          <ul>
            {problems.map(([f, m]) => (
              <li key={f}>
                <strong>{f}</strong>: {problemText(m)}
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

// ---- forms --------------------------------------------------------------------------------------

/** What a validator returns (`@kumo/domain`'s `Validation`, without its value). */
export interface Checked {
  ok: boolean;
  problems?: readonly { field: string; message: string }[];
}

/** One input of a form. `paths`: the problem fields (`a/b/0`) shown at this input (default: its name). */
export interface FieldSpec {
  name: string;
  label: string;
  /** `datetime`: a local date and time in Asia/Tokyo (`toIsoJst` turns it into ISO 8601). */
  kind?: 'text' | 'password' | 'select' | 'textarea' | 'checks' | 'datetime';
  options?: readonly (string | { value: string; label: string })[];
  inputMode?: 'numeric' | 'text';
  autocomplete?: string;
  required?: boolean;
  paths?: readonly string[];
  rows?: number;
}

type Values = Record<string, string>;

/** Problems (from the shared validator or the API) as input name → localized message. */
export function problemsByField(problems: readonly { field: string; message: string }[], fields: readonly FieldSpec[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of problems) {
    const f =
      fields.find((x) => (x.paths ?? [x.name]).some((q) => p.field === q || p.field.startsWith(`${q}/`))) ??
      fields.find((x) => p.field.split('/')[0] === x.name);
    const key = f?.name ?? p.field;
    out[key] ??= problemText(p.message);
  }
  return out;
}

export interface FormState {
  values: Values;
  set: (name: string) => (v: string) => void;
  errs: Record<string, string>;
  error: unknown;
  note: string | null;
  onSubmit: (e: Event) => void;
}

/**
 * A form's state and submit: builds the API body from the inputs, checks it with the API's own
 * validator (problems shown at their inputs, nothing sent), sends it, and shows the API's error
 * code and field problems the same way.
 */
export function useForm<B>(p: {
  fields: readonly FieldSpec[];
  initial: Values;
  toBody: (v: Values) => B;
  check?: (b: B) => Checked;
  submit: (b: B) => Promise<unknown>;
  onDone?: () => void;
  /** Shown after success (`null`: nothing); the inputs go back to `initial` when set. */
  doneNote?: string | null;
}): FormState {
  const [values, setValues] = useState(p.initial);
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const onSubmit = (e: Event): void => {
    e.preventDefault();
    setNote(null);
    let body: B;
    try {
      body = p.toBody(values);
    } catch (err) {
      setError(err);
      return;
    }
    const v = p.check?.(body) ?? { ok: true };
    setErrs(v.ok ? {} : problemsByField(v.problems ?? [], p.fields));
    if (!v.ok) return;
    p.submit(body).then(
      () => {
        setError(null);
        if (p.doneNote !== undefined && p.doneNote !== null) {
          setNote(p.doneNote);
          setValues(p.initial);
        }
        p.onDone?.();
      },
      (err: unknown) => {
        setError(err);
        if (err instanceof ApiError) {
          const list = err.details['problems'];
          setErrs(Array.isArray(list) ? problemsByField(list as { field: string; message: string }[], p.fields) : {});
        }
      },
    );
  };
  return { values, set: (name) => (v) => setValues((cur) => ({ ...cur, [name]: v })), errs, error, note, onSubmit };
}

/** The inputs of a form; ids are `f-<prefix><name>`. */
export function FormFields({ form, fields, prefix = '' }: { form: FormState; fields: readonly FieldSpec[]; prefix?: string }): JSX.Element {
  return (
    <div class="grid">
      {fields.map((x) => {
        const id = `f-${prefix}${x.name}`;
        const err = form.errs[x.name];
        const value = form.values[x.name] ?? '';
        const opts = (x.options ?? []).map((o) => (typeof o === 'string' ? { value: o, label: o } : o));
        const aria = { 'aria-invalid': err !== undefined ? ('true' as const) : undefined, 'aria-describedby': err !== undefined ? `${id}-err` : undefined };
        const errEl = err !== undefined && (
          <span id={`${id}-err`} class="field-error">
            {err}
          </span>
        );
        if (x.kind === 'select')
          return (
            <div class="field" key={x.name}>
              <label for={id}>{x.label}</label>
              <select id={id} value={value} {...aria} onChange={(e) => form.set(x.name)((e.currentTarget as HTMLSelectElement).value)}>
                {opts.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
              {errEl}
            </div>
          );
        if (x.kind === 'datetime')
          return (
            <div class="field" key={x.name}>
              <label for={id}>{x.label}</label>
              <input id={id} type="datetime-local" value={value} {...aria} onInput={(e) => form.set(x.name)((e.currentTarget as HTMLInputElement).value)} />
              {errEl}
            </div>
          );
        if (x.kind === 'textarea')
          return (
            <div class="field wide" key={x.name}>
              <label for={id}>{x.label}</label>
              <textarea id={id} rows={x.rows ?? 3} value={value} {...aria} onInput={(e) => form.set(x.name)((e.currentTarget as HTMLTextAreaElement).value)} />
              {errEl}
            </div>
          );
        if (x.kind === 'checks') {
          const on = new Set(value.split(',').filter((v) => v !== ''));
          return (
            <fieldset class="field" key={x.name} id={id} {...aria}>
              <legend>{x.label}</legend>
              {opts.map((o) => (
                <label key={o.value} class="check">
                  <input
                    type="checkbox"
                    name={`${prefix}${x.name}`}
                    value={o.value}
                    checked={on.has(o.value)}
                    onChange={(e) => {
                      const next = new Set(on);
                      if ((e.currentTarget as HTMLInputElement).checked) next.add(o.value);
                      else next.delete(o.value);
                      form.set(x.name)(opts.map((q) => q.value).filter((q) => next.has(q)).join(','));
                    }}
                  />
                  {o.label}
                </label>
              ))}
              {errEl}
            </fieldset>
          );
        }
        return (
          <Field
            key={x.name}
            label={x.label}
            name={`${prefix}${x.name}`}
            value={value}
            onInput={form.set(x.name)}
            error={err}
            type={x.kind === 'password' ? 'password' : 'text'}
            {...(x.inputMode !== undefined ? { inputMode: x.inputMode } : {})}
            {...(x.autocomplete !== undefined ? { autocomplete: x.autocomplete } : {})}
            {...(x.required !== undefined ? { required: x.required } : {})}
          />
        );
      })}
    </div>
  );
}

/**
 * A whole form card: heading (or an accessible name), error box, notice, inputs, submit and
 * optional cancel. Create and edit forms of every page are this one component.
 */
export function FormCard(p: {
  form: FormState;
  fields: readonly FieldSpec[];
  prefix?: string;
  title?: string;
  titleId?: string;
  label?: string;
  heading?: 'h2' | 'h3';
  submitLabel: string;
  onCancel?: () => void;
  children?: ComponentChildren;
}): JSX.Element {
  const H = p.heading ?? 'h3';
  return (
    <form class="card" onSubmit={p.form.onSubmit} {...(p.titleId !== undefined ? { 'aria-labelledby': p.titleId } : { 'aria-label': p.label })} noValidate>
      {p.title !== undefined && <H id={p.titleId}>{p.title}</H>}
      <ErrorBox error={p.form.error} />
      <Notice text={p.form.note} />
      <FormFields form={p.form} fields={p.fields} {...(p.prefix !== undefined ? { prefix: p.prefix } : {})} />
      {p.children}
      <div class="row">
        <button type="submit" class="primary">
          {p.submitLabel}
        </button>
        {p.onCancel !== undefined && (
          <button type="button" onClick={p.onCancel}>
            {t('cancel')}
          </button>
        )}
      </div>
    </form>
  );
}

/** `2026-12-03T10:00` (a datetime-local input, Japan time) → ISO 8601; '' stays ''. */
export function toIsoJst(local: string): string {
  if (local === '') return '';
  const d = new Date(`${local.length === 16 ? `${local}:00` : local}+09:00`);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

/** ISO 8601 → the datetime-local value in Japan time. */
export function fromIsoJst(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '';
  return new Date(new Date(iso).getTime() + 9 * 3600_000).toISOString().slice(0, 16);
}

/** A month chooser (the last 12 months in Japan time) with its label. */
export function MonthPicker({ value, onChange, months }: { value: string; onChange: (m: string) => void; months: readonly string[] }): JSX.Element {
  return (
    <>
      <label for="f-month">{t('month')}</label>
      <select id="f-month" value={value} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value)}>
        {months.map((m) => (
          <option key={m} value={m}>
            {m}
          </option>
        ))}
      </select>
    </>
  );
}

/** Cursor paging (`next` of the API's pages): the current cursor, a reset, and the pager buttons. */
export function useCursor(): { cursor: string; reset: () => void; pager: (next: string | null | undefined) => JSX.Element } {
  const [cursors, setCursors] = useState<string[]>(['']);
  return {
    cursor: cursors[cursors.length - 1] ?? '',
    reset: () => setCursors(['']),
    pager: (next) => (
      <div class="row pager">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors([''])}>
          {t('first')}
        </button>
        <button type="button" disabled={next == null} onClick={() => next != null && setCursors([...cursors, next])}>
          {t('next')}
        </button>
      </div>
    ),
  };
}

/** A table's horizontal scroll box; focusable so keyboard users can scroll it (tables without controls). */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }): JSX.Element {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}

export interface Column<T> {
  label: string;
  cell: (row: T) => ComponentChildren;
}

/** A read table: one header per column, one row per item ('Nothing here yet' when empty). */
export function DataTable<T>(p: { label: string; testid: string; cols: readonly Column<T>[]; rows: readonly T[]; rowKey: (r: T) => string; rowAttrs?: (r: T) => Record<string, string> }): JSX.Element {
  if (p.rows.length === 0) return <p>{t('empty')}</p>;
  return (
    <TableWrap label={p.label}>
      <table data-testid={p.testid}>
        <thead>
          <tr>
            {p.cols.map((c) => (
              <th key={c.label} scope="col">
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {p.rows.map((r) => (
            <tr key={p.rowKey(r)} {...(p.rowAttrs?.(r) ?? {})}>
              {p.cols.map((c) => (
                <td key={c.label}>{c.cell(r)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** A JSON document edited as text (tariffs): parsed before sending, saved after a confirmation; the server validates. */
export function JsonEditor(p: { id: string; label: string; value: unknown; confirmText: string; save: (body: unknown) => Promise<unknown>; onDone: () => void }): JSX.Element {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const [confirmEl, confirm] = useConfirm();
  const value = text ?? JSON.stringify(p.value, null, 2);
  const submit = (e: Event): void => {
    e.preventDefault();
    let body: unknown;
    try {
      body = JSON.parse(value);
    } catch (err) {
      setError(err);
      return;
    }
    confirm(p.confirmText, async () => {
      try {
        await p.save(body);
        setError(null);
        setNote(t('saved'));
        setText(null);
        p.onDone();
      } catch (err) {
        setError(err);
      }
    });
  };
  return (
    <form class="card" onSubmit={submit}>
      {confirmEl}
      <Notice text={note} />
      <ErrorBox error={error} />
      <label for={`f-${p.id}`}>{p.label}</label>
      <textarea id={`f-${p.id}`} rows={12} spellcheck={false} value={value} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
      <button type="submit" class="primary">
        {t('save')}
      </button>
    </form>
  );
}

/** The chosen month (the last 12 in Japan time, this one first) and its chooser row. */
export function useMonth(): [string, JSX.Element] {
  const months = Array.from({ length: 12 }, (_, i) => tokyoMonth(-i));
  const [month, setMonth] = useState(months[0]!);
  return [
    month,
    <div class="row" key="month">
      <MonthPicker value={month} onChange={setMonth} months={months} />
    </div>,
  ];
}
