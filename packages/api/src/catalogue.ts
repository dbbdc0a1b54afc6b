/**
 * The error catalogue of the provisioning API: every code the API answers with, its HTTP
 * status, when it happens, the named fields of its `details`, and its message in English and
 * Japanese (`Accept-Language: ja`). Messages are rendered from the details, so the same error
 * reads the same wherever it is raised. `docs/api.md` embeds `catalogueMarkdown()`; a test
 * checks the two agree and that every code thrown by the API and the provisioning store is here.
 */

export type Details = Readonly<Record<string, unknown>>;
export type Lang = 'en' | 'ja';

export interface CatalogueEntry {
  readonly status: number;
  /** When the error happens (for the docs). */
  readonly when: string;
  /** Named fields of `details` (always present unless marked `?`). */
  readonly details: readonly string[];
  /** English message; `fallback` is the message the error was raised with. */
  readonly en: (d: Details, fallback: string) => string;
  readonly ja: (d: Details, fallback: string) => string;
}

const s = (v: unknown, dflt = '?'): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : dflt);

/** Resource names as they appear in `details.resource` and in messages. */
export const RESOURCE_NAMES: Readonly<Record<string, { en: string; ja: string }>> = {
  tenant: { en: 'tenant', ja: 'テナント' },
  extension: { en: 'extension', ja: '内線' },
  ringGroup: { en: 'ring group', ja: '着信グループ' },
  pickupGroup: { en: 'pickup group', ja: 'ピックアップグループ' },
  trunk: { en: 'trunk', ja: 'トランク' },
  did: { en: 'DID', ja: 'ダイヤルイン番号' },
  apiKey: { en: 'API key', ja: 'APIキー' },
  tariff: { en: 'tariff', ja: '料金表' },
  deadLetter: { en: 'dead letter', ja: 'デッドレター' },
  registration: { en: 'registration', ja: '登録' },
  number: { en: 'number', ja: '番号' },
  feature: { en: 'feature code', ja: '特番' },
  site: { en: 'site', ja: '拠点' },
  'extension or ring group': { en: 'extension or ring group', ja: '内線または着信グループ' },
};

function name(resource: unknown, lang: Lang): string {
  const r = RESOURCE_NAMES[s(resource, '')];
  return r === undefined ? s(resource, lang === 'ja' ? '対象' : 'resource') : r[lang];
}

