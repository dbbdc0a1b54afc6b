/**
 * infra/compose/multi-host.yml on a real Docker daemon (issue 13, docs/scaling.md "The multi-host layout"):
 * 2 Kamailio edges, 2 SIP nodes (engine + 2 sip workers each), api, billing and Redis Sentinel
 * (1 master, 1 replica, 3 sentinels), as the Compose file describes them (same images, commands, env,
 * addresses) and Prometheus; only the test's secrets, Redis key prefix and test knobs are added by an
 * override file.
 * Two sipp phones on the Docker host register through different edges and call each other (a CDR for
 * each call); one engine's process is SIGKILLed and new calls succeed within 2 s through the other
 * node; the killed engine comes back (restart: always) and its sip workers serve again. Prometheus has
 * every Kumo process as an `up` target and the alert rules loaded, none firing.
 *
 * Opt-in: KUMO_TEST_COMPOSE=1 and a reachable Docker daemon (DOCKER_HOST as usual), docker-compose
 * (v1 or the `docker compose` plugin) and sipp. Images: infra/compose/local-images.sh builds those that
 * are missing from Debian packages and the npm registry (KUMO_REDIS_IMAGE and KUMO_PROMETHEUS_IMAGE pick
 * others; default the ones it builds). Everything else skips with the reason. How it was run: docs/scaling.md.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateExtension } from '@kumo/domain';
import { LocationStore, ProvisioningRepo, SYSTEM_ACTOR, createRedis } from '@kumo/store';
import { register, runSipp, startSipp, uasAnswer, reservePorts, type SippHandle } from '@kumo/testkit';
import { PHONE, phoneUac, readCdrs, ready, relStack, waitFor, type RelStack } from './helpers/kumo-procs.js';
import { CALLEE, OPTIONS_XML, counter } from './helpers/kamailio-edge.js';

const COMPOSE_DIR = fileURLToPath(new URL('../../../../infra/compose/', import.meta.url));
const FILE = join(COMPOSE_DIR, 'multi-host.yml');
const PROJECT = 'kumotest';

const run = (cmd: string, args: string[], o: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): { ok: boolean; out: string } => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: o.timeoutMs ?? 60_000, env: { ...process.env, ...o.env } });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
};

function why(): string | undefined {
  if (process.env.KUMO_TEST_COMPOSE !== '1') return 'opt-in: set KUMO_TEST_COMPOSE=1 (needs a Docker daemon; docs/scaling.md)';
  const info = run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 20_000 });
  if (!info.ok) return `no Docker daemon reachable (docker info: ${info.out.trim().split('\n').pop()})`;
  if (spawnSync('sipp', ['-v']).error !== undefined) return 'sipp is not installed (apt-get install sip-tester)';
  return undefined;
}
const skip = why();
if (skip) process.stdout.write(`compose-multi-host: skipped — ${skip}\n`);

/** `docker compose` (plugin) where it exists, else docker-compose v1. */
function composeCmd(): string[] {
  return run('docker', ['compose', 'version'], { timeoutMs: 20_000 }).ok ? ['docker', 'compose'] : ['docker-compose'];
}

interface Service {
  image?: string;
  command?: string[];
  network_mode?: string;
  networks?: Record<string, { ipv4_address?: string } | null>;
  environment?: Record<string, string>;
}

