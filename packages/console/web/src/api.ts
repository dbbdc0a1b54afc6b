import { lang } from './i18n.ts';

/** The console's client of the Kumo API: the session cookie authenticates, writes carry the CSRF token. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
  /** Field problems (`details.problems`) as field → message. */
  problems(): Record<string, string> {
    const out: Record<string, string> = {};
    const list = this.details['problems'];
    if (Array.isArray(list)) for (const p of list as { field?: string; message?: string }[]) if (p.field !== undefined) out[p.field] = p.message ?? '';
    return out;
  }
}

let csrf = '';
let onUnauthorized: () => void = () => undefined;

export function setCsrf(token: string): void {
  csrf = token;
}
export function setOnUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'accept-language': lang() };
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'network error', {});
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const json = text === '' ? {} : (JSON.parse(text) as unknown);
  if (!res.ok) {
    const e = json as { code?: string; message?: string; details?: Record<string, unknown> };
    const err = new ApiError(res.status, e.code ?? 'KUMO_ERR_INTERNAL', e.message ?? res.statusText, e.details ?? {});
    if (res.status === 401 && !path.startsWith('/v1/session')) onUnauthorized();
    throw err;
  }
  return json as T;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

/** `/v1/tenants/<id>` */
export const tpath = (tenantId: string, rest = ''): string => `/v1/tenants/${encodeURIComponent(tenantId)}${rest}`;
