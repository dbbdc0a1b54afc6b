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
 * The single-site infra/compose/docker-compose.yml too: two phones registered with its engine call each
 * other with CDRs, and its Prometheus sees every process.
 *
 * Opt-in: KUMO_TEST_COMPOSE=1 and a reachable Docker daemon (DOCKER_HOST as usual), docker-compose
 * (v1 or the `docker compose` plugin) and sipp. Images: infra/compose/local-images.sh builds those that
 * are missing from Debian packages and the npm registry (KUMO_REDIS_IMAGE and KUMO_PROMETHEUS_IMAGE pick
 * others; default the ones it builds). Everything else skips with the reason. How it was run: docs/scaling.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateExtension, type Cdr } from '@kumo/domain';
import { LocationStore, ProvisioningRepo, SYSTEM_ACTOR, createRedis } from '@kumo/store';
import { register, runSipp, startSipp, uasAnswer, reservePorts, type SippHandle } from '@kumo/testkit';
import { PHONE, TENANT, phoneUac, readCdrs, ready, relStack, waitFor, type RelStack } from './helpers/kumo-procs.js';
import { CALLEE, OPTIONS_XML, counter } from './helpers/kamailio-edge.js';

const COMPOSE_DIR = fileURLToPath(new URL('../../../../infra/compose/', import.meta.url));

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

interface Phone {
  readonly user: string;
  readonly domain: string;
  readonly password: string;
  /** Where the phone sends its requests (an edge, or the engine of the single-site stack). */
  target: string;
  /** The port it registered from and answers on. */
  port: number;
}

/**
 * One Compose file brought up as it is, plus an override with the test's secrets, Redis key prefix and
 * test knobs on every Kumo service; the tenant (2001, 2002) is provisioned in its Redis before Kumo starts.
 * `redisServices` start first; `redisUrl` is how the Docker host reaches that Redis.
 */
