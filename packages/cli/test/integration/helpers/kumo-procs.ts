/**
 * Real Kumo processes for reliability tests: `kumo engine`, `kumo sip`, `kumo billing` spawned
 * from the built CLI (as `kumo up` runs them), a sipp carrier that logs when each call is
 * answered and hung up (carrier-side durations), and sipp phones that call through Kumo.
 * In the `drachtio` vitest project (KUMO_TEST_DRACHTIO_BIN) the `engine` process is the C++
 * drachtio-server, configured from infra/drachtio/drachtio.conf.xml with the same ports and secret.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_NODE_ARGS, engineProcessEnv } from '@kumo/engine';
import { validateExtension, validateTenantCreate, validateTrunk, type Cdr } from '@kumo/domain';
import { ProvisioningRepo, SYSTEM_ACTOR, createRedis, keySchema, type KeySchema, type RedisClient } from '@kumo/store';
import { SDP, drachtioConfig, externalDrachtio, freePort, reply, runSipp, scenario, startSipp, uacCall, uniquePrefix, type SippHandle, type SippResult } from '@kumo/testkit';

const MAIN = fileURLToPath(new URL('../../../dist/main.js', import.meta.url));

export class KumoProc {
  child: ChildProcess | undefined;
  output = '';
  private exitP: Promise<void> = Promise.resolve();

  constructor(
    readonly name: 'engine' | 'sip' | 'billing' | 'api',
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  start(): void {
    const drachtio = this.name === 'engine' ? externalDrachtio() : undefined;
    const c = drachtio
      ? spawn(drachtio, ['-f', this.drachtioConf()], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [...(this.name === 'engine' ? ENGINE_NODE_ARGS : []), MAIN, this.name], { env: this.name === 'engine' ? engineProcessEnv({ ...process.env, ...this.env }) : { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = c;
    const add = (d: Buffer): void => {
      this.output += d.toString();
      if (this.output.length > 400_000) this.output = this.output.slice(-200_000);
    };
    c.stdout?.on('data', add);
    c.stderr?.on('data', add);
    this.exitP = new Promise((r) => c.once('exit', () => r()));
  }

  /** drachtio-server in place of `kumo engine`: its SIP, control and metrics ports are the engine's. */
  private drachtioConf(): string {
    const port = (hostPort: string | undefined): number => Number((hostPort ?? '').split(':').pop());
    const file = join(mkdtempSync(join(tmpdir(), 'kumo-drachtio-')), 'drachtio.conf.xml');
    const sipPort = port(this.env.KUMO_SIP_LISTEN?.split(',')[0]);
    writeFileSync(
      file,
      drachtioConfig({
        host: '127.0.0.1',
        adminPort: port(this.env.KUMO_ENGINE_CONTROL),
        secret: this.env.KUMO_ENGINE_SECRET ?? '',
        sipPort,
        metricsPort: port(this.env.KUMO_ENGINE_OPS_LISTEN),
        ...(process.env.KUMO_TEST_DRACHTIO_LOGLEVEL ? { loglevel: process.env.KUMO_TEST_DRACHTIO_LOGLEVEL } : {}),
      }),
    );
    return file;
  }

  get running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** Waits for the process to exit by itself; false when it is still running after `ms`. */
  async waitExit(ms: number): Promise<boolean> {
    if (!this.running) return true;
    let t: NodeJS.Timeout | undefined;
    const exited = await Promise.race([this.exitP.then(() => true), new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)))]);
    clearTimeout(t);
    return exited;
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals, timeoutMs = 30_000): Promise<void> {
    if (this.running) {
      this.child?.kill(signal);
      const t = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
      await this.exitP;
      clearTimeout(t);
    }
    // KUMO_TEST_LOG_DIR keeps each process's output (with KUMO_TEST_DRACHTIO_LOGLEVEL=debug, drachtio-server's SIP trace).
    if (process.env.KUMO_TEST_LOG_DIR && this.child?.pid !== undefined) writeFileSync(join(process.env.KUMO_TEST_LOG_DIR, `${this.name}-${this.child.pid}.log`), this.output);
  }
}

