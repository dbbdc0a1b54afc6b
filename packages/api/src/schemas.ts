/**
 * JSON schemas of the API, in and out. Bodies use `additionalProperties: false` (unknown
 * fields answer 400 KUMO_ERR_UNKNOWN_FIELD); responses list exactly what may leave the
 * server, so secrets (HA1 values, trunk registration passwords, key hashes) never do.
 */
import {
  CALLER_ID_PRESENTATIONS,
  DID_TARGET_TYPES,
  NUMBER_FORMATS,
  PERMISSION_CLASSES,
  RING_STRATEGIES,
  TENANT_STATUSES,
  TRANSPORTS,
} from '@kumo/domain';

const str = (maxLength: number, extra: Record<string, unknown> = {}) => ({ type: 'string', maxLength, ...extra }) as const;
const int = (minimum: number, maximum: number, extra: Record<string, unknown> = {}) => ({ type: 'integer', minimum, maximum, ...extra }) as const;
const ts = { type: 'string', format: 'date-time' } as const;
const digits = (maxLength = 8) => ({ type: 'string', pattern: '^[0-9]+$', minLength: 1, maxLength }) as const;
const dial = { type: 'string', maxLength: 33 } as const;
const obj = (properties: Record<string, unknown>, required: string[] = [], additionalProperties = false) =>
  ({ type: 'object', additionalProperties, required, properties }) as const;

export const errorRef = { $ref: 'KumoError#' } as const;

/** Standard error responses, added to every route's `response`. */
export function errors(...statuses: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const s of [400, 401, 404, ...statuses]) out[s] = errorRef;
  return out;
}

export const pageQuery = obj({
  limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: '1–1000, default 100' },
  after: { type: 'string', maxLength: 64, description: 'Cursor: the `next` value of the previous page' },
});

export function page(item: unknown) {
  return obj({ items: { type: 'array', items: item }, next: { type: ['string', 'null'] } }, ['items', 'next']);
}

export function parseLimit(q: { limit?: string | undefined }): number {
  return q.limit === undefined ? 100 : Math.min(1000, Math.max(1, Number(q.limit)));
}

// ---- tenants ---------------------------------------------------------------------------------

const contractProps = {
  ports: { ...int(100, 20000), description: 'Maximum number of extensions (100–20,000)' },
  trunkChannels: { ...int(0, 20000), description: 'Simultaneous trunk calls' },
  callsPerSecond: { ...int(1, 1000), description: 'New calls per second cap' },
};

export const tenantSchema = obj(
  {
    id: str(32),
    name: str(200),
    sipDomain: str(253),
    ...contractProps,
    status: { type: 'string', enum: [...TENANT_STATUSES] },
    restrictionLevel: int(0, 3),
    notes: str(2000),
    createdAt: ts,
    updatedAt: ts,
  },
  ['id', 'name', 'sipDomain', 'ports', 'trunkChannels', 'callsPerSecond', 'status', 'restrictionLevel'],
);

export const tenantCreateBody = obj(
  {
    id: { type: 'string', minLength: 2, maxLength: 32, pattern: '^[a-z0-9][a-z0-9-]+$' },
    name: str(200, { minLength: 1 }),
    sipDomain: str(253, { minLength: 3 }),
    ...contractProps,
    status: { type: 'string', enum: ['active', 'suspended'] },
    restrictionLevel: int(0, 3),
    notes: str(2000),
  },
  ['id', 'name', 'sipDomain', 'ports', 'trunkChannels', 'callsPerSecond'],
);

export const tenantPatchBody = obj({
  name: str(200, { minLength: 1 }),
  ...contractProps,
  restrictionLevel: int(0, 3),
  notes: str(2000),
});

export const tenantParams = obj({ tenantId: str(64) }, ['tenantId']);

// ---- api keys --------------------------------------------------------------------------------

export const apiKeySchema = obj(
  { id: str(32), role: { type: 'string', enum: ['operator', 'tenant-admin'] }, tenantId: str(32), name: str(100), createdAt: ts },
  ['id', 'role', 'name', 'createdAt'],
);
export const issuedKeySchema = obj({ key: { type: 'string', description: 'Shown once; store it now' }, apiKey: apiKeySchema }, ['key', 'apiKey']);
export const apiKeyBody = obj({ name: str(100, { minLength: 1 }) }, ['name']);

// ---- extensions ------------------------------------------------------------------------------

const deviceSchema = obj({ mac: str(17), model: str(100), location: str(200) });
const forwardingSchema = obj({ unconditional: dial, busy: dial, noAnswer: dial });

const extensionProps = {
  displayName: str(100, { minLength: 1 }),
  permissionClass: { type: 'string', enum: [...PERMISSION_CLASSES] },
  callerIdPresentation: { type: 'string', enum: [...CALLER_ID_PRESENTATIONS] },
  outboundCallerId: str(20),
  device: deviceSchema,
  department: str(100),
  noAnswerTimeoutSec: int(5, 300),
  forwarding: forwardingSchema,
};

export const extensionSchema = obj(
  { number: str(8), ...extensionProps, createdAt: ts, updatedAt: ts },
  ['number', 'displayName', 'permissionClass', 'callerIdPresentation', 'device', 'department', 'noAnswerTimeoutSec', 'forwarding'],
);

