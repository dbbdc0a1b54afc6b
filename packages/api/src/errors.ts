import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KumoError, isKumoError } from '@kumo/runtime';
import type { Validation } from '@kumo/domain';

/** HTTP status of every error code the API answers with. Codes are stable: clients may switch on them. */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  KUMO_ERR_VALIDATION: 400,
  KUMO_ERR_UNKNOWN_FIELD: 400,
  KUMO_ERR_MALFORMED_JSON: 400,
  KUMO_ERR_BAD_REQUEST: 400,
  KUMO_ERR_UNKNOWN_REFERENCE: 400,
  KUMO_ERR_CONFIRMATION_REQUIRED: 400,
  KUMO_ERR_UNAUTHORIZED: 401,
  KUMO_ERR_FORBIDDEN: 403,
  KUMO_ERR_CSRF: 403,
  KUMO_ERR_TENANT_SUSPENDED: 403,
  KUMO_ERR_NOT_FOUND: 404,
  KUMO_ERR_ROUTE_NOT_FOUND: 404,
  KUMO_ERR_EXISTS: 409,
  KUMO_ERR_PORT_LIMIT: 409,
  KUMO_ERR_PORTS_BELOW_PROVISIONED: 409,
  KUMO_ERR_CONTRACT_LIMIT: 409,
  KUMO_ERR_NUMBER_TAKEN: 409,
  KUMO_ERR_NUMBER_RESERVED: 409,
  KUMO_ERR_DOMAIN_TAKEN: 409,
  KUMO_ERR_DID_TAKEN: 409,
  KUMO_ERR_GATEWAY_TAKEN: 409,
  KUMO_ERR_PLAN_CONFLICT: 409,
  KUMO_ERR_TENANT_TERMINATED: 409,
  KUMO_ERR_TENANT_NOT_TERMINATED: 409,
  KUMO_ERR_CONCURRENT_UPDATE: 409,
  KUMO_ERR_SELF_REVOCATION: 409,
  KUMO_ERR_BODY_TOO_LARGE: 413,
  KUMO_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  // security (docs/security.md)
  KUMO_ERR_INVALID_TEXT: 400,
  KUMO_ERR_RATE_LIMITED: 429,
  // console (docs/console.md)
  KUMO_ERR_LOGIN_LOCKED: 429,
  KUMO_ERR_HEADERS_TOO_LARGE: 431,
  KUMO_ERR_INTERNAL: 500,
  KUMO_ERR_UNAVAILABLE: 503,
};

const CONTRACT_CODES = new Set(['KUMO_ERR_PORT_LIMIT', 'KUMO_ERR_PORTS_BELOW_PROVISIONED', 'KUMO_ERR_CONTRACT_LIMIT']);

export interface ErrorBody {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/** The error body schema every route documents. */
export const errorSchema = {
  $id: 'KumoError',
  type: 'object',
  required: ['code', 'message', 'details'],
  properties: {
    code: { type: 'string', description: 'Stable KUMO_ERR_* code' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

/** Unwraps a domain validation result or throws 400 KUMO_ERR_VALIDATION listing every problem. */
export function valid<T>(v: Validation<T>): T {
  if (v.ok) return v.value;
  throw new KumoError('KUMO_ERR_VALIDATION', v.problems.map((p) => `${p.field} ${p.message}`).join('; '), {
    problems: v.problems,
  });
}

function fromAjv(err: FastifyError): KumoError {
  const v = err.validation ?? [];
  const problems = v.map((e) => {
    const params: Record<string, unknown> = e.params;
    const base = (e.instancePath || '').replace(/^\//, '');
    const extra = typeof params.additionalProperty === 'string' ? params.additionalProperty : undefined;
    const missing = typeof params.missingProperty === 'string' ? params.missingProperty : undefined;
    const field = [base, extra ?? missing].filter((x) => x !== undefined && x !== '').join('/');
    return { field: field || (err.validationContext ?? 'body'), message: e.message ?? 'is invalid' };
  });
  const unknownOnly = v.length > 0 && v.every((e) => e.keyword === 'additionalProperties');
  const ctx = err.validationContext ?? 'body';
  if (unknownOnly) {
    return new KumoError('KUMO_ERR_UNKNOWN_FIELD', `unknown field(s) in ${ctx}: ${problems.map((p) => p.field).join(', ')}`, {
      problems,
    });
  }
  return new KumoError('KUMO_ERR_VALIDATION', `invalid ${ctx}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, {
    problems,
  });
}

/** Maps anything thrown in a route or hook to one KumoError. */
export function toKumoError(err: unknown): KumoError {
  if (isKumoError(err)) return err;
  const e = err as FastifyError;
  if (e.validation) return fromAjv(e);
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new KumoError('KUMO_ERR_MALFORMED_JSON', 'the body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KumoError('KUMO_ERR_BODY_TOO_LARGE', 'the body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KumoError('KUMO_ERR_UNSUPPORTED_MEDIA_TYPE', 'send application/json');
    default:
      break;
  }
  if (e instanceof SyntaxError) return new KumoError('KUMO_ERR_MALFORMED_JSON', 'the body is not valid JSON');
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) return new KumoError('KUMO_ERR_BAD_REQUEST', e.message || 'bad request');
  if (/ECONNREFUSED|Connection is closed|MaxRetriesPerRequest|ETIMEDOUT|EHOSTUNREACH|Command timed out|OOM command not allowed/i.test(String(e.message))) {
    return new KumoError('KUMO_ERR_UNAVAILABLE', 'the data store is unavailable; retry later');
  }
  return new KumoError('KUMO_ERR_INTERNAL', 'internal error', {}, { cause: err });
}

export function statusOf(code: string): number {
  return ERROR_STATUS[code] ?? 500;
}

/** Installs the one error handler and the not-found handler. */
export function installErrorHandling(app: FastifyInstance, onContractRejection: (code: string) => void): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const k = toKumoError(err);
    const status = statusOf(k.code);
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.debug({ code: k.code }, 'request rejected');
    if (CONTRACT_CODES.has(k.code)) onContractRejection(k.code);
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="kumo"');
    if (typeof k.details?.retryAfterSec === 'number') void reply.header('retry-after', String(k.details.retryAfterSec));
    const body: ErrorBody = { code: k.code, message: status >= 500 && k.code === 'KUMO_ERR_INTERNAL' ? 'internal error' : k.message, details: { ...(k.details ?? {}) } };
    return reply.status(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    // One answer for every method and path: nothing of the (possibly huge) URL is echoed.
    const body: ErrorBody = { code: 'KUMO_ERR_ROUTE_NOT_FOUND', message: 'no such route', details: {} };
    return reply.status(404).send(body);
  });
}