/** Polls `cond` every 50 ms until true; throws with `what` after `ms`. */
export async function waitFor(cond: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function ready(opsHostPort: string): Promise<boolean> {
  try {
    const status = (await fetch(`http://${opsHostPort}/readyz`)).status;
    // drachtio-server (in place of the engine) has no /readyz: its metrics endpoint answering is its readiness.
    if (status === 404 && externalDrachtio()) return (await fetch(`http://${opsHostPort}/metrics`)).status === 200;
    return status === 200;
  } catch {
    return false;
  }
}

const OK_TO_REQUEST = reply('200 OK').trim();

/**
 * A carrier gateway: answers every INVITE, logs `A <call-id> <ms>` when the ACK comes and
 * `B <call-id> <ms>` when the BYE comes (sipp's clock), answers OPTIONS while up. With
 * `sessionExpires` its 200 OK takes up a session timer with Kumo as the refresher; it answers
 * each refresh (UPDATE, logged `U`) with `refreshStatus` (default 200).
 */
export function carrierUas(o: { sessionExpires?: number; refreshStatus?: number } = {}): string {
  const timer = o.sessionExpires !== undefined ? [`Session-Expires: ${o.sessionExpires};refresher=uac`, 'Require: timer', 'Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE'] : [];
  const refreshAnswer = (o.refreshStatus ?? 200) === 200 ? OK_TO_REQUEST : reply(`${o.refreshStatus} Call/Transaction Does Not Exist`).trim();
  return scenario(
    'carrier',
    `
  <recv request="INVITE"/>${reply('200 OK', { toTag: 'C', contact: 'carrier', headers: timer, sdp: SDP })}
  <recv request="ACK"><action><log message="A [call_id] [clock_tick]"/></action></recv>
  <label id="1"/>
  <recv request="OPTIONS" optional="true" next="2"/>
  <recv request="UPDATE" optional="true" next="4"><action><log message="U [call_id] [clock_tick]"/></action></recv>
  <recv request="BYE"><action><log message="B [call_id] [clock_tick]"/></action></recv>
  ${OK_TO_REQUEST}
  <nop next="3"/>
  <label id="2"/>
  ${OK_TO_REQUEST}
  <nop next="1"/>
  <label id="4"/>
  ${refreshAnswer}
  <nop next="1"/>
  <label id="3"/>`,
  );
}

export const CARRIER_UAS = carrierUas();

/**
 * A phone (digest auth, sipp 3.6 reads MD5) calling `[service]`: holds `holdMs` then hangs
 * up, or answers the BYE Kumo sends first.
 */
export function phoneUac(o: { user: string; domain: string; password: string; holdMs: number }): string {
  return uacCall({ user: o.user, domain: o.domain, password: o.password, expect: 200, mode: 'bye-or-wait', holdMs: o.holdMs });
}

/** The carrier's view: answer and hang-up times (sipp clock, ms) by Call-ID, and the session refreshes it got. */
export function carrierLog(file: string): { answered: Map<string, number>; ended: Map<string, number>; refreshes: number } {
  const answered = new Map<string, number>();
  const ended = new Map<string, number>();
  let refreshes = 0;
  if (!existsSync(file)) return { answered, ended, refreshes };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([ABU]) (\S+) (\d+)/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'U') refreshes += 1;
    else (m[1] === 'A' ? answered : ended).set(m[2] as string, Number(m[3]));
  }
  return { answered, ended, refreshes };
}

export function startCarrier(dir: string, port: number, calls: number, timeoutS: number, xml = CARRIER_UAS): { sipp: SippHandle; log: string } {
  const file = join(dir, 'carrier.xml');
  writeFileSync(file, xml);
  const log = join(dir, 'carrier.log');
  const sipp = startSipp({
    scenario: { file },
    localHost: '127.0.0.2',
    localPort: port,
    calls,
    timeoutS,
    args: ['-trace_logs', '-log_file', log],
  });
  return { sipp, log };
}

export function phoneCalls(
  dir: string,
  o: { target: string; user: string; domain: string; password: string; service: string; calls: number; rate: number; holdMs: number; timeoutS: number; name: string },
): SippHandle {
  const file = join(dir, `${o.name}.xml`);
  writeFileSync(file, phoneUac(o));
  return startSipp({
    scenario: { file },
    target: o.target,
    service: o.service,
    calls: o.calls,
    rate: o.rate,
    timeoutS: o.timeoutS,
    // A call whose answer never comes (its process died) fails after this instead of waiting for the global timeout.
    args: ['-recv_timeout', '8000'],
  });
}

/** A phone call expected to be refused with `status` and a Retry-After header (sipp exits 0 when it was). */
export function refusedUac(o: { user: string; domain: string; password: string; status: number }): string {
  return uacCall({ user: o.user, domain: o.domain, password: o.password, expect: o.status, check: [['Retry-After', '[0-9]+']] });
}

/** One short call (answered: sipp exits 0). */
export async function oneCall(dir: string, o: { target: string; user: string; domain: string; password: string; service: string; name: string }): Promise<SippResult> {
  return phoneCalls(dir, { ...o, calls: 1, rate: 1, holdMs: 200, timeoutS: 4 }).done;
}