/** "a extension" → "an extension". */
function article(word: string): string {
  return /^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`;
}

function fields(d: Details): string {
  const p = Array.isArray(d.problems) ? (d.problems as { field?: unknown }[]) : [];
  return [...new Set(p.map((x) => s(x.field, '')))].filter((x) => x !== '').join(', ');
}

function problemsText(d: Details): string | undefined {
  const p = Array.isArray(d.problems) ? (d.problems as { field?: unknown; message?: unknown }[]) : [];
  if (p.length === 0) return undefined;
  return p.map((x) => `${s(x.field, '')} ${s(x.message, '')}`.trim()).join('; ');
}

const RESERVED_EN: Readonly<Record<string, string>> = {
  emergency: 'is an emergency number (110, 118, 119)',
  outsideLinePrefix: 'starts with the outside-line prefix',
  featureCode: 'collides with a feature code',
};
const RESERVED_JA: Readonly<Record<string, string>> = {
  emergency: '緊急通報番号（110・118・119）です',
  outsideLinePrefix: '外線発信番号で始まっています',
  featureCode: '特番と重なっています',
};

function referrersText(d: Details, lang: Lang): string {
  const r = Array.isArray(d.referrers) ? (d.referrers as { resource?: unknown; id?: unknown; field?: unknown }[]) : [];
  const list = r.slice(0, 5).map((x) => `${name(x.resource, lang)} ${s(x.id)} (${s(x.field)})`);
  if (r.length > 5) list.push(lang === 'ja' ? `ほか${r.length - 5}件` : `${r.length - 5} more`);
  return list.join(lang === 'ja' ? '、' : ', ');
}

/** Every error code of the API. Codes are stable: clients may switch on them. */
export const ERROR_CATALOGUE = {
  KUMO_ERR_VALIDATION: {
    status: 400,
    when: 'schema or domain validation failed; every problem is listed at once',
    details: ['problems: [{field, message}]'],
    en: (d, m) => (problemsText(d) !== undefined ? `invalid input: ${problemsText(d) ?? ''}` : m),
    ja: (d) => `入力内容に誤りがあります（項目: ${fields(d) || '不明'}）`,
  },
  KUMO_ERR_UNKNOWN_FIELD: {
    status: 400,
    when: 'a body or query field the API does not know (nothing is silently dropped)',
    details: ['problems: [{field, message}]'],
    en: (d) => `unknown field(s): ${fields(d)}`,
    ja: (d) => `使用できない項目があります（項目: ${fields(d)}）`,
  },
  KUMO_ERR_MALFORMED_JSON: {
    status: 400,
    when: 'the body is not JSON (also an empty JSON body, `__proto__` keys)',
    details: [],
    en: () => 'the body is not valid JSON',
    ja: () => '本文が正しいJSONではありません',
  },
  KUMO_ERR_BAD_REQUEST: {
    status: 400,
    when: 'a request rejected before routing (e.g. a URL with broken percent-encoding) or an unusable parameter',
    details: [],
    en: (_d, m) => m || 'bad request',
    ja: () => 'リクエストが正しくありません',
  },
  KUMO_ERR_UNKNOWN_REFERENCE: {
    status: 400,
    when: 'a group member, DID target, forwarding destination or overflow that is not an extension / ring group of the tenant',
    details: ['field', 'number', 'expected'],
    en: (d) => `${s(d.field)}: ${s(d.number)} is not ${article(name(d.expected, 'en'))} of this tenant`,
    ja: (d) => `${s(d.field)}: ${s(d.number)} はこのテナントの${name(d.expected, 'ja')}ではありません`,
  },
  KUMO_ERR_FORWARDING_LOOP: {
    status: 400,
    when: `forwarding or overflow that leads back to where it started, or a chain longer than call routing follows`,
    details: ['field', 'chain: [number]', 'maxDepth'],
    en: (d) => `${s(d.field)}: forwarding ${Array.isArray(d.chain) ? d.chain.join(' → ') : '?'} loops or exceeds the ${s(d.maxDepth)} hops call routing follows`,
    ja: (d) => `${s(d.field)}: 転送 ${Array.isArray(d.chain) ? d.chain.join(' → ') : '?'} がループしているか、転送段数の上限（${s(d.maxDepth)}）を超えています`,
  },
  KUMO_ERR_CONFIRMATION_REQUIRED: {
    status: 400,
    when: 'tenant deletion without `?confirm=<tenantId>`',
    details: ['tenantId'],
    en: (d) => `add ?confirm=${s(d.tenantId)} to delete the tenant's data`,
    ja: (d) => `テナントのデータを削除するには ?confirm=${s(d.tenantId)} を付けてください`,
  },
  KUMO_ERR_UNAUTHORIZED: {
    status: 401,
    when: 'missing, malformed, unknown or revoked API key',
    details: [],
    en: (_d, m) => m || 'authentication required',
    ja: () => 'APIキーがないか、無効です',
  },
  KUMO_ERR_FORBIDDEN: {
    status: 403,
    when: 'a tenant admin on an operator route',
    details: [],
    en: () => 'operator key required',
    ja: () => 'オペレーター用のAPIキーが必要です',
  },
  KUMO_ERR_TENANT_SUSPENDED: {
    status: 403,
    when: "a write by a suspended tenant's admin",
    details: ['tenantId'],
    en: () => 'the tenant is suspended: configuration is read-only',
    ja: () => 'テナントは利用停止中のため、設定は参照のみ可能です',
  },
  KUMO_ERR_NOT_FOUND: {
    status: 404,
    when: "the tenant or resource does not exist (or is another tenant's)",
    details: ['resource', 'id'],
    en: (d) => `${name(d.resource, 'en')} ${s(d.id, '')} not found`.replace(/\s+/g, ' '),
    ja: (d) => `${name(d.resource, 'ja')} ${s(d.id, '')} が見つかりません`.replace(/\s+/g, ' '),
  },
  KUMO_ERR_ROUTE_NOT_FOUND: {
    status: 404,
    when: 'no such route (path or method); nothing of the URL is echoed',
    details: [],
    en: () => 'no such route',
    ja: () => 'そのAPIはありません',
  },
  KUMO_ERR_EXISTS: {
    status: 409,
    when: 'tenant id, trunk id, pickup group id or DID already exists in the tenant',
    details: ['resource', 'id'],
    en: (d) => `${name(d.resource, 'en')} ${s(d.id)} already exists`,
    ja: (d) => `${name(d.resource, 'ja')} ${s(d.id)} はすでに存在します`,
  },
  KUMO_ERR_IN_USE: {
    status: 409,
    when: 'deleting an extension or ring group that forwarding, groups or DIDs still point to',
    details: ['resource', 'id', 'referrers: [{resource, id, field}]'],
    en: (d) => `${name(d.resource, 'en')} ${s(d.id)} is still used by ${referrersText(d, 'en')}; change those first`,
    ja: (d) => `${name(d.resource, 'ja')} ${s(d.id)} は ${referrersText(d, 'ja')} から参照されています。先にそちらを変更してください`,
  },
  KUMO_ERR_PORT_LIMIT: {
    status: 409,
    when: "creating an extension beyond the contract's `ports`",
    details: ['ports'],
    en: (d) => `the contract allows ${s(d.ports)} extensions (ports); all are in use`,
    ja: (d) => `契約ポート数（${s(d.ports)}）の内線をすべて使用しています`,
  },
  KUMO_ERR_PORTS_BELOW_PROVISIONED: {
    status: 409,
    when: 'lowering `ports` below the number of existing extensions',
    details: ['provisioned'],
    en: (d) => `ports cannot be lowered below the ${s(d.provisioned)} provisioned extensions`,
    ja: (d) => `ポート数は登録済みの内線数（${s(d.provisioned)}）より少なくできません`,
  },
  KUMO_ERR_CONTRACT_LIMIT: {
    status: 409,
    when: "a trunk `channelLimit` above the contract's `trunkChannels`",
    details: ['field', 'limit', 'value'],
    en: (d) => `${s(d.value)} exceeds the contract's ${s(d.field)} (${s(d.limit)})`,
    ja: (d) => `${s(d.value)} は契約の ${s(d.field)}（${s(d.limit)}）を超えています`,
  },
  KUMO_ERR_NUMBER_TAKEN: {
    status: 409,
    when: 'the number is already an extension, ring group or feature code of the tenant',
    details: ['number', 'usedBy'],
    en: (d) => `number ${s(d.number)} is already used by ${article(name(d.usedBy, 'en'))}`,
    ja: (d) => `番号 ${s(d.number)} はすでに${name(d.usedBy, 'ja')}で使われています`,
  },
  KUMO_ERR_NUMBER_RESERVED: {
    status: 409,
    when: 'an extension or group number that is 110/118/119, starts with the outside-line prefix, or collides with a feature code',
    details: ['number', 'reason (emergency | outsideLinePrefix | featureCode)'],
    en: (d) => `number ${s(d.number)} ${RESERVED_EN[s(d.reason, '')] ?? 'is reserved'}`,
    ja: (d) => `番号 ${s(d.number)} は${RESERVED_JA[s(d.reason, '')] ?? '予約されています'}`,
  },
  KUMO_ERR_DOMAIN_TAKEN: {
    status: 409,
    when: 'the SIP domain belongs to another tenant (unique platform-wide)',
    details: ['sipDomain'],
    en: (d) => `SIP domain ${s(d.sipDomain)} is used by another tenant`,
    ja: (d) => `SIPドメイン ${s(d.sipDomain)} は他のテナントが使用しています`,
  },
  KUMO_ERR_DID_TAKEN: {
    status: 409,
    when: 'the DID belongs to another tenant (unique platform-wide)',
    details: ['number'],
    en: (d) => `DID ${s(d.number)} belongs to another tenant`,
    ja: (d) => `ダイヤルイン番号 ${s(d.number)} は他のテナントに割り当てられています`,
  },
  KUMO_ERR_GATEWAY_TAKEN: {
    status: 409,
    when: 'the gateway (IP, port, transport) belongs to another trunk, of this or any tenant (see the gateway rule under Trunks)',
    details: ['host', 'port', 'transport'],
    en: (d) => `gateway ${s(d.host)}:${s(d.port)} (${s(d.transport)}) already belongs to another trunk`,
    ja: (d) => `ゲートウェイ ${s(d.host)}:${s(d.port)}（${s(d.transport)}）はすでに別のトランクで使われています`,
  },
  KUMO_ERR_PLAN_CONFLICT: {
    status: 409,
    when: 'a numbering-plan change that existing numbers contradict (length, prefix)',
    details: ['rule (extensionLength | prefix)', 'number'],
    en: (d) => `the numbering plan's ${s(d.rule)} conflicts with existing number ${s(d.number)}`,
    ja: (d) => `番号計画の ${s(d.rule)} が既存の番号 ${s(d.number)} と矛盾します`,
  },
  KUMO_ERR_TENANT_TERMINATED: {
    status: 409,
    when: 'a write to a terminated tenant',
    details: ['tenantId'],
    en: () => 'the tenant is terminated',
    ja: () => 'テナントは解約済みです',
  },
  KUMO_ERR_TENANT_NOT_TERMINATED: {
    status: 409,
    when: 'deleting the data of a tenant that is not terminated',
    details: ['tenantId', 'status'],
    en: () => 'only a terminated tenant can be deleted',
    ja: () => '削除できるのは解約済みのテナントだけです',
  },
  KUMO_ERR_SELF_REVOCATION: {
    status: 409,
    when: 'an operator key revoking itself',
    details: [],
    en: () => 'a key cannot revoke itself; revoke it with another operator key',
    ja: () => '使用中のAPIキー自身は失効できません。別のオペレーター用キーで失効してください',
  },
  KUMO_ERR_CONCURRENT_UPDATE: {
    status: 409,
    when: 'a record changed concurrently 8 times in a row during an update; retry',
    details: [],
    en: () => 'the record changed concurrently too often; retry',
    ja: () => '同時に更新が重なりました。もう一度お試しください',
  },
  KUMO_ERR_BODY_TOO_LARGE: {
    status: 413,
    when: 'a body above `KUMO_API_BODY_LIMIT` (default 256 KiB)',
    details: [],
    en: () => 'the body is larger than the limit',
    ja: () => '本文が大きすぎます',
  },
  KUMO_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    when: 'a body that is not `application/json` (text/plain is refused too)',
    details: [],
    en: () => 'send application/json',
    ja: () => 'application/json で送信してください',
  },
  KUMO_ERR_INVALID_TEXT: {
    status: 400,
    when: 'a body, query or path string that is not well-formed Unicode (invalid UTF-8, a lone surrogate)',
    details: ['problems: [{field, message}]'],
    en: (d) => `${fields(d) || 'the request'} contains invalid text (invalid UTF-8 or a lone surrogate)`,
    ja: (d) => `${fields(d) || 'リクエスト'} に不正な文字（UTF-8として不正、または孤立したサロゲート）が含まれています`,
  },
  KUMO_ERR_NOT_ASSIGNED: {
    status: 403,
    when: 'a tenant admin routes a number or a carrier gateway the operator has not assigned to the tenant (docs/security.md); which tenant holds it is never said',
    details: ['number?', 'host?'],
    en: (d, m) => (d.number !== undefined ? `number ${s(d.number)} is not assigned to this tenant; numbers are assigned by the operator` : d.host !== undefined ? `gateway ${s(d.host)} is not assigned to this tenant; carrier gateways are assigned by the operator` : m),
    ja: (d) => (d.number !== undefined ? `番号 ${s(d.number)} はこのテナントに割り当てられていません。番号はオペレーターが割り当てます` : d.host !== undefined ? `ゲートウェイ ${s(d.host)} はこのテナントに割り当てられていません。キャリアのゲートウェイはオペレーターが割り当てます` : 'このテナントでは利用できません。オペレーターにお問い合わせください'),
  },
  KUMO_ERR_ADDRESS_NOT_ALLOWED: {
    status: 400,
    when: 'a gateway address that is loopback, unspecified, broadcast or otherwise unroutable, without an operator grant that allows it',
    details: ['host', 'class'],
    en: (d) => `gateway ${s(d.host)} is a ${s(d.class)} address; only an operator grant can allow it`,
    ja: (d) => `ゲートウェイ ${s(d.host)} は ${s(d.class)} アドレスです。オペレーターの許可がある場合のみ使用できます`,
  },
  KUMO_ERR_CALLER_ID_NOT_OWNED: {
    status: 400,
    when: "an outbound caller ID that is not one of the tenant's DIDs or operator-approved numbers",
    details: ['problems: [{field, message}]', 'number'],
    en: (d) => `${fields(d) || 'caller ID'} ${s(d.number)} is not one of this tenant's numbers (its DIDs or numbers the operator approved)`,
    ja: (d) => `${fields(d) || '発信者番号'} ${s(d.number)} はこのテナントの番号（ダイヤルイン番号またはオペレーターが承認した番号）ではありません`,
  },
  KUMO_ERR_QUOTA_EXCEEDED: {
    status: 409,
    when: "a tenant's data quota is used up (its audit trail, help-desk tickets, notes on a ticket; Article 37); operators are not limited",
    details: ['quota', 'limit', 'used'],
    en: (d) => `the tenant's ${s(d.quota)} quota is used up (${s(d.used)} of ${s(d.limit)}); ask the operator`,
    ja: (d) => `テナントの${s(d.quota)}の上限に達しました（${s(d.limit)}件中${s(d.used)}件）。オペレーターにお問い合わせください`,
  },
  KUMO_ERR_CONFIG: {
    status: 500,
    when: 'start-up only: a setting is invalid (e.g. `KUMO_SECRET_KEY` is not 32 bytes), so the process refuses to start; no request causes it',
    details: [],
    en: (_d, m) => m || 'the server is misconfigured',
    ja: () => 'サーバーの設定に誤りがあります',
  },
  KUMO_ERR_SECRET: {
    status: 500,
    when: 'a stored secret (a trunk registration password) cannot be opened with the configured `KUMO_SECRET_KEY`: the key was changed without re-sealing (docs/security.md); no request causes it',
    details: [],
    en: (_d, m) => m || 'a stored secret cannot be decrypted with the configured key',
    ja: () => '保存された秘密情報を設定された鍵で復号できません。オペレーターにお問い合わせください',
  },
  KUMO_ERR_CSRF: {
    status: 403,
    when: 'a console write without the session\'s CSRF token, or from a foreign Origin (docs/console.md); API keys are not affected',
    details: [],
    en: (_d, m) => m || 'the request did not come from the console page (CSRF check failed); reload the page',
    ja: () => 'リクエストがコンソール画面から送信されていません（CSRF検査に失敗しました）。ページを再読み込みしてください',
  },
  KUMO_ERR_LOGIN_LOCKED: {
    status: 429,
    when: 'too many failed console log-ins for one login: locked for a while that doubles (docs/console.md); see `Retry-After`',
    details: ['retryAfterSec'],
    en: (d, m) => m || `too many failed log-ins; try again in ${s(d.retryAfterSec)} s`,
    ja: (d) => `ログインの失敗が多すぎます。${s(d.retryAfterSec)}秒後に再度お試しください`,
  },
  KUMO_ERR_RATE_LIMITED: {
    status: 429,
    when: 'too many failed authentications from one address, or a tenant above its API write rate; see `Retry-After`',
    details: ['retryAfterSec'],
    en: (_d, m) => m || 'too many requests; retry later',
    ja: (d) => `リクエストが多すぎます。${s(d.retryAfterSec)}秒後に再度お試しください`,
  },
  KUMO_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    when: 'the request line and headers are larger than the limit (answered before routing)',
    details: [],
    en: () => 'the request line and headers are larger than the limit',
    ja: () => 'リクエスト行とヘッダーが大きすぎます',
  },
  KUMO_ERR_BRANCH_FOREIGN_CDR: {
    status: 403,
    when: "a branch forwarded a CDR of a tenant other than its site's",
    details: ['cdrId'],
    en: (d) => `CDR ${s(d.cdrId)} belongs to another tenant`,
    ja: (d) => `CDR ${s(d.cdrId)} は別のテナントのものです`,
  },
  KUMO_ERR_BRANCH_NOT_CONFIGURED: {
    status: 503,
    when: 'a branch endpoint while the API has no snapshot signing key (`KUMO_BRANCH_SIGNING_KEY`)',
    details: [],
    en: () => 'branch servers are not configured on this installation (no signing key)',
    ja: () => 'このシステムでは拠点サーバーが設定されていません（署名鍵がありません）',
  },
  KUMO_ERR_INTERNAL: {
    status: 500,
    when: 'a bug; logged with the stack, the body says only "internal error"',
    details: [],
    en: () => 'internal error',
    ja: () => '内部エラーが発生しました',
  },
  KUMO_ERR_UNAVAILABLE: {
    status: 503,
    when: 'Redis unreachable, stuck (> `KUMO_API_REDIS_TIMEOUT_MS`) or out of memory; the outcome of a write is unknown',
    details: [],
    en: () => 'the data store is unavailable; retry later',
    ja: () => 'データストアに接続できません。しばらくしてから再度お試しください',
  },
} as const satisfies Record<`KUMO_ERR_${string}`, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function catalogueEntry(code: string): CatalogueEntry | undefined {
  return (ERROR_CATALOGUE as Readonly<Record<string, CatalogueEntry>>)[code];
}

