/**
 * JSON schemas of the API, in and out. Bodies use `additionalProperties: false` (unknown
 * fields answer 400 KUMO_ERR_UNKNOWN_FIELD); responses list exactly what may leave the
 * server, so secrets (HA1 values, trunk registration passwords, key hashes) never do.
 */
import {
  CALLER_ID_PRESENTATIONS,
  CALLER_NAME_MODES,
  DIGEST_POLICIES,
  DID_TARGET_TYPES,
  NUMBER_FORMATS,
  PERMISSION_CLASSES,
  RING_STRATEGIES,
  TENANT_STATUSES,
  TRANSPORTS,
  TRUNK_ROLES,
} from '@kumo/domain';

const str = (maxLength: number, extra: Record<string, unknown> = {}) => ({ type: 'string', maxLength, ...extra }) as const;
const int = (minimum: number, maximum: number, extra: Record<string, unknown> = {}) => ({ type: 'integer', minimum, maximum, ...extra }) as const;
const ts = { type: 'string', format: 'date-time' } as const;
const digits = (maxLength = 8) => ({ type: 'string', pattern: '^[0-9]+$', minLength: 1, maxLength }) as const;
const dial = { type: 'string', maxLength: 33 } as const;
const obj = (properties: Record<string, unknown>, required: string[] = [], additionalProperties = false) =>
  ({ type: 'object', additionalProperties, required, properties }) as const;

export const errorRef = { $ref: 'KumoError#' } as const;

type Schema = Record<string, unknown>;

/** The schema, or JSON null (RFC 7396: null in a merge patch removes the member). */
export function nullable(schema: Schema): Schema {
  const t = schema.type;
  return {
    ...schema,
    type: Array.isArray(t) ? [...(t as string[]), 'null'] : [t, 'null'],
    ...(Array.isArray(schema.enum) ? { enum: [...(schema.enum as unknown[]), null] } : {}),
  };
}

/**
 * The JSON Merge Patch (RFC 7396) body of a resource, derived from its properties: every
 * member optional; members that may be absent (`clearable`) also accept null (= remove /
 * back to the default); nested objects are patches themselves (their members all clearable).
 */
export function mergePatchBody(props: Record<string, Schema>, clearable: readonly string[], description: string, examples: readonly unknown[] = []): Schema {
  const out: Record<string, Schema> = {};
  for (const [k, v] of Object.entries(props)) {
    let p = v;
    if (v.type === 'object' && typeof v.properties === 'object' && v.properties !== null) {
      p = mergePatchBody(v.properties as Record<string, Schema>, Object.keys(v.properties), '');
      delete p.description;
    }
    out[k] = clearable.includes(k) ? nullable(p) : p;
  }
  return {
    type: 'object',
    additionalProperties: false,
    properties: out,
    ...(description !== '' ? { description } : {}),
    ...(examples.length > 0 ? { examples: [...examples] } : {}),
  };
}

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

/** Digest algorithms of a tenant's or extension's phones (docs/interop.md#digest-algorithm-policy). */
const digestPolicy = {
  type: 'string',
  enum: [...DIGEST_POLICIES],
  description: 'Digest algorithms phones may use: sha-256,md5 (SHA-256 where the phone can), sha-256 (no MD5), md5. Unset: inherited.',
};
const digestPolicyOrInherit = { ...digestPolicy, enum: [...DIGEST_POLICIES, ''], description: `${digestPolicy.description} '' in a PATCH: back to inherited.` };

const maxCallSeconds = {
  ...int(60, 604800),
  description: "Longest an answered call may last, seconds (the guard against hung calls, docs/reliability.md); unset: the platform's KUMO_SIP_MAX_CALL_S.",
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
    digestAlgorithms: digestPolicy,
    maxCallSeconds: maxCallSeconds,
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
    digestAlgorithms: digestPolicy,
    maxCallSeconds: maxCallSeconds,
  },
  ['id', 'name', 'sipDomain', 'ports', 'trunkChannels', 'callsPerSecond'],
);