export { runSipp };

export const TENANT = 'rel';
export const DOMAIN = 'rel.kumo.test';
/** The extension that calls (permission class mobile: outside calls allowed). */
export const PHONE = { user: '2001', domain: DOMAIN, password: 'pass2001x' };

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}

export interface RelStack {
  readonly keys: KeySchema;
  /** A client for the test's own reads (errors swallowed: redis-server may be killed on purpose). */
  readonly redis: RedisClient;
  /** Environment of the Kumo processes. */
  readonly env: NodeJS.ProcessEnv;
  readonly sipTarget: string;
  /** The carrier gateway (sipp) listens on 127.0.0.2:<carrierPort>; the tenant's only trunk, also for 110. */
  readonly carrierPort: number;
  readonly ops: { readonly engine: string; readonly sip: string; readonly billing: string };
}

/**
 * A tenant with one extension and one trunk (to a sipp carrier) in `redisUrl`, and the
 * environment for real engine / sip / billing processes on free ports.
 */
export async function relStack(redisUrl: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<RelStack> {
  const keys = keySchema(uniquePrefix('rel'));
  const redis = createRedis(redisUrl);
  redis.on('error', () => undefined);
  const repo = new ProvisioningRepo(redis, keys);
  await repo.createTenant(ok(validateTenantCreate({ id: TENANT, name: 'Reliability', sipDomain: DOMAIN, ports: 200, trunkChannels: 100, callsPerSecond: 500 })), SYSTEM_ACTOR);
  await repo.createExtension(TENANT, ok(validateExtension({ number: PHONE.user, displayName: 'Desk', password: PHONE.password, permissionClass: 'mobile' })), SYSTEM_ACTOR);
  const carrierPort = await freePort('127.0.0.2');
  await repo.createTrunk(
    TENANT,
    ok(
      validateTrunk({
        id: 'carrier',
        name: 'Carrier',
        channelLimit: 100,
        numberFormat: 'national',
        callerId: '+81312340000',
        emergency: true,
        gateways: [{ host: '127.0.0.2', port: carrierPort, transport: 'udp', priority: 1 }],
      }),
    ),
    SYSTEM_ACTOR,
  );
  const sipTarget = `127.0.0.1:${await freePort()}`;
  const ops = { engine: `127.0.0.1:${await freePort()}`, sip: `127.0.0.1:${await freePort()}`, billing: `127.0.0.1:${await freePort()}` };
  const env: NodeJS.ProcessEnv = {
    KUMO_LOG_LEVEL: process.env.KUMO_TEST_LOG_LEVEL ?? 'warn',
    KUMO_REDIS_URL: redisUrl,
    KUMO_REDIS_PREFIX: keys.prefix,
    KUMO_SIP_LISTEN: `udp/${sipTarget}`,
    KUMO_ENGINE_CONTROL: `127.0.0.1:${await freePort()}`,
    KUMO_ENGINE_SECRET: 'rel-secret',
    KUMO_NONCE_SECRET: 'n'.repeat(32),
    KUMO_ENGINE_OPS_LISTEN: ops.engine,
    KUMO_SIP_OPS_LISTEN: ops.sip,
    KUMO_BILLING_OPS_LISTEN: ops.billing,
    KUMO_SIP_DIGEST_MD5_FIRST_UA: '^sipp',
    KUMO_CDR_SHARDS: '1',
    KUMO_SIP_CALL_HEARTBEAT_MS: '500',
    KUMO_SIP_CALL_OWNER_DEAD_MS: '1500',
    KUMO_SIP_KEEPALIVE_S: '0',
    // The sipp carrier plays one scenario and would take the gateway pinger's OPTIONS for its call: no pings here
    // (gateway health has its own tests, with a carrier that answers OPTIONS).
    KUMO_SIP_GATEWAY_PING_INTERVAL_S: '0',
    // Killed processes leave unanswered attempts behind: keep the incomplete-call flood guard and the overload gate out of the way.
    KUMO_ADMISSION_FLOOD_ATTEMPTS: '1000000',
    KUMO_ADMISSION_OVERLOAD_LAG_MS: '0',
    ...extraEnv,
  };
  return { keys, redis, env, sipTarget, carrierPort, ops };
}

/** Every CDR in the (single-shard) stream. */
export async function readCdrs(s: RelStack): Promise<Cdr[]> {
  const rows = await s.redis.xrange(s.keys.global.cdrStream(0), '-', '+');
  return rows.map(([, f]) => JSON.parse(f[1] as string) as Cdr);
}
