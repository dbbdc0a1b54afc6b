import type { Logger } from '@kumo/runtime';

export interface DemoSeedResult {
  readonly tenantId: string;
  readonly sipDomain: string;
  readonly ports: number;
  readonly extensions: readonly string[];
  readonly ringGroup: string;
  readonly credentialsFile: string;
  /** Set only when the keys were issued by this run (printed once). */
  readonly operatorKey?: string;
  readonly tenantKey?: string;
}

export interface DemoSeedOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly dataDir: string;
  readonly log: Logger;
}

/** Seeds the demo tenant (idempotent) and writes its credentials file. Filled in when the API lands. */
export function seedDemoTenant(_o: DemoSeedOptions): Promise<DemoSeedResult> {
  return Promise.reject(new Error('the demo tenant needs the provisioning API'));
}