export const tenantPatchBody = mergePatchBody(
  {
    name: str(200, { minLength: 1 }),
    ...contractProps,
    restrictionLevel: int(0, 3),
    notes: str(2000),
    digestAlgorithms: digestPolicyOrInherit,
    maxCallSeconds: { ...maxCallSeconds, minimum: 0, description: `${maxCallSeconds.description} 0 in a PATCH: the platform's.` },
  },
  ['restrictionLevel', 'notes', 'digestAlgorithms', 'maxCallSeconds'],
  "JSON Merge Patch (RFC 7396): null resets `restrictionLevel` to 0, `notes` to empty, and `digestAlgorithms` and `maxCallSeconds` to the platform's. `trunkChannels` may not exceed `ports`.",
  [{ ports: 300, trunkChannels: 30 }, { notes: null }],
);

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
  digestAlgorithms: digestPolicyOrInherit,
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
const passwordIn = { type: 'string', minLength: 8, maxLength: 64, description: 'Write-only; omitted = keep the stored digests' } as const;
export const extensionPutBody = { ...obj({ ...extensionProps, password: passwordIn }, ['displayName']), description: 'Full replacement: omitted fields take their defaults; an omitted password keeps the stored one.' };
export const extensionPatchBody = mergePatchBody(
  { ...extensionProps, password: passwordIn },
  ['permissionClass', 'callerIdPresentation', 'outboundCallerId', 'device', 'department', 'noAnswerTimeoutSec', 'forwarding'],
  'JSON Merge Patch (RFC 7396): members given replace, null removes (back to the default), objects merge by member — `{"forwarding":{"busy":"1002"}}` keeps the other forwarding kinds, `{"forwarding":{"noAnswer":null}}` clears one kind, `{"forwarding":null}` clears all.',
  [{ forwarding: { busy: '1002' } }, { forwarding: { noAnswer: null } }, { department: '営業部', outboundCallerId: null }],
);
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
export const ringGroupPutBody = { ...obj(ringGroupProps, ['name', 'strategy', 'members']), description: 'Full replacement: omitted fields take their defaults.' };
export const ringGroupPatchBody = mergePatchBody(
  ringGroupProps,
  ['totalTimeoutSec', 'overflow'],
  'JSON Merge Patch (RFC 7396): members given replace (`members` is replaced as a whole list), null removes `overflow` / resets `totalTimeoutSec`.',
  [{ name: 'Support 2' }, { overflow: null }, { members: [{ extension: '1004' }, { extension: '1005', timeoutSec: 15 }] }],
);

const pickupProps = { name: str(100, { minLength: 1 }), members: { type: 'array', items: digits(), maxItems: 500 } };
export const pickupGroupSchema = obj({ id: str(32), ...pickupProps, createdAt: ts, updatedAt: ts }, ['id', 'name', 'members']);
export const pickupGroupCreateBody = obj({ id: str(32, { minLength: 1 }), ...pickupProps }, ['id', 'name', 'members']);
export const pickupGroupPutBody = { ...obj(pickupProps, ['name', 'members']), description: 'Full replacement.' };
export const pickupGroupPatchBody = mergePatchBody(pickupProps, [], 'JSON Merge Patch (RFC 7396): `members` is replaced as a whole list.', [
  { name: '3F' },
  { members: ['1001', '1002'] },
]);

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
  roles: {
    type: 'array',
    items: { type: 'string', enum: [...TRUNK_ROLES] },
    minItems: 1,
    maxItems: 2,
    uniqueItems: true,
    description: 'ordinary (outside calls), emergency (110/118/119 first), or both; default ordinary',
  },
  emergency: { type: 'boolean', description: 'Deprecated: true = roles [ordinary, emergency]; in responses, whether roles include emergency' },
  callerName: {
    type: 'string',
    enum: [...CALLER_NAME_MODES],
    description: "Display name in From on outbound calls: none (default: number only), extension (the caller's display name), fixed (callerNameFixed)",
  },
  callerNameFixed: str(50, { description: "The name sent when callerName is 'fixed' (e.g. the company name)" }),
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
export const trunkPutBody = {
  ...obj({ ...trunkProps, registration: { ...registrationIn(false), description: 'Omit password to keep the stored one' } }, ['name', 'gateways', 'channelLimit']),
  description: 'Full replacement: omitted fields take their defaults (no registration = none); a registration without password keeps the stored password.',
};
export const trunkPatchBody = mergePatchBody(
  { ...trunkProps, registration: registrationIn(false) },
  ['numberFormat', 'callerId', 'emergency', 'registration', 'callerName', 'callerNameFixed'],
  'JSON Merge Patch (RFC 7396): `gateways` is replaced as a whole list; `registration` merges by member (`{"registration":{"expiresSec":600}}` keeps user and password), `"registration": null` removes it.',
  [{ channelLimit: 4 }, { registration: { expiresSec: 600 } }, { registration: null }],
);

