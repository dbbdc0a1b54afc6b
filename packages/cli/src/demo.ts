import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO, seedDemo } from '@kumo/api';
import type { Logger } from '@kumo/runtime';
import { createRedis, keySchema } from '@kumo/store';

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
}

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
}

function readPrevious(file: string): CredentialsFile {
  if (!existsSync(file)) return {};
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return {
      ...(typeof j['operatorKey'] === 'string' ? { operatorKey: j['operatorKey'] } : {}),
      ...(typeof j['tenantAdminKey'] === 'string' ? { tenantAdminKey: j['tenantAdminKey'] } : {}),
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
export async function seedDemoTenant(o: DemoSeedOptions): Promise<DemoSeedResult> {
  const credentialsFile = join(o.dataDir, 'demo-credentials.json');
  const redis = createRedis(o.redisUrl);
  try {
    const creds = await seedDemo({ redis, keys: keySchema(o.prefix) }, { keys: readPrevious(credentialsFile) });
    writeFileSync(
      credentialsFile,
      JSON.stringify(
        {
          apiUrl: o.apiUrl,
          tenantId: creds.tenantId,
          sipDomain: creds.sipDomain,
          operatorKey: creds.operatorKey,
          tenantAdminKey: creds.tenantAdminKey,
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
    };
  } finally {
    redis.disconnect();
  }
}
