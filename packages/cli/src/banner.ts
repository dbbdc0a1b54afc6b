import type { DemoSeedResult } from './demo.js';

export interface BannerInput {
  readonly env: NodeJS.ProcessEnv;
  readonly processes: readonly string[];
  readonly demo: DemoSeedResult | undefined;
  readonly redisUrl: string;
  readonly dataDir: string;
  readonly localRedis: boolean;
}

const pick = (env: NodeJS.ProcessEnv, key: string, dflt: string): string => env[key] ?? dflt;

/** The start-up banner of `kumo up`: where everything listens and how to log in. */
export function banner(b: BannerInput): string {
  const api = pick(b.env, 'KUMO_API_LISTEN', '127.0.0.1:8080');
  const sip = pick(b.env, 'KUMO_SIP_LISTEN', 'udp/127.0.0.1:5060,tcp/127.0.0.1:5060');
  const lines = [
    '',
    '  Kumo is up',
    '  ──────────',
    `  processes    ${b.processes.join(', ') || '(none)'}`,
    `  API          http://${api}   (OpenAPI UI: /docs, metrics: /metrics)`,
    `  Console      http://${api}/console/`,
  ];
  if (b.processes.includes('engine')) lines.push(`  SIP          ${sip}`);
  lines.push(
    `  Redis        ${b.redisUrl.replace(/\/\/[^@/]*@/, '//[redacted]@')}${b.localRedis ? `  (local, AOF in ${b.dataDir}/redis)` : ''}`,
  );
  if (b.demo) {
    const d = b.demo;
    lines.push(
      '',
      `  Demo tenant  ${d.tenantId}  (SIP domain ${d.sipDomain}, ${d.ports} ports)`,
      `  Phones       extensions ${d.extensions[0]}–${d.extensions[d.extensions.length - 1]}; user = extension, password = pass<ext> (e.g. ${d.extensions[0]} / pass${d.extensions[0]})`,
      `  Ring group   ${d.ringGroup} (ring-all over 1001–1003); pickup group desk (1001–1005, *8)`,
      `  Credentials  ${d.credentialsFile}`,
    );
    if (d.operatorKey) lines.push(`  Operator key ${d.operatorKey}`);
    if (d.tenantKey) lines.push(`  Tenant key   ${d.tenantKey}`);
    if (!d.operatorKey) lines.push('  (API keys were issued on the first run and are in the credentials file)');
    for (const u of d.console.users) {
      const who = u.role === 'operator' ? 'operator    ' : 'tenant admin';
      lines.push(`  Console log-in (${who})  ${u.login} / ${u.password ?? '(password in the credentials file)'}`);
    }
  }
  lines.push('', '  Ctrl-C stops everything cleanly.', '');
  return lines.join('\n') + '\n';
}