function composeStack(compose: string, project: string, o: { redisServices: string[]; redisUrl: (addr: (svc: string) => string) => string }) {
  const path = join(COMPOSE_DIR, compose);
  const services = (parse(readFileSync(path, 'utf8'), { merge: true }) as { services: Record<string, Service> }).services;
  const kumo = Object.entries(services).filter(([, s]) => s.image === 'kumo:latest' && s.command !== undefined);
  const cmd = composeCmd();
  const dir = mkdtempSync(join(tmpdir(), 'kumo-compose-'));
  const override = join(dir, 'override.yml');
  const env = { KUMO_REDIS_IMAGE: process.env.KUMO_REDIS_IMAGE ?? 'kumo-local/redis:7', KUMO_PROMETHEUS_IMAGE: process.env.KUMO_PROMETHEUS_IMAGE ?? 'kumo-local/prometheus:2' };
  const dc = (args: string[], timeoutMs = 180_000): { ok: boolean; out: string } =>
    run(cmd[0] as string, [...cmd.slice(1), '-p', project, '-f', path, '-f', override, ...args], { timeoutMs, env });
  /** `dc` without blocking the event loop (calls go on meanwhile). */
  const dcAsync = (args: string[]): Promise<{ ok: boolean; out: string }> =>
    new Promise((resolve) => {
      const child = spawn(cmd[0] as string, [...cmd.slice(1), '-p', project, '-f', path, '-f', override, ...args], { env: { ...process.env, ...env } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ ok: code === 0, out }));
    });
  /** A service's container (docker-compose v1 and v2 name them differently). */
  const containerOf = (svc: string): string => [`${project}_${svc}_1`, `${project}-${svc}-1`].find((c) => run('docker', ['inspect', c]).ok) ?? svc;
  const inspect = (svc: string, f: string): string => run('docker', ['inspect', '-f', f, containerOf(svc)]).out.trim();
  /** The service's address: its fixed one in the file, or the one Docker gave the container whose network it uses. */
  const addr = (name: string): string => {
    const s = services[name] as Service;
    const ownerName = s.network_mode?.startsWith('service:') ? s.network_mode.slice('service:'.length) : name;
    const fixed = Object.values(services[ownerName]?.networks ?? {})[0]?.ipv4_address;
    return fixed ?? inspect(ownerName, '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');
  };
  const opsPort = (sv: Service): string => {
    const e = sv.environment ?? {};
    return (e.KUMO_ENGINE_OPS_LISTEN ?? e.KUMO_SIP_OPS_LISTEN ?? e.KUMO_API_LISTEN ?? e.KUMO_BILLING_OPS_LISTEN ?? '').split(':').pop() as string;
  };
  const opsOf = (name: string): string => `${addr(name)}:${opsPort(services[name] as Service)}`;
  const file = (name: string, xml: string): { file: string } => {
    const f = join(dir, `${name}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };
  const answering: SippHandle[] = [];
  const phones: [Phone, Phone] = [
    { ...PHONE, target: '', port: 0 },
    { ...CALLEE, target: '', port: 0 },
  ];
  const stack = {
    services,
    kumo,
    dc,
    dcAsync,
    addr,
    opsOf,
    inspect,
    file,
    phones,
    st: undefined as unknown as RelStack,
    /** The Docker host's address on the stack's network: where the sipp phones live. */
    host: '',
    logs: (svc: string): string => dc(['logs', '--no-color', '--tail', '40', svc], 30_000).out,
    async up(): Promise<void> {
      // (docker-compose v1 takes a file without `version` and without services for its old format.)
      writeFileSync(override, JSON.stringify({ version: '3.9', services: { [o.redisServices[0] as string]: {} } }));
      const images = run('sh', [join(COMPOSE_DIR, 'local-images.sh')], { timeoutMs: 1_200_000 });
      expect(images.ok, images.out).toBe(true);
      dc(['down', '-v', '--remove-orphans']);
      const redis = dc(['up', '-d', '--no-build', ...o.redisServices]);
      expect(redis.ok, redis.out).toBe(true);
      const url = o.redisUrl(addr);
      const probe = createRedis(url);
      probe.on('error', () => undefined);
      await waitFor(async () => (await probe.set('kumo-compose-test', '1')) === 'OK', 60_000, `Redis serves (${url})`);
      probe.disconnect();
      stack.st = await relStack(url);
      const ext = validateExtension({ number: CALLEE.user, displayName: 'Second desk', password: CALLEE.password, permissionClass: 'mobile' });
      if (!ext.ok) throw new Error(JSON.stringify(ext.problems));
      await new ProvisioningRepo(stack.st.redis, stack.st.keys).createExtension(TENANT, ext.value, SYSTEM_ACTOR);
      stack.host = inspect(o.redisServices[0] as string, '{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}');
      expect(stack.host).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

      // The test's own secrets and knobs on every Kumo service; everything else as the Compose file says.
      const pick = ['KUMO_REDIS_PREFIX', 'KUMO_SIP_DIGEST_MD5_FIRST_UA', 'KUMO_CDR_SHARDS', 'KUMO_SIP_GATEWAY_PING_INTERVAL_S', 'KUMO_ADMISSION_FLOOD_ATTEMPTS', 'KUMO_ADMISSION_OVERLOAD_LAG_MS'];
      const extra: Record<string, string> = {
        ...Object.fromEntries(pick.map((k) => [k, String(stack.st.env[k])])),
        KUMO_ENGINE_SECRET: randomBytes(24).toString('base64'),
        KUMO_NONCE_SECRET: randomBytes(32).toString('base64'),
        KUMO_LOG_LEVEL: 'info',
      };
      writeFileSync(override, JSON.stringify({ version: '3.9', services: Object.fromEntries(kumo.map(([name]) => [name, { environment: extra }])) }));
      const up = dc(['up', '-d', '--no-build']);
      expect(up.ok, up.out).toBe(true);
      const ops = kumo.map(([name]) => opsOf(name));
      await waitFor(async () => (await Promise.all(ops.map(ready))).every(Boolean), 120_000, `every Kumo process ready (${ops.join(', ')})`);
      // Docker's own view agrees: every Kumo container's healthcheck (GET /readyz, as the k8s readinessProbe) passes.
      const containers = kumo.map(([name]) => containerOf(name));
      const health = (): string[] => run('docker', ['inspect', '-f', '{{.State.Health.Status}}', ...containers]).out.trim().split('\n');
      await waitFor(() => health().every((h) => h === 'healthy'), 90_000, 'every Kumo container healthy');
    },
    async down(): Promise<void> {
      for (const a of answering) await a.stop();
      stack.st?.redis.disconnect();
      if (process.env.KUMO_TEST_COMPOSE_KEEP !== '1') dc(['down', '-v', '--remove-orphans']);
      rmSync(dir, { recursive: true, force: true });
    },
    /** Registers both phones (each through its target) and has each answer calls on the port it registered from. */
    async register(targets: [string, string]): Promise<void> {
      for (const [i, p] of phones.entries()) {
        p.target = targets[i] as string;
        p.port = reservePorts(1);
        const r = await runSipp({ scenario: file(`reg-${p.user}`, register(p)), target: p.target, localHost: stack.host, localPort: p.port, calls: 1, timeoutS: 10 });
        expect(r.ok, r.errors).toBe(true);
        answering.push(startSipp({ scenario: file(`answer-${p.user}`, uasAnswer(200, { user: p.user })), localHost: stack.host, localPort: p.port, calls: 100, timeoutS: 300 }));
      }
    },
    /** One call from phone `from` to phone `to` (indexes), through `from`'s target. */
    async call(from: number, to: number, name: string): Promise<{ ok: boolean; ms: number; detail: string }> {
      const a = phones[from % 2] as Phone;
      const b = phones[to % 2] as Phone;
      const t = Date.now();
      const r = await startSipp({
        scenario: file(name, phoneUac({ ...a, holdMs: 200 })),
        target: a.target,
        localHost: stack.host,
        service: b.user,
        calls: 1,
        timeoutS: 6,
        args: ['-recv_timeout', '5000'],
      }).done;
      return { ok: r.ok, ms: Date.now() - t, detail: `${a.user} → ${b.user}: ${r.errors.slice(-800)}` };
    },
    /** Four calls, alternately 2001 → 2002 and back, each answered and with its CDR. */
    async callBothWays(why: () => string): Promise<void> {
      // The tenant's CDRs only: the api's prober places synthetic calls of its own (KUMO_OPS_ENGINES).
      const ours = async (): Promise<Cdr[]> => (await readCdrs(stack.st)).filter((c) => c.tenantId === TENANT);
      const before = (await ours()).length;
      for (let n = 0; n < 4; n++) {
        const r = await stack.call(n, n + 1, `call-${n}`);
        expect(r.ok, `${r.detail}\n${why()}`).toBe(true);
      }
      await waitFor(async () => (await ours()).length >= before + 4, 15_000, 'a CDR for each call');
      const cdrs = (await ours()).slice(before);
      expect(cdrs.map((c) => `${c.callerExtension}→${c.calleeExtension} ${c.disposition}`)).toEqual(['2001→2002 answered', '2002→2001 answered', '2001→2002 answered', '2002→2001 answered']);
    },
    /** Prometheus has every Kumo process of the file as an `up` target under its kumo-* job (and no other), the alert rules loaded, none firing. */
    async prometheusSeesEveryProcess(instance: (name: string) => string): Promise<void> {
      const prom = `http://${addr('prometheus')}:9090`;
      type Target = { labels: { job: string; instance: string }; health: string };
      const targets = async (): Promise<Target[]> => ((await (await fetch(`${prom}/api/v1/targets`)).json()) as { data: { activeTargets: Target[] } }).data.activeTargets.filter((t) => t.labels.job.startsWith('kumo-'));
      const want = kumo.map(([name, sv]) => `kumo-${sv.command?.[0]} ${instance(name)}`).sort();
      // The first scrape of each target comes within one scrape interval (15 s).
      await waitFor(async () => (await targets()).filter((t) => t.health === 'up').length === want.length, 60_000, 'every kumo-* target up');
      expect((await targets()).map((t) => `${t.labels.job} ${t.labels.instance}`).sort()).toEqual(want);
      const rules = ((await (await fetch(`${prom}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; state?: string }[] }[] } }).data.groups.flatMap((g) => g.rules);
      expect(rules.map((r) => r.name)).toContain('KumoProcessDown');
      expect(rules.filter((r) => r.state === 'firing').map((r) => r.name)).toEqual([]);
    },
  };
  return stack;
}

describe.skipIf(skip !== undefined)('infra/compose/multi-host.yml on Docker', () => {
  const s = composeStack('multi-host.yml', 'kumotest', {
    redisServices: ['redis-master', 'redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3'],
    redisUrl: () => s.services['engine-a']?.environment?.KUMO_REDIS_URL ?? '',
  });
  const edge1 = `${s.addr('edge-1')}:5060`;
  const edge2 = `${s.addr('edge-2')}:5060`;

  beforeAll(async () => {
    await s.up();
    for (const edge of [edge1, edge2]) {
      await waitFor(async () => (await runSipp({ scenario: s.file('options', OPTIONS_XML), target: edge, localHost: s.host, calls: 1, timeoutS: 3 })).ok, 60_000, `${edge} relays to an engine`);
    }
  }, 1_500_000);

  afterAll(() => s.down(), 180_000);

  it('two phones register through different edges and call each other through Kamailio, each call with a CDR', async () => {
    await s.register([edge1, edge2]);
    const location = new LocationStore(s.st.redis, s.st.keys);
    for (const p of s.phones) {
      const [b] = await location.contactsFor(TENANT, p.user);
      expect(b?.source, p.user).toEqual({ address: s.host, port: p.port, transport: 'udp' });
      // The Path names the edge the phone registered through, with the phone's own address.
      const dots = (x: string): string => x.replace(/\./g, '\\.');
      expect(b?.path?.[0], p.user).toMatch(new RegExp(`^<sip:${dots(p.target.split(':')[0] as string)}(:5060)?;lr;received=sip:${dots(s.host)}:${p.port}[;>]`));
    }
    await s.callBothWays(() => `--- edge-1:\n${s.logs('edge-1')}\n--- edge-2:\n${s.logs('edge-2')}`);
  }, 120_000);

  it('Prometheus scrapes every Kumo process (all kumo-* targets up) and loads the alert rules, none firing', async () => {
    await s.prometheusSeesEveryProcess((name) => s.opsOf(name));
  }, 90_000);

  it("one engine's process SIGKILLed: new calls succeed within 2 s; it restarts and its node serves again", async () => {
    // A whole sipp call's own duration here (process start, digest, 200 ms hold, BYE), before the kill.
    const before: number[] = [];
    for (let n = 0; n < 2; n++) {
      const r = await s.call(n, n + 1, `before-${n}`);
      expect(r.ok, r.detail).toBe(true);
      before.push(r.ms);
    }
    const usual = Math.max(...before);
    const restarts = Number(s.inspect('engine-a', '{{.RestartCount}}'));
    const pid = Number(s.inspect('engine-a', '{{.State.Pid}}'));
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    const after: { at: number; ms: number }[] = [];
    while (Date.now() - killedAt < 4000 || after.length < 4) {
      const at = Date.now() - killedAt;
      const r = await s.call(after.length, after.length + 1, `after-${after.length}`);
      expect(r.ok, `call ${at} ms after the kill: ${r.detail}\n--- edge-1:\n${s.logs('edge-1')}`).toBe(true);
      after.push({ at, ms: r.ms });
    }
    process.stdout.write(`compose-multi-host: calls after engine-a SIGKILL (start ms → duration ms): ${after.map((a) => `${a.at}→${a.ms}`).join(', ')}\n`);
    // What the kill adds to the first call (at most one failover after the edge's 1 s transaction timer) stays under 2 s.
    expect((after[0]?.ms ?? 99_999) - usual).toBeLessThan(2000);
    // restart: always brings engine-a back; its sip workers (same network namespace) reconnect and the node is ready again.
    const node = s.kumo.filter(([name]) => s.addr(name) === s.addr('engine-a')).map(([name]) => s.opsOf(name));
    await waitFor(() => Number(s.inspect('engine-a', '{{.RestartCount}}')) > restarts, 30_000, 'engine-a restarted by Docker');
    await waitFor(async () => (await Promise.all(node.map(ready))).every(Boolean), 60_000, `node A ready again (${node.join(', ')})`);
    // ... and takes calls again: the edges' probes bring it back, so calls spread over both nodes once more.
    const invites = (): Promise<number> => counter(node[0] as string, 'kumo_engine_sip_requests_in_total', 'INVITE');
    const base = await invites();
    for (let n = 0; (await invites()) === base; n++) {
      expect(n, 'no call reached the restarted node').toBeLessThan(12);
      const r = await s.call(n, n + 1, `back-${n}`);
      expect(r.ok, r.detail).toBe(true);
    }
  }, 120_000);

  it('rolling restart of both SIP nodes as docs/operations.md says, under a steady stream of calls: 0 failed calls', async () => {
    let stop = false;
    const results: { ok: boolean; detail: string }[] = [];
    const caller = (async () => {
      for (let n = 0; !stop; n++) results.push(await s.call(n, n + 1, `roll-${n}`));
    })();
    const steps: string[] = [];
    for (const x of ['a', 'b']) {
      const node = s.kumo.filter(([name]) => s.addr(name) === s.addr(`engine-${x}`)).map(([name]) => s.opsOf(name));
      const t0 = Date.now();
      // 2-3: SIGTERM the workers and wait until they have drained and exited; 4: restart the engine, then the workers.
      for (const args of [['stop', `sip-${x}1`, `sip-${x}2`], ['restart', `engine-${x}`], ['start', `sip-${x}1`, `sip-${x}2`]]) {
        const r = await s.dcAsync(args);
        expect(r.ok, r.out).toBe(true);
      }
      // 5: the node is ready again before the next one goes.
      await waitFor(async () => (await Promise.all(node.map(ready))).every(Boolean), 60_000, `node ${x} ready again`);
      steps.push(`node ${x} ${Date.now() - t0} ms`);
    }
    // Give the edges' probes a moment to take the last node back, with calls still running.
    const n0 = results.length;
    await waitFor(() => results.length >= n0 + 3, 30_000, 'three more calls');
    stop = true;
    await caller;
    process.stdout.write(`compose-multi-host: rolling restart (${steps.join(', ')}): ${results.filter((r) => r.ok).length}/${results.length} calls connected\n`);
    expect(results.filter((r) => !r.ok).map((r) => r.detail)).toEqual([]);
    expect(results.length).toBeGreaterThan(10);
  }, 240_000);
});

describe.skipIf(skip !== undefined)('infra/compose/docker-compose.yml (single site) on Docker', () => {
  const s = composeStack('docker-compose.yml', 'kumotest1', { redisServices: ['redis'], redisUrl: (addr) => `redis://${addr('redis')}:6379/0` });

  beforeAll(() => s.up(), 1_500_000);
  afterAll(() => s.down(), 180_000);

  it('two phones register with the engine and call each other, each call with a CDR; Prometheus sees every process', async () => {
    const engine = `${s.addr('engine')}:5060`;
    await s.register([engine, engine]);
    await s.callBothWays(() => `--- engine:\n${s.logs('engine')}\n--- sip:\n${s.logs('sip')}`);
    // Its scrape config names the services (api:8080, engine:9091, ...).
    await s.prometheusSeesEveryProcess((name) => `${name}:${s.opsOf(name).split(':').pop()}`);
  }, 150_000);
});