export const trunkStatusSchema = obj(
  {
    id: str(32),
    registration: obj(
      {
        state: { type: 'string', enum: ['registered', 'failed', 'unregistered'] },
        expiresAt: ts,
        nextAttemptAt: ts,
        failures: int(0, 1_000_000),
        lastStatus: int(100, 699),
      },
      ['state'],
    ),
    gateways: {
      type: 'array',
      items: obj(
        {
          host: str(253),
          port: int(1, 65535),
          transport: { type: 'string', enum: [...TRANSPORTS] },
          state: { type: 'string', enum: ['up', 'down', 'unknown'] },
          since: ts,
          lastPingAt: ts,
          failures: int(0, 1_000_000),
          lastStatus: int(100, 699),
        },
        ['host', 'port', 'transport', 'state'],
      ),
    },
  },
  ['id', 'gateways'],
);

// ---- DIDs ------------------------------------------------------------------------------------

const didTarget = obj({ type: { type: 'string', enum: [...DID_TARGET_TYPES] }, number: digits() }, ['type', 'number']);
export const didSchema = obj({ number: str(20), target: didTarget, description: str(200), createdAt: ts, updatedAt: ts }, ['number', 'target', 'description']);
export const didCreateBody = obj({ number: str(24, { minLength: 1 }), target: didTarget, description: str(200) }, ['number', 'target']);
export const didPutBody = { ...obj({ target: didTarget, description: str(200) }, ['target']), description: 'Full replacement: an omitted description becomes empty.' };
export const didPatchBody = mergePatchBody(
  { target: didTarget, description: str(200) },
  ['description'],
  'JSON Merge Patch (RFC 7396): `{"description":"…"}` keeps the target; `target` merges by member.',
  [{ description: '代表' }, { target: { type: 'ringGroup', number: '600' } }],
);

// ---- numbering plan --------------------------------------------------------------------------

const featureCodes = obj({ pickup: str(6, { minLength: 1 }), directedPickup: str(6, { minLength: 1 }) });
export const planSchema = obj({ extensionLength: int(2, 8), outsideLinePrefix: str(1), featureCodes }, [
  'extensionLength',
  'outsideLinePrefix',
  'featureCodes',
]);
export const planBody = { ...obj({ extensionLength: int(2, 8), outsideLinePrefix: str(1), featureCodes }), description: 'Full replacement: omitted fields take their defaults (4, "0", *8 / **).' };
export const planPatchBody = mergePatchBody(
  { extensionLength: int(2, 8), outsideLinePrefix: str(1), featureCodes },
  ['extensionLength', 'outsideLinePrefix', 'featureCodes'],
  'JSON Merge Patch (RFC 7396): omitted fields keep their value, null resets to the default.',
  [{ featureCodes: { pickup: '*9' } }, { outsideLinePrefix: null }],
);

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
    hash: { type: 'string', description: 'Hash chain: SHA-256 of the previous entry hash and this entry (tamper evidence)' },
  },
  ['id', 'at', 'actor', 'action', 'target'],
);
export const auditVerificationSchema = obj(
  {
    ok: { type: 'boolean' },
    entries: { type: 'integer', description: 'Entries checked' },
    firstBad: { type: ['string', 'null'], description: 'Id of the first entry that does not match, or `head`' },
    reason: { type: ['string', 'null'] },
  },
  ['ok', 'entries', 'firstBad', 'reason'],
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
    encoding: { type: 'string', enum: ['utf-8', 'shift_jis'], description: 'Default utf-8; shift_jis produces Windows-31J (CP932), what Excel reads' },
    lang: { type: 'string', enum: ['en', 'ja'], description: 'Language of the headers and of vocabulary values (classes, dispositions, sections …); default en. Times are Asia/Tokyo with the offset in both.' },
  },
} as const;

/** The response of every CSV export. */
export const csvResponse = { 200: { type: 'string', description: 'CSV (RFC 4180, CRLF)' }, ...errors() };
