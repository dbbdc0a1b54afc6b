/**
 * Configuration as data: every setting is declared once with its env var, default,
 * meaning and parser. `readConfig` validates a whole section and reports every
 * problem at once; `docs/configuration.md` is generated from the same specs
 * (`npm run kumo -- config-doc`).
 */
export type Parser<T> = (raw: string) => { ok: true; value: T } | { ok: false; error: string };

export interface Setting<T> {
  readonly env: string;
  readonly description: string;
  /** The default as the user would write it in the env var; `undefined` = required or optional. */
  readonly default?: string;
  readonly parse: Parser<T>;
  /** Redacted when the config is logged. */
  readonly secret?: boolean;
}

export type Spec = Readonly<Record<string, Setting<unknown>>>;

type ValueOf<S> = S extends Setting<infer T> ? T : never;
export type ConfigOf<S extends Spec> = { readonly [K in keyof S]: ValueOf<S[K]> };

export class ConfigError extends Error {
  readonly code = 'KUMO_ERR_CONFIG';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads one spec; returns the problems instead of throwing so sections can be combined. */
export function readSpec<S extends Spec>(spec: S, env: Env): { config: ConfigOf<S>; problems: string[] } {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(spec)) {
    const raw = env[setting.env] ?? setting.default;
    if (raw === undefined) {
      out[key] = undefined;
      continue;
    }
    const r = setting.parse(raw.trim());
    if (r.ok) out[key] = r.value;
    else problems.push(`${setting.env}=${setting.secret === true ? '<redacted>' : JSON.stringify(raw)}: ${r.error}`);
  }
  return { config: out as ConfigOf<S>, problems };
}

/** Reads several specs at once and throws one ConfigError listing every problem. */
export function readConfig<S extends Record<string, Spec>>(specs: S, env: Env): { [K in keyof S]: ConfigOf<S[K]> } {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const r = readSpec(spec, env);
    out[name] = r.config;
    problems.push(...r.problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as { [K in keyof S]: ConfigOf<S[K]> };
}

// ---- parsers ---------------------------------------------------------------

export const str =
  (opts: { min?: number; max?: number; pattern?: RegExp } = {}): Parser<string> =>
  (raw) => {
    if (opts.min !== undefined && raw.length < opts.min) return { ok: false, error: `must be at least ${opts.min} characters` };
    if (opts.max !== undefined && raw.length > opts.max) return { ok: false, error: `must be at most ${opts.max} characters` };
    if (opts.pattern && !opts.pattern.test(raw)) return { ok: false, error: `must match ${String(opts.pattern)}` };
    return { ok: true, value: raw };
  };

export const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw)) return { ok: false, error: 'must be an integer' };
    const n = Number(raw);
    if (n < min || n > max) return { ok: false, error: `must be between ${min} and ${max}` };
    return { ok: true, value: n };
  };

export const num =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n)) return { ok: false, error: 'must be a number' };
    if (n < min || n > max) return { ok: false, error: `must be between ${min} and ${max}` };
    return { ok: true, value: n };
  };

export const bool: Parser<boolean> = (raw) => {
  const v = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return { ok: true, value: true };
  if (['0', 'false', 'no', 'off', ''].includes(v)) return { ok: true, value: false };
  return { ok: false, error: 'must be true or false' };
};

export const oneOf =
  <T extends string>(...values: readonly T[]): Parser<T> =>
  (raw) =>
    (values as readonly string[]).includes(raw)
      ? { ok: true, value: raw as T }
      : { ok: false, error: `must be one of ${values.join(', ')}` };

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `host:port`, `[v6]:port`; port 0 means "pick a free port". */
export const hostPort: Parser<HostPort> = (raw) => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(raw);
  if (!m) return { ok: false, error: 'must be host:port (IPv6 as [addr]:port)' };
  const port = Number(m[3]);
  if (port > 65535) return { ok: false, error: 'port must be 0-65535' };
  return { ok: true, value: { host: (m[1] ?? m[2]) as string, port } };
};

/** Comma-separated list of another parser's values. */
export const list =
  <T>(inner: Parser<T>): Parser<T[]> =>
  (raw) => {
    if (raw === '') return { ok: true, value: [] };
    const out: T[] = [];
    for (const part of raw.split(',')) {
      const r = inner(part.trim());
      if (!r.ok) return { ok: false, error: `"${part.trim()}": ${r.error}` };
      out.push(r.value);
    }
    return { ok: true, value: out };
  };

export const url =
  (...protocols: string[]): Parser<string> =>
  (raw) => {
    try {
      const u = new URL(raw);
      if (protocols.length > 0 && !protocols.includes(u.protocol)) {
        return { ok: false, error: `protocol must be one of ${protocols.join(', ')}` };
      }
      return { ok: true, value: raw };
    } catch {
      return { ok: false, error: 'must be a URL' };
    }
  };

/**
 * A Redis URL of one of the shapes the store's client factory accepts. Checked by shape only
 * (WHATWG URL rejects Sentinel/Cluster host lists); the store reports bad hosts at start-up.
 */
export const redisUrl: Parser<string> = (raw) =>
  /^(redis|rediss|redis-sentinel|redis-cluster):\/\/(?:[^@/\s]*@)?[^/?#@\s]+(\/[^?#\s]*)?(\?[^#\s]*)?$/.test(raw)
    ? { ok: true, value: raw }
    : { ok: false, error: 'must be redis://, rediss://, redis-sentinel://host:port,…/master or redis-cluster://host:port,…' };

export const optional =
  <T>(inner: Parser<T>): Parser<T | undefined> =>
  (raw) =>
    raw === '' ? { ok: true, value: undefined } : inner(raw);
