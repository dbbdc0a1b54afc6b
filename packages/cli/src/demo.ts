import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO, seedDemo } from '@kumo/api';
import type { Logger } from '@kumo/runtime';
import { UserRepo, createRedis, keySchema, verifyPassword, type RedisClient, type KeySchema, type UserRole } from '@kumo/store';

/** The demo tenant's SIP domain (the same value `seedDemo` provisions). */
export const DEMO_SIP_DOMAIN: string = DEMO.sipDomain;

export interface DemoSeedResult {
  readonly tenantId: string;
  readonly sipDomain: string;
  readonly ports: number;
  readonly extensions: readonly string[];
  readonly ringGroup: string;
  readonly credentialsFile: string;
  /** Set only when the keys were issued by this run (they are printed once). */
  readonly operatorKey?: string;
  readonly tenantKey?: string;
  /** The console's URL and demo log-ins (passwords only when set by this run; else in the credentials file). */
  readonly console: { readonly url: string; readonly users: readonly { login: string; role: UserRole; password?: string }[] };
}

/** Demo console users: the tenant admin of `demo` and a platform operator. */
export const DEMO_USERS = [
  { login: 'admin@demo', name: 'Demo admin', role: 'tenant-admin', tenantId: 'demo', field: 'tenantAdminPassword' },
  { login: 'operator', name: 'Demo operator', role: 'operator', field: 'operatorPassword' },
] as const;

export interface DemoSeedOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly dataDir: string;
  readonly apiUrl: string;
  readonly log: Logger;
}

interface CredentialsFile {
  operatorKey?: string;
  tenantAdminKey?: string;
  console?: { tenantAdminPassword?: string; operatorPassword?: string };
}

function consoleCreds(c: Record<string, unknown>): NonNullable<CredentialsFile['console']> {
  return {
    ...(typeof c['tenantAdminPassword'] === 'string' ? { tenantAdminPassword: c['tenantAdminPassword'] } : {}),
    ...(typeof c['operatorPassword'] === 'string' ? { operatorPassword: c['operatorPassword'] } : {}),
  };
}

function readPrevious(file: string): CredentialsFile {
  if (!existsSync(file)) return {};
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return {
      ...(typeof j['operatorKey'] === 'string' ? { operatorKey: j['operatorKey'] } : {}),
      ...(typeof j['tenantAdminKey'] === 'string' ? { tenantAdminKey: j['tenantAdminKey'] } : {}),
      ...(typeof j['console'] === 'object' && j['console'] !== null ? { console: consoleCreds(j['console'] as Record<string, unknown>) } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * Seeds the demo tenant (idempotent) and keeps `<dataDir>/demo-credentials.json` valid:
 * keys from the previous run are kept (re-imported into a fresh Redis), new ones are issued
 * only when missing, and the file is written with mode 0600.
 */
/**
 * Demo console users: kept when Redis still has them with the password of the credentials
 * file; (re)created with that password on a fresh Redis; a new random password otherwise.
 */
async function seedDemoUsers(redis: RedisClient, keys: KeySchema, previous: CredentialsFile['console']): Promise<{ passwords: Record<string, string>; issued: Set<string> }> {
  const users = new UserRepo(redis, keys);
  const passwords: Record<string, string> = {};
  const issued = new Set<string>();
  for (const d of DEMO_USERS) {
    const given = previous?.[d.field];
    const existing = await users.byLogin(d.login);
    if (existing !== null && given !== undefined && (await verifyPassword(given, existing.passwordHash))) {
      passwords[d.field] = given;
      continue;
    }
    const password = given !== undefined && given.length >= 10 ? given : randomBytes(12).toString('base64url');
    if (existing !== null) await users.remove(existing);
    await users.create({ login: d.login, name: d.name, role: d.role, ...('tenantId' in d ? { tenantId: d.tenantId } : {}), password });
    passwords[d.field] = password;
    if (password !== given) issued.add(d.login);
  }
  return { passwords, issued };
}

export async function seedDemoTenant(o: DemoSeedOptions): Promise<DemoSeedResult> {
  const credentialsFile = join(o.dataDir, 'demo-credentials.json');
  const redis = createRedis(o.redisUrl);
  try {
    const previous = readPrevious(credentialsFile);
    const keys = keySchema(o.prefix);
    const creds = await seedDemo({ redis, keys }, { keys: previous });
    const people = await seedDemoUsers(redis, keys, previous.console);
    writeFileSync(
      credentialsFile,
      JSON.stringify(
        {
          apiUrl: o.apiUrl,
          tenantId: creds.tenantId,
          sipDomain: creds.sipDomain,
          operatorKey: creds.operatorKey,
          tenantAdminKey: creds.tenantAdminKey,
          consoleUrl: `${o.apiUrl}/console/`,
          console: { tenantAdminLogin: DEMO_USERS[0].login, ...people.passwords, operatorLogin: DEMO_USERS[1].login },
          extensions: creds.extensions,
        },
        null,
        2,
      ) + '\n',
      { mode: 0o600 },
    );
    o.log.info({ tenantId: creds.tenantId, created: creds.tenantCreated, keysIssued: creds.keysIssued }, 'demo tenant ready');
    return {
      tenantId: creds.tenantId,
      sipDomain: creds.sipDomain,
      ports: DEMO.ports,
      extensions: DEMO.extensions,
      ringGroup: DEMO.ringGroup,
      credentialsFile,
      ...(creds.keysIssued ? { operatorKey: creds.operatorKey, tenantKey: creds.tenantAdminKey } : {}),
      console: {
        url: `${o.apiUrl}/console/`,
        users: DEMO_USERS.map((d) => ({ login: d.login, role: d.role, ...(people.issued.has(d.login) ? { password: people.passwords[d.field] as string } : {}) })),
      },
    };
  } finally {
    redis.disconnect();
  }
}