/** `ja` when the client prefers Japanese (`Accept-Language: ja`, `ja-JP;q=0.9, en;q=0.8` …), else `en`. */
export function languageOf(acceptLanguage: string | string[] | undefined): Lang {
  const h = Array.isArray(acceptLanguage) ? acceptLanguage.join(',') : (acceptLanguage ?? '');
  let best: { lang: string; q: number } | undefined;
  for (const part of h.split(',')) {
    const [tag = '', ...params] = part.trim().split(';');
    if (tag === '') continue;
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qp === undefined ? 1 : Number(qp.slice(2));
    if (!Number.isFinite(q) || q <= 0) continue;
    if (best === undefined || q > best.q) best = { lang: tag.toLowerCase(), q };
  }
  return best !== undefined && (best.lang === 'ja' || best.lang.startsWith('ja-')) ? 'ja' : 'en';
}

/** The message of an error in a language, rendered from its details. */
export function messageOf(code: string, details: Details, fallback: string, lang: Lang): string {
  const e = catalogueEntry(code);
  if (e === undefined) return fallback;
  return e[lang](details, fallback);
}

/** The catalogue as the markdown table embedded in docs/api.md. */
export function catalogueMarkdown(): string {
  const cell = (t: string): string => t.replace(/\|/g, '\\|');
  const rows = Object.entries(ERROR_CATALOGUE as Readonly<Record<string, CatalogueEntry>>).map(([code, e]) => {
    const ex = exampleDetails(e);
    const det = e.details.length === 0 ? '—' : cell(e.details.map((f) => `\`${f}\``).join(', '));
    return `| ${e.status} | \`${code}\` | ${cell(e.when)} | ${det} | ${cell(e.en(ex, '…'))} | ${cell(e.ja(ex, '…'))} |`;
  });
  return ['| status | code | when | `details` | message (example) | Japanese message (example) |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** Placeholder details for the docs' Japanese example messages. */
function exampleDetails(e: CatalogueEntry): Details {
  const d: Record<string, unknown> = {};
  for (const f of e.details) {
    const k = f.split(/[ :]/)[0] ?? f;
    // `reason (emergency | outsideLinePrefix | featureCode)`: the example takes the first value.
    const first = /\(([^|)\s]+)/.exec(f)?.[1];
    d[k] = first ?? `{${k}}`;
  }
  if ('problems' in d) d.problems = [{ field: '{field}', message: '{message}' }];
  if ('chain' in d) d.chain = ['{number}', '…'];
  if ('referrers' in d) d.referrers = [{ resource: '{resource}', id: '{id}', field: '{field}' }];
  return d;
}
