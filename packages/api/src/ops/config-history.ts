/**
 * Configuration history (構成管理, docs/operations.md): a hook records every successful change to a
 * tenant's configuration as a version, without any code in the route handlers, and an operator can
 * restore the configuration as it was after any version (through the same repository calls the routes
 * use, so validation, indexes and the audit stream apply).
 *
 * - `preHandler` of a mutating `/v1/tenants/:tenantId/…` request: the first time a section is touched,
 *   its current state is recorded as a baseline version.
 * - `onSend` of a 2xx answer: the touched entity (or the whole section when the request does not name
 *   one) is read back and compared with the recorded state; differences become a version.
 * Secrets are never recorded: extension HA1 values and trunk registration passwords are left out.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '@kumo/runtime';
import { KumoError } from '@kumo/runtime';
import {
  ConfigHistoryStore,
  fieldDiff,
  type Actor,
  type ConfigChange,
  type ConfigSection,
  type ConfigVersion,
  type KeySchema,
  type ProvisioningRepo,
  type RedisClient,
} from '@kumo/store';
import type { DidValue, ExtensionRecord, ExtensionValue, PickupGroupInput, RingGroupValue, TrunkValue } from '@kumo/domain';

type Entity = Record<string, unknown>;

/** Which section (and entity) a tenant route changes, from its route template. */
export function sectionOf(route: string, params: Record<string, string>, body: unknown): { section: ConfigSection; key?: string } | null {
  const m = /^\/v1\/tenants\/:tenantId(?:\/([a-z-]+)(?:\/:([a-zA-Z]+))?)?(?:\/[a-z-]+)?$/.exec(route);
  if (!m) return null;
  const [, seg, param] = m;
  const b = (body ?? {}) as Record<string, unknown>;
  const fromBody = (f: string): string | undefined => (typeof b[f] === 'string' ? (b[f]) : undefined);
  const pick = (section: ConfigSection, bodyField: string): { section: ConfigSection; key?: string } => {
    const key = param !== undefined ? params[param] : fromBody(bodyField);
    return key !== undefined ? { section, key } : { section };
  };
  switch (seg) {
    case undefined:
      return { section: 'tenant', key: '' };
    case 'extensions':
      return pick('extensions', 'number');
    case 'ring-groups':
      return pick('ringGroups', 'number');
    case 'pickup-groups':
      return pick('pickupGroups', 'id');
    case 'trunks':
      return pick('trunks', 'id');
    case 'dids':
      return pick('dids', 'number');
    case 'numbering-plan':
      return { section: 'numberingPlan', key: '' };
    case 'status':
    case 'suspend':
    case 'resume':
    case 'terminate':
      return { section: 'tenant', key: '' };
    default:
      return null;
  }
}

const omit = (v: object, ...fields: string[]): Entity => {
  const out: Entity = { ...(v as Entity) };
  for (const f of fields) delete out[f];
  return out;
};
const clean = {
  extension: (e: ExtensionRecord): Entity => omit(e, 'ha1Md5', 'ha1Sha256', 'createdAt', 'updatedAt'),
  plain: (e: object): Entity => omit(e, 'createdAt', 'updatedAt'),
  trunk: (t: object): Entity => {
    const o = omit(t, 'createdAt', 'updatedAt');
    if (o.registration !== undefined && o.registration !== null) o.registration = omit(o.registration, 'password');
    return o;
  },
};

async function pages<T>(fetch: (after: string | undefined) => Promise<{ readonly items: readonly T[]; readonly next: string | null }>): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (;;) {
    const p = await fetch(after);
    out.push(...p.items);
    if (p.next === null) return out;
    after = p.next;
  }
}