export const extensionCreateBody = obj(
  {
    number: digits(),
    ...extensionProps,
    password: { type: 'string', minLength: 8, maxLength: 64, description: 'SIP password; only its HA1 digests are stored' },
  },
  ['number', 'displayName', 'password'],
);
export const extensionPatchBody = obj({ ...extensionProps, password: { type: 'string', minLength: 8, maxLength: 64 } });
export const numberParams = obj({ tenantId: str(64), number: str(32) }, ['tenantId', 'number']);
export const idParams = obj({ tenantId: str(64), id: str(64) }, ['tenantId', 'id']);

// ---- groups ----------------------------------------------------------------------------------

const memberSchema = obj({ extension: digits(), timeoutSec: int(5, 300) }, ['extension']);
const ringGroupProps = {
  name: str(100, { minLength: 1 }),
  strategy: { type: 'string', enum: [...RING_STRATEGIES] },
  members: { type: 'array', items: memberSchema, maxItems: 100 },
  totalTimeoutSec: int(5, 3600),
  overflow: dial,
};
export const ringGroupSchema = obj({ number: str(8), ...ringGroupProps, createdAt: ts, updatedAt: ts }, [
  'number',
  'name',
  'strategy',
  'members',
  'totalTimeoutSec',
]);
export const ringGroupCreateBody = obj({ number: digits(), ...ringGroupProps }, ['number', 'name', 'strategy', 'members']);
export const ringGroupPutBody = obj(ringGroupProps, ['name', 'strategy', 'members']);

const pickupProps = { name: str(100, { minLength: 1 }), members: { type: 'array', items: digits(), maxItems: 500 } };
export const pickupGroupSchema = obj({ id: str(32), ...pickupProps, createdAt: ts, updatedAt: ts }, ['id', 'name', 'members']);
export const pickupGroupCreateBody = obj({ id: str(32, { minLength: 1 }), ...pickupProps }, ['id', 'name', 'members']);
export const pickupGroupPutBody = obj(pickupProps, ['name', 'members']);

// ---- trunks ----------------------------------------------------------------------------------

const gatewaySchema = obj(
  { host: str(253, { minLength: 1 }), port: int(1, 65535), transport: { type: 'string', enum: [...TRANSPORTS] }, priority: int(0, 1000) },
  ['host'],
);
const trunkProps = {
  name: str(100, { minLength: 1 }),
  gateways: { type: 'array', items: gatewaySchema, minItems: 1, maxItems: 16 },
  channelLimit: int(1, 20000),
  numberFormat: { type: 'string', enum: [...NUMBER_FORMATS] },
  callerId: str(20),
  emergency: { type: 'boolean' },
};
const registrationIn = (passwordRequired: boolean) =>
  obj(
    { username: str(128, { minLength: 1 }), password: str(128, { minLength: 1 }), realm: str(253), expiresSec: int(60, 86400) },
    passwordRequired ? ['username', 'password'] : ['username'],
  );
export const trunkSchema = obj(
  {
    id: str(32),
    ...trunkProps,
    registration: obj({ username: str(128), realm: str(253), expiresSec: int(60, 86400) }, ['username']),
    createdAt: ts,
    updatedAt: ts,
  },
  ['id', 'name', 'gateways', 'channelLimit', 'numberFormat', 'emergency'],
);
export const trunkCreateBody = obj({ id: str(32, { minLength: 1 }), ...trunkProps, registration: registrationIn(true) }, ['id', 'name', 'gateways', 'channelLimit']);
export const trunkPutBody = obj(
  { ...trunkProps, registration: { ...registrationIn(false), description: 'Omit password to keep the stored one' } },
  ['name', 'gateways', 'channelLimit'],
);

// ---- DIDs ------------------------------------------------------------------------------------

const didTarget = obj({ type: { type: 'string', enum: [...DID_TARGET_TYPES] }, number: digits() }, ['type', 'number']);
export const didSchema = obj({ number: str(20), target: didTarget, description: str(200), createdAt: ts, updatedAt: ts }, ['number', 'target', 'description']);
export const didCreateBody = obj({ number: str(24, { minLength: 1 }), target: didTarget, description: str(200) }, ['number', 'target']);
export const didPutBody = obj({ target: didTarget, description: str(200) }, ['target']);

// ---- numbering plan --------------------------------------------------------------------------

const featureCodes = obj({ pickup: str(6, { minLength: 1 }), directedPickup: str(6, { minLength: 1 }) });
export const planSchema = obj({ extensionLength: int(2, 8), outsideLinePrefix: str(1), featureCodes }, [
  'extensionLength',
  'outsideLinePrefix',
  'featureCodes',
]);
export const planBody = obj({ extensionLength: int(2, 8), outsideLinePrefix: str(1), featureCodes });

// ---- audit -----------------------------------------------------------------------------------

export const auditEntrySchema = obj(
  {
    id: { type: 'string' },
    at: ts,
    actor: obj({ keyId: { type: 'string' }, role: { type: 'string' } }, ['keyId', 'role']),
    action: { type: 'string' },
    target: { type: 'string' },
    before: {},
    after: {},
  },
  ['id', 'at', 'actor', 'action', 'target'],
);
export const auditQuery = obj({
  limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
  before: { type: 'string', maxLength: 41, description: 'Cursor: the `next` value of the previous page (a stream id)' },
});

/** `?encoding=` and `?lang=` of every CSV export (ledgers, billing reports). */
export const csvQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    encoding: { type: 'string', enum: ['utf-8', 'shift_jis'], description: 'Default utf-8' },
    lang: { type: 'string', enum: ['en', 'ja'], description: 'Header language; default en' },
  },
} as const;

/** The response of every CSV export. */
export const csvResponse = { 200: { type: 'string', description: 'CSV (RFC 4180, CRLF)' }, ...errors() };
