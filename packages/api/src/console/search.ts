import { defineRoutes, tenantOf } from '../context.js';
import { errors, extensionSchema, page, parseLimit, tenantParams } from '../schemas.js';

const searchQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { type: 'string', maxLength: 100, description: 'Digits: number prefix; otherwise part of the display name or department (case-insensitive)' },
    limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: '1–1000, default 100' },
    after: { type: 'string', maxLength: 64, description: 'Cursor: the `next` value of the previous page' },
  },
} as const;

/** Extensions scanned per Redis round trip when searching by name. */
const SCAN_CHUNK = 500;

/**
 * `GET /v1/tenants/:tenantId/extension-search`: the console's extension list with search and
 * paging (20,000 extensions): a number prefix is a lexical range on the index; text is matched
 * against names and departments in chunks of 500 records (one MGET each), never more than the
 * page needs.
 */
export const searchRoutes = defineRoutes((app, { redis, keys }) => {
  app.get<{ Querystring: { q?: string; limit?: string; after?: string } }>(
    '/extension-search',
    { schema: { tags: ['tenant'], summary: 'Search extensions (number prefix, name or department)', params: tenantParams, querystring: searchQuery, response: { 200: page(extensionSchema), ...errors() } } },
    async (req) => {
      const t = tenantOf(req).id;
      const limit = parseLimit(req.query);
      const q = (req.query.q ?? '').trim();
      const idx = keys.tenant.extensions(t);
      const after = req.query.after;
      const start = after !== undefined && after !== '' ? `(${after}` : '-';
      const load = async (numbers: string[]) => {
        if (numbers.length === 0) return [];
        const raws = await redis.mget(numbers.map((n) => keys.tenant.extension(t, n)));
        return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as { number: string; displayName?: string; department?: string });
      };
      if (/^[0-9]*$/.test(q)) {
        // Number prefix: ZRANGEBYLEX over [q, q + '\xff').
        const lo = q === '' ? start : after !== undefined && after !== '' && after >= q ? `(${after}` : `[${q}`;
        const hi = q === '' ? '+' : `(${q}\xff`;
        const numbers = await redis.zrangebylex(idx, lo, hi, 'LIMIT', 0, limit + 1);
        const items = await load(numbers.slice(0, limit));
        return { items, next: numbers.length > limit ? (items[items.length - 1]?.number ?? null) : null };
      }
      const needle = q.toLowerCase();
      const items: { number: string }[] = [];
      let cursor = start;
      for (;;) {
        const numbers = await redis.zrangebylex(idx, cursor, '+', 'LIMIT', 0, SCAN_CHUNK);
        if (numbers.length === 0) return { items, next: null };
        for (const e of await load(numbers)) {
          if ((e.displayName ?? '').toLowerCase().includes(needle) || (e.department ?? '').toLowerCase().includes(needle)) {
            items.push(e);
            if (items.length === limit) return { items, next: e.number };
          }
        }
        cursor = `(${numbers[numbers.length - 1] as string}`;
      }
    },
  );
});