/** The live value of one entity, or null when it does not exist. */
async function liveEntity(repo: ProvisioningRepo, t: string, s: ConfigSection, key: string): Promise<Entity | null> {
  switch (s) {
    case 'tenant': {
      const x = await repo.tenantById(t);
      return x === null ? null : omit(x, 'id', 'createdAt', 'updatedAt');
    }
    case 'numberingPlan':
      return { ...(await repo.numberingPlan(t)) };
    case 'extensions': {
      const x = await repo.extension(t, key);
      return x === null ? null : clean.extension(x);
    }
    case 'ringGroups': {
      const x = await repo.ringGroup(t, key);
      return x === null ? null : clean.plain(x);
    }
    case 'pickupGroups': {
      const x = await repo.pickupGroup(t, key);
      return x === null ? null : clean.plain(x);
    }
    case 'trunks': {
      const x = await repo.trunk(t, key);
      return x === null ? null : clean.trunk(x);
    }
    case 'dids': {
      const x = await repo.did(t, key);
      return x === null ? null : clean.plain(x);
    }
  }
}

/** Every live entity of a section, by `<section>/<key>`. */
async function liveSection(repo: ProvisioningRepo, t: string, s: ConfigSection): Promise<Map<string, Entity>> {
  const m = new Map<string, Entity>();
  const add = (key: string, v: Entity | null): void => {
    if (v !== null) m.set(`${s}/${key}`, v);
  };
  switch (s) {
    case 'tenant':
    case 'numberingPlan':
      add('', await liveEntity(repo, t, s, ''));
      break;
    case 'extensions':
      for (const e of await pages((after) => repo.listExtensions(t, { after, limit: 1000 }))) add(e.number, clean.extension(e));
      break;
    case 'ringGroups':
      for (const g of await pages((after) => repo.listRingGroups(t, { after, limit: 1000 }))) add(g.number, clean.plain(g));
      break;
    case 'pickupGroups':
      for (const g of await repo.pickupGroups(t)) add(g.id, clean.plain(g));
      break;
    case 'trunks':
      for (const x of await repo.trunks(t)) add(x.id, clean.trunk(x));
      break;
    case 'dids':
      for (const d of await pages((after) => repo.listDids(t, { after, limit: 1000 }))) add(d.number, clean.plain(d));
      break;
  }
  return m;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function changesBetween(recorded: Map<string, unknown>, live: Map<string, Entity>, fields: Iterable<string>): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (const f of fields) {
    const slash = f.indexOf('/');
    const section = f.slice(0, slash) as ConfigSection;
    const key = f.slice(slash + 1);
    const before = recorded.get(f) ?? null;
    const after = live.get(f) ?? null;
    if (same(before, after)) continue;
    const op = before === null ? 'add' : after === null ? 'remove' : 'change';
    out.push({ section, key, op, before, after, fields: op === 'change' ? fieldDiff(before, after) : [] });
  }
  return out.sort((a, b) => (a.section === b.section ? (a.key < b.key ? -1 : 1) : a.section < b.section ? -1 : 1));
}