describe.skipIf(skip !== undefined)('infra/compose/multi-host.yml on Docker', () => {
  const services = (parse(readFileSync(FILE, 'utf8'), { merge: true }) as { services: Record<string, Service> }).services;
  const kumo = Object.entries(services).filter(([, s]) => s.image === 'kumo:latest' && s.command !== undefined);
  const addr = (name: string): string => {
    const s = services[name] as Service;
    const owner = s.network_mode?.startsWith('service:') ? (services[s.network_mode.slice('service:'.length)] as Service) : s;
    return Object.values(owner.networks ?? {})[0]?.ipv4_address as string;
  };
  const opsPort = (s: Service): string => {
    const env = s.environment ?? {};
    const l = env.KUMO_ENGINE_OPS_LISTEN ?? env.KUMO_SIP_OPS_LISTEN ?? env.KUMO_API_LISTEN ?? env.KUMO_BILLING_OPS_LISTEN ?? '';
    return l.split(':').pop() as string;
  };
  const edge1 = `${addr('edge-1')}:5060`;
  const edge2 = `${addr('edge-2')}:5060`;
  const compose = composeCmd();
  const dir = mkdtempSync(join(tmpdir(), 'kumo-compose-'));
  const override = join(dir, 'override.yml');
  const env = { KUMO_REDIS_IMAGE: process.env.KUMO_REDIS_IMAGE ?? 'kumo-local/redis:7', KUMO_PROMETHEUS_IMAGE: process.env.KUMO_PROMETHEUS_IMAGE ?? 'kumo-local/prometheus:2' };
  const dc = (args: string[], timeoutMs = 180_000): { ok: boolean; out: string } =>
    run(compose[0] as string, [...compose.slice(1), '-p', PROJECT, '-f', FILE, '-f', override, ...args], { timeoutMs, env });
  let st: RelStack;
  /** The Docker host's address on the `kumo` network: where the sipp phones live. */
  let host = '';
  const answering: SippHandle[] = [];
  const file = (name: string, xml: string): { file: string } => {
    const f = join(dir, `${name}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };
  /** A service's container (docker-compose v1 and v2 name them differently). */
  const containerOf = (svc: string): string => [`${PROJECT}_${svc}_1`, `${PROJECT}-${svc}-1`].find((c) => run('docker', ['inspect', c]).ok) ?? svc;
  const inspect = (svc: string, f: string): string => run('docker', ['inspect', '-f', f, containerOf(svc)]).out.trim();
  const logs = (svc: string): string => dc(['logs', '--no-color', '--tail', '40', svc], 30_000).out;

  beforeAll(async () => {
    // (docker-compose v1 takes a file without `version` and without services for its old format.)
    writeFileSync(override, JSON.stringify({ version: '3.9', services: { 'redis-master': {} } }));
    const images = run('sh', [join(COMPOSE_DIR, 'local-images.sh')], { timeoutMs: 1_200_000 });
    expect(images.ok, images.out).toBe(true);
    dc(['down', '-v', '--remove-orphans']);
    // Redis Sentinel first: the tenant is provisioned before Kumo starts, under a key prefix of this run.
    const redis = dc(['up', '-d', '--no-build', 'redis-master', 'redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3']);
    expect(redis.ok, redis.out).toBe(true);
    const url = (services['engine-a']?.environment?.KUMO_REDIS_URL ?? '');
    const probe = createRedis(url);
    probe.on('error', () => undefined);
    await waitFor(async () => (await probe.set('kumo-compose-test', '1')) === 'OK', 60_000, 'the Sentinel set elects and serves its master');
    probe.disconnect();
    st = await relStack(url);
    const ext = validateExtension({ number: CALLEE.user, displayName: 'Second desk', password: CALLEE.password, permissionClass: 'mobile' });
    if (!ext.ok) throw new Error(JSON.stringify(ext.problems));
    await new ProvisioningRepo(st.redis, st.keys).createExtension('rel', ext.value, SYSTEM_ACTOR);
    host = run('docker', ['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', `${PROJECT}_kumo`]).out.trim() || addr('edge-1').replace(/\.\d+$/, '.1');

    // The test's own secrets and knobs on every Kumo service; everything else as the Compose file says.
    const pick = ['KUMO_REDIS_PREFIX', 'KUMO_SIP_DIGEST_MD5_FIRST_UA', 'KUMO_CDR_SHARDS', 'KUMO_SIP_GATEWAY_PING_INTERVAL_S', 'KUMO_ADMISSION_FLOOD_ATTEMPTS', 'KUMO_ADMISSION_OVERLOAD_LAG_MS'];
    const extra: Record<string, string> = {
      ...Object.fromEntries(pick.map((k) => [k, String(st.env[k])])),
      KUMO_ENGINE_SECRET: randomBytes(24).toString('base64'),
      KUMO_NONCE_SECRET: randomBytes(32).toString('base64'),
      KUMO_LOG_LEVEL: 'info',
    };
    writeFileSync(override, JSON.stringify({ version: '3.9', services: Object.fromEntries(kumo.map(([name]) => [name, { environment: extra }])) }));
    const up = dc(['up', '-d', '--no-build']);
    expect(up.ok, up.out).toBe(true);
    const ops = kumo.map(([name, s]) => `${addr(name)}:${opsPort(s)}`);
    await waitFor(async () => (await Promise.all(ops.map(ready))).every(Boolean), 120_000, `every Kumo process ready (${ops.join(', ')})`);
    // Docker's own view agrees: every Kumo container's healthcheck (GET /readyz, as the k8s readinessProbe) passes.
    const containers = kumo.map(([name]) => containerOf(name));
    const health = (): string[] => run('docker', ['inspect', '-f', '{{.State.Health.Status}}', ...containers]).out.trim().split('\n');
    await waitFor(() => health().every((h) => h === 'healthy'), 90_000, 'every Kumo container healthy');
    for (const edge of [edge1, edge2]) {
      await waitFor(async () => (await runSipp({ scenario: file('options', OPTIONS_XML), target: edge, localHost: host, calls: 1, timeoutS: 3 })).ok, 60_000, `${edge} relays to an engine`);
    }
  }, 1_500_000);

  afterAll(async () => {
    for (const a of answering) await a.stop();
    st?.redis.disconnect();
    if (process.env.KUMO_TEST_COMPOSE_KEEP !== '1') dc(['down', '-v', '--remove-orphans']);
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  const phones = [
    { ...PHONE, edge: '', port: 0 },
    { ...CALLEE, edge: '', port: 0 },
  ];
  const call = async (from: (typeof phones)[number], to: (typeof phones)[number], name: string): Promise<{ ok: boolean; ms: number; detail: string }> => {
    const t = Date.now();
    const r = await startSipp({
      scenario: file(name, phoneUac({ ...from, holdMs: 200 })),
      target: from.edge,
      localHost: host,
      service: to.user,
      calls: 1,
      timeoutS: 6,
      args: ['-recv_timeout', '5000'],
    }).done;
    return { ok: r.ok, ms: Date.now() - t, detail: r.errors.slice(-800) };
  };

  it('two phones register through different edges and call each other through Kamailio, each call with a CDR', async () => {
    phones[0] = { ...PHONE, edge: edge1, port: reservePorts(1) };
    phones[1] = { ...CALLEE, edge: edge2, port: reservePorts(1) };
    for (const p of phones) {
      const r = await runSipp({ scenario: file(`reg-${p.user}`, register(p)), target: p.edge, localHost: host, localPort: p.port, calls: 1, timeoutS: 10 });
      expect(r.ok, r.errors).toBe(true);
      // Each phone answers calls on the port it registered from.
      answering.push(startSipp({ scenario: file(`answer-${p.user}`, uasAnswer(200, { user: p.user })), localHost: host, localPort: p.port, calls: 100, timeoutS: 300 }));
    }
    const location = new LocationStore(st.redis, st.keys);
    const bindings = await Promise.all(phones.map((p) => location.contactsFor('rel', p.user)));
    for (const [i, b] of bindings.entries()) {
      const p = phones[i] as (typeof phones)[number];
      expect(b[0]?.source, p.user).toEqual({ address: host, port: p.port, transport: 'udp' });
      // The Path names the edge the phone registered through, with the phone's own address.
      const edgeHost = p.edge.split(':')[0] as string;
      expect(b[0]?.path?.[0], p.user).toMatch(new RegExp(`^<sip:${edgeHost.replace(/\./g, '\\.')}(:5060)?;lr;received=sip:${host.replace(/\./g, '\\.')}:${p.port}[;>]`));
    }
    const before = (await readCdrs(st)).length;
    for (const [n, [a, b]] of [
      [phones[0], phones[1]],
      [phones[1], phones[0]],
      [phones[0], phones[1]],
      [phones[1], phones[0]],
    ].entries()) {
      const r = await call(a as (typeof phones)[number], b as (typeof phones)[number], `call-${n}`);
      expect(r.ok, `${a?.user} → ${b?.user}: ${r.detail}\n--- edge-1:\n${logs('edge-1')}\n--- edge-2:\n${logs('edge-2')}`).toBe(true);
    }
    await waitFor(async () => (await readCdrs(st)).length >= before + 4, 15_000, 'a CDR for each call');
    const cdrs = (await readCdrs(st)).slice(before);
    expect(cdrs.map((c) => `${c.callerExtension}→${c.calleeExtension} ${c.disposition}`)).toEqual(['2001→2002 answered', '2002→2001 answered', '2001→2002 answered', '2002→2001 answered']);
  }, 120_000);

  it('Prometheus scrapes every Kumo process (all kumo-* targets up) and loads the alert rules, none firing', async () => {
    const prom = `http://${addr('prometheus')}:9090`;
    type Target = { labels: { job: string; instance: string }; health: string; lastError: string };
    const targets = async (): Promise<Target[]> => ((await (await fetch(`${prom}/api/v1/targets`)).json()) as { data: { activeTargets: Target[] } }).data.activeTargets.filter((t) => t.labels.job.startsWith('kumo-'));
    const want = kumo.map(([name, s]) => `kumo-${s.command?.[0]} ${addr(name)}:${opsPort(s)}`).sort();
    // The first scrape of each target comes within one scrape interval (15 s).
    await waitFor(async () => (await targets()).filter((t) => t.health === 'up').length === want.length, 60_000, 'every kumo-* target up');
    const got = await targets();
    expect(got.map((t) => `${t.labels.job} ${t.labels.instance}`).sort()).toEqual(want);
    const rules = ((await (await fetch(`${prom}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; state?: string }[] }[] } }).data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name)).toContain('KumoProcessDown');
    expect(rules.filter((r) => r.state === 'firing').map((r) => r.name)).toEqual([]);
  }, 90_000);

  it("one engine's process SIGKILLed: new calls succeed within 2 s; it restarts and its node serves again", async () => {
    const restarts = Number(inspect('engine-a', '{{.RestartCount}}'));
    const pid = Number(inspect('engine-a', '{{.State.Pid}}'));
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    const after: { at: number; ms: number }[] = [];
    while (Date.now() - killedAt < 4000 || after.length < 4) {
      const at = Date.now() - killedAt;
      const r = await call(phones[after.length % 2] as (typeof phones)[number], phones[(after.length + 1) % 2] as (typeof phones)[number], `after-${after.length}`);
      expect(r.ok, `call ${at} ms after the kill: ${r.detail}\n--- edge-1:\n${logs('edge-1')}`).toBe(true);
      after.push({ at, ms: r.ms });
    }
    process.stdout.write(`compose-multi-host: calls after engine-a SIGKILL (start ms → duration ms): ${after.map((a) => `${a.at}→${a.ms}`).join(', ')}\n`);
    expect(after[0]?.ms ?? 99_999).toBeLessThan(4000);
    // restart: always brings engine-a back; its sip workers (same network namespace) reconnect and the node is ready again.
    const node = kumo.filter(([name]) => addr(name) === addr('engine-a')).map(([name, s]) => `${addr(name)}:${opsPort(s)}`);
    await waitFor(() => Number(inspect('engine-a', '{{.RestartCount}}')) > restarts, 30_000, 'engine-a restarted by Docker');
    await waitFor(async () => (await Promise.all(node.map(ready))).every(Boolean), 60_000, `node A ready again (${node.join(', ')})`);
    // ... and takes calls again: the edges' probes bring it back, so calls spread over both nodes once more.
    const invites = (): Promise<number> => counter(node[0] as string, 'kumo_engine_sip_requests_in_total', 'INVITE');
    const base = await invites();
    for (let n = 0; (await invites()) === base; n++) {
      expect(n, 'no call reached the restarted node').toBeLessThan(12);
      const r = await call(phones[n % 2] as (typeof phones)[number], phones[(n + 1) % 2] as (typeof phones)[number], `back-${n}`);
      expect(r.ok, r.detail).toBe(true);
    }
  }, 120_000);
});