export class ConfigHistory {
  readonly store: ConfigHistoryStore;
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    redis: RedisClient,
    keys: KeySchema,
    private readonly repo: ProvisioningRepo,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new ConfigHistoryStore(redis, keys);
  }

  /** Runs `fn` after every earlier history job of the tenant (one process records in request order). */
  private serial<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(tenantId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.chains.set(tenantId, tail);
    void tail.then(() => {
      if (this.chains.get(tenantId) === tail) this.chains.delete(tenantId);
    });
    return next;
  }

  /** Records a section's current state as a baseline the first time it is touched. */
  baseline(tenantId: string, section: ConfigSection, by: string): Promise<void> {
    return this.serial(tenantId, async () => {
      if (await this.store.hasSection(tenantId, section)) return;
      const live = await liveSection(this.repo, tenantId, section);
      const changes = changesBetween(new Map(), live, live.keys());
      if (changes.length === 0) await this.store.markSeen(tenantId, [section]);
      else await this.store.append(tenantId, { at: this.now(), by, request: `baseline of ${section}`, baseline: true, changes }, [section]);
    });
  }

  /** Compares the touched entity (or the section) with the recorded state; a difference becomes a version. */
  record(tenantId: string, touched: readonly { section: ConfigSection; key?: string }[], by: string, request: string): Promise<ConfigVersion | null> {
    return this.serial(tenantId, async () => {
      const live = new Map<string, Entity>();
      const fields = new Set<string>();
      const wholeSections: ConfigSection[] = [];
      for (const t of touched) {
        if (t.key === undefined) {
          wholeSections.push(t.section);
          for (const [f, v] of await liveSection(this.repo, tenantId, t.section)) {
            live.set(f, v);
            fields.add(f);
          }
        } else {
          const f = `${t.section}/${t.key}`;
          fields.add(f);
          const v = await liveEntity(this.repo, tenantId, t.section, t.key);
          if (v !== null) live.set(f, v);
        }
      }
      const recorded = await this.store.recorded(tenantId, [...fields]);
      for (const s of wholeSections) for (const [f, v] of await this.store.recordedSection(tenantId, s)) if (!f.endsWith('/.')) {
        recorded.set(f, v);
        fields.add(f);
      }
      const changes = changesBetween(recorded, live, fields);
      if (changes.length === 0) return null;
      return this.store.append(tenantId, { at: this.now(), by, request, baseline: false, changes }, touched.map((t) => t.section));
    });
  }

  /** Installs the hooks on the API (one call in app.ts). */
  install(app: FastifyInstance): void {
    const target = (req: FastifyRequest): { tenantId: string; touched: { section: ConfigSection; key?: string } } | null => {
      if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return null;
      const params = (req.params ?? {}) as Record<string, string>;
      const tenantId = params.tenantId;
      if (tenantId === undefined) return null;
      const touched = sectionOf(req.routeOptions.url ?? '', params, req.body);
      return touched === null ? null : { tenantId, touched };
    };
    const who = (req: FastifyRequest): string => (req.principal === null ? 'unknown' : `${req.principal.role}:${req.principal.id}`);
    app.addHook('preHandler', async (req) => {
      const t = target(req);
      if (t === null || req.tenant === null) return;
      await this.baseline(t.tenantId, t.touched.section, who(req)).catch((err: unknown) => this.log.error({ err, tenant: t.tenantId }, 'configuration history baseline failed'));
    });
    app.addHook('onSend', async (req, reply, payload) => {
      const t = target(req);
      if (t === null || reply.statusCode >= 300 || req.tenant === null) return payload;
      await this.record(t.tenantId, [t.touched], who(req), `${req.method} ${req.url.split('?')[0] ?? ''}`).catch((err: unknown) =>
        this.log.error({ err, tenant: t.tenantId }, 'configuration history record failed'),
      );
      return payload;
    });
  }

  /**
   * Restores the configuration as it was right after `version`: every entity changed by a later version goes
   * back to its value before the first of those changes. Applied through the repository (validated, audited);
   * recorded as a new version. Re-created extensions get a new random password (history keeps no secrets).
   */
  async restore(tenantId: string, version: number, actor: Actor): Promise<{ restoredTo: number; version: ConfigVersion | null; problems: string[]; newPasswords: Record<string, string> }> {
    const last = await this.store.last(tenantId);
    if (!Number.isInteger(version) || version < 1 || version > last) throw new KumoError('KUMO_ERR_NOT_FOUND', `configuration version ${version} not found`);
    const later = await this.store.range(tenantId, version, last);
    const target = new Map<string, { section: ConfigSection; key: string; value: Entity | null }>();
    for (const v of later) for (const c of v.changes) {
      const f = `${c.section}/${c.key}`;
      // A baseline records the state found before the first recorded change: that state held since `version`.
      if (!target.has(f)) target.set(f, { section: c.section, key: c.key, value: ((v.baseline ? c.after : c.before) ?? null) as Entity | null });
    }
    const problems: string[] = [];
    const newPasswords: Record<string, string> = {};
    const order: ConfigSection[] = ['tenant', 'numberingPlan', 'extensions', 'ringGroups', 'pickupGroups', 'trunks', 'dids'];
    const items = [...target.values()];
    const touched = new Map<string, { section: ConfigSection; key: string }>();
    const run = async (label: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        problems.push(`${label}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    // Creates and updates in dependency order, then removals in reverse order.
    for (const s of order) {
      for (const it of items.filter((i) => i.section === s && i.value !== null)) {
        const live = await liveEntity(this.repo, tenantId, s, it.key);
        if (same(live, it.value)) continue;
        touched.set(`${s}/${it.key}`, it);
        await run(`${s} ${it.key}`, () => this.put(tenantId, s, it.key, it.value as Entity, live !== null, actor, newPasswords, problems));
      }
    }
    for (const s of [...order].reverse()) {
      for (const it of items.filter((i) => i.section === s && i.value === null)) {
        if ((await liveEntity(this.repo, tenantId, s, it.key)) === null) continue;
        touched.set(`${s}/${it.key}`, it);
        await run(`${s} ${it.key} (remove)`, () => this.remove(tenantId, s, it.key, actor));
      }
    }
    const rec = await this.record(tenantId, [...touched.values()], `${actor.role}:${actor.keyId}`, `restore of version ${version}`);
    return { restoredTo: version, version: rec, problems, newPasswords };
  }

  private async put(t: string, s: ConfigSection, key: string, v: Entity, exists: boolean, actor: Actor, pw: Record<string, string>, problems: string[]): Promise<void> {
    const r = this.repo;
    switch (s) {
      case 'tenant': {
        const patch: Record<string, unknown> = {};
        for (const f of ['name', 'ports', 'trunkChannels', 'callsPerSecond', 'restrictionLevel', 'notes']) if (v[f] !== undefined) patch[f] = v[f];
        await r.updateTenant(t, patch, actor);
        return;
      }
      case 'numberingPlan':
        await r.setNumberingPlan(t, v as never, actor);
        return;
      case 'extensions': {
        if (exists) {
          // A full replacement: fields absent from the version are removed; the stored digests are kept.
          await r.replaceExtension(t, key, () => ({ ...(v as unknown as ExtensionValue), number: key }), actor);
        } else {
          const password = randomBytes(12).toString('base64url');
          await r.createExtension(t, { ...(v as object), password } as never, actor);
          pw[key] = password;
        }
        return;
      }
      case 'ringGroups':
        await (exists ? r.replaceRingGroup(t, key, () => v as unknown as RingGroupValue, actor) : r.createRingGroup(t, v as unknown as RingGroupValue, actor));
        return;
      case 'pickupGroups':
        await (exists ? r.replacePickupGroup(t, key, () => v as unknown as PickupGroupInput, actor) : r.createPickupGroup(t, v as unknown as PickupGroupInput, actor));
        return;
      case 'trunks': {
        if (exists) {
          // The history keeps no password: a registration restored onto a trunk keeps the trunk's stored one.
          await r.replaceTrunk(
            t,
            key,
            (cur) => {
              const { registration, ...rest } = v as unknown as TrunkValue;
              const password = cur.registration?.password;
              if (registration !== undefined && password === undefined) {
                problems.push(`trunks ${key}: restored without its registration (no stored password to keep); set it again`);
              }
              return { ...rest, ...(registration !== undefined && password !== undefined ? { registration: { ...registration, password } } : {}) };
            },
            actor,
          );
        } else {
          const { registration, ...rest } = v;
          if (registration !== undefined) problems.push(`trunks ${key}: re-created without its registration (the password is not kept in history); set it again`);
          await r.createTrunk(t, rest as unknown as TrunkValue, actor);
        }
        return;
      }
      case 'dids':
        await (exists ? r.replaceDid(t, key, () => v as unknown as DidValue, actor) : r.createDid(t, v as unknown as DidValue, actor));
        return;
    }
  }

  private async remove(t: string, s: ConfigSection, key: string, actor: Actor): Promise<void> {
    const r = this.repo;
    switch (s) {
      case 'extensions':
        return r.deleteExtension(t, key, actor);
      case 'ringGroups':
        return r.deleteRingGroup(t, key, actor);
      case 'pickupGroups':
        return r.deletePickupGroup(t, key, actor);
      case 'trunks':
        return r.deleteTrunk(t, key, actor);
      case 'dids':
        return r.deleteDid(t, key, actor);
      default:
        throw new Error(`${s} cannot be removed`);
    }
  }
}
