/**
 * The multi-host layout in infra/ (docs/scaling.md), checked without Docker or Kubernetes: the Compose
 * files and the Kubernetes manifests set only real config keys with values Kumo accepts, run only real
 * `kumo` commands, have no port clash in any network namespace, the edges' dispatcher list names the
 * engines, Kumo trusts exactly the edges, the Sentinel URL names the sentinels and their master set,
 * and Prometheus scrapes every Kumo process on its ops port.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { allSpecs, type Setting } from '@kumo/config';
import { runCli } from '../../src/index.js';

const INFRA = fileURLToPath(new URL('../../../../infra/', import.meta.url));
const read = (p: string): string => readFileSync(INFRA + p, 'utf8');

/** Every config setting by its variable. */
const SETTINGS = new Map<string, Setting<unknown>>(Object.values(allSpecs).flatMap((spec) => Object.values(spec).map((s) => [s.env, s] as const)));

/** The commands `kumo help` lists. */
async function kumoCommands(): Promise<Set<string>> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    expect(await runCli(['help'])).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return new Set([...out.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1] as string));
}

/** Problems with the KUMO_* variables in `env` (unknown key, or a value its parser refuses). */
function envProblems(where: string, env: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('KUMO_')) continue;
    const s = SETTINGS.get(k);
    if (!s) out.push(`${where}: ${k} is not a Kumo config key`);
    else if (v !== '') {
      const r = s.parse(v);
      if (!r.ok) out.push(`${where}: ${k}=${v}: ${r.error}`);
    }
  }
  return out;
}

const portOf = (hostPort: string): number => Number(hostPort.split(':').pop());
const setting = (env: Record<string, string>, key: string): string => env[key] ?? (SETTINGS.get(key)?.default as string);

/** What a Kumo process listens on, by command (defaults where unset): `proto/port`. */
function listens(cmd: string, env: Record<string, string>): { ops?: number; all: string[] } {
  const tcp = (key: string): string => `tcp/${portOf(setting(env, key))}`;
  switch (cmd) {
    case 'engine': {
      const sip = setting(env, 'KUMO_SIP_LISTEN')
        .split(',')
        .map((l) => `${l.split('/')[0] === 'udp' ? 'udp' : 'tcp'}/${portOf(l)}`);
      return { ops: portOf(setting(env, 'KUMO_ENGINE_OPS_LISTEN')), all: [...sip, tcp('KUMO_ENGINE_CONTROL'), tcp('KUMO_ENGINE_OPS_LISTEN')] };
    }
    case 'sip':
      return { ops: portOf(setting(env, 'KUMO_SIP_OPS_LISTEN')), all: [tcp('KUMO_SIP_OPS_LISTEN')] };
    case 'api':
      return { ops: portOf(setting(env, 'KUMO_API_LISTEN')), all: [tcp('KUMO_API_LISTEN')] };
    case 'billing':
      return { ops: portOf(setting(env, 'KUMO_BILLING_OPS_LISTEN')), all: [tcp('KUMO_BILLING_OPS_LISTEN')] };
    default:
      return { all: [] };
  }
}

const dupes = (xs: readonly string[]): string[] => xs.filter((x, i) => xs.indexOf(x) !== i);

interface ComposeService {
  build?: { dockerfile?: string };
  image?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string;
  restart?: string;
  healthcheck?: { test?: string[] };
  network_mode?: string;
  networks?: Record<string, { ipv4_address?: string } | null>;
  ports?: string[];
  volumes?: string[];
}

function envFile(p: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of read(p).split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

/**
 * A Compose file's Kumo processes (the Kumo image running a `kumo` command — with the image's entrypoint, or with node
 * flags of its own as the engine has, docs/engine.md "GC slack" — not a namespace holder) with their network namespace
 * (the service whose network they use) and address.
 */
function composeKumo(file: string): { services: Record<string, ComposeService>; kumo: { name: string; cmd: string; env: Record<string, string>; netns: string; address: string }[] } {
  const services = (parse(read(file), { merge: true }) as { services: Record<string, ComposeService> }).services;
  const kumo = Object.entries(services)
    .filter(([, s]) => s.build?.dockerfile === 'infra/compose/Dockerfile' && (s.entrypoint === undefined || s.entrypoint.at(-1)?.endsWith('/cli/dist/main.js') === true))
    .map(([name, s]) => {
      const netns = s.network_mode?.startsWith('service:') ? s.network_mode.slice('service:'.length) : name;
      const address = Object.values(services[netns]?.networks ?? {})[0]?.ipv4_address ?? netns;
      return { name, cmd: s.command?.[0] ?? '', env: { ...(s.env_file ? envFile(`compose/${s.env_file}`) : {}), ...s.environment }, netns, address };
    });
  return { services, kumo };
}

function composeChecks(file: string, prometheusFile: string, commands: Set<string>): void {
  const { services, kumo } = composeKumo(file);
  expect(kumo.length).toBeGreaterThan(0);
  expect(kumo.flatMap((k) => envProblems(`${file} ${k.name}`, k.env))).toEqual([]);
  for (const k of kumo) expect(commands, `${file} ${k.name}: kumo ${k.cmd}`).toContain(k.cmd);
  // Docker checks each process's readiness as the Kubernetes readinessProbe does: GET /readyz on its ops port.
  for (const k of kumo) expect(services[k.name]?.healthcheck?.test?.join(' '), `${file} ${k.name}: healthcheck`).toContain('/readyz');
  // Published host ports, and what the processes of one network namespace listen on, never clash.
  expect(dupes(Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => (p.includes('/') ? p : `${p}/tcp`).replace(/:[0-9]+\//, '/'))))).toEqual([]);
  for (const ns of new Set(kumo.map((k) => k.netns))) {
    expect(dupes(kumo.filter((k) => k.netns === ns).flatMap((k) => listens(k.cmd, k.env).all)), `${file}: ports in ${ns}`).toEqual([]);
  }
  // A sip process reaches an engine: its control address is its own namespace's engine (loopback) or an engine service.
  for (const k of kumo.filter((x) => x.cmd === 'sip')) {
    const [host, port] = setting(k.env, 'KUMO_ENGINE_CONTROL').split(':');
    const engine = kumo.find((e) => e.cmd === 'engine' && (host === '127.0.0.1' ? e.netns === k.netns : e.name === host || e.address === host));
    expect(engine, `${file} ${k.name}: engine at ${host}:${port}`).toBeDefined();
    expect(portOf(setting((engine as (typeof kumo)[number]).env, 'KUMO_ENGINE_CONTROL'))).toBe(Number(port));
  }
  // Every Redis data server cuts a torn AOF tail before it starts (infra/redis/README.md, "Torn writes"),
  // with its data in the volume it mounts.
  const dataServers = Object.entries(services).filter(([, s]) => (s.volumes ?? []).some((v) => v.startsWith('../redis/redis.conf:')));
  expect(dataServers.length).toBeGreaterThan(0);
  for (const [name, s] of dataServers) {
    const cmd = s.command?.join(' ') ?? '';
    const script = (s.volumes ?? []).find((v) => v.startsWith('../redis/repair-aof-tail.sh:'))?.split(':')[1];
    const data = (s.volumes ?? []).find((v) => !v.startsWith('../'))?.split(':')[1];
    expect(script, `${file} ${name}: mounts repair-aof-tail.sh`).toBeDefined();
    expect(cmd, `${file} ${name}`).toContain(`sh ${script} ${data} && exec redis-server`);
    expect(cmd, `${file} ${name}`).toContain(`--dir ${data}`);
    // The shipped redis.conf binds a host's address, which no container has: Redis would not start (seen on Docker).
    expect(cmd, `${file} ${name}: listens on the stack's network`).toContain('--bind 0.0.0.0');
  }
  // Prometheus scrapes every Kumo process on its ops port, and nothing else under a kumo-* job.
  const prom = parse(read(prometheusFile)) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
  const scraped = prom.scrape_configs.filter((j) => j.job_name.startsWith('kumo-')).flatMap((j) => j.static_configs.flatMap((c) => c.targets.map((t) => `${j.job_name} ${t}`)));
  const expected = kumo.map((k) => `kumo-${k.cmd} ${k.address}:${listens(k.cmd, k.env).ops}`);
  expect([...scraped].sort()).toEqual([...expected].sort());
}

describe('infra/compose', () => {
  it('the single-site stack: real keys and commands, no port clash, Prometheus on every process', async () => {
    composeChecks('compose/docker-compose.yml', 'compose/prometheus.compose.yml', await kumoCommands());
  });

  it('the multi-host stack: 2 edges, 2 engines with 2 sip workers each, api, billing, Sentinel, Prometheus', async () => {
    const file = 'compose/multi-host.yml';
    composeChecks(file, 'compose/prometheus.multi-host.yml', await kumoCommands());
    const { services, kumo } = composeKumo(file);
    const engines = kumo.filter((k) => k.cmd === 'engine');
    expect(engines).toHaveLength(2);
    for (const e of engines) expect(kumo.filter((k) => k.cmd === 'sip' && k.netns === e.netns), `sip workers of ${e.name}`).toHaveLength(2);
    // A SIP node's network namespace is held by a container that only waits (a pod's "pause" container), never
    // by the engine: Docker restarts a crashed engine in a new namespace, which would strand its sip workers in
    // the old one with nothing but loopback (seen on Docker, compose-multi-host.test.ts and docs/scaling.md).
    for (const e of engines) {
      const holder = services[e.netns];
      expect(e.netns, `${e.name} joins a node's namespace`).not.toBe(e.name);
      expect(holder?.entrypoint?.join(' '), `${e.netns} only waits`).toMatch(/sleep infinity/);
      expect(holder?.restart, e.netns).toBe('always');
      expect(new Set(kumo.filter((k) => k.netns === e.netns).map((k) => k.cmd))).toEqual(new Set(['engine', 'sip']));
    }
    expect(kumo.filter((k) => k.cmd === 'api')).toHaveLength(1);
    expect(kumo.filter((k) => k.cmd === 'billing')).toHaveLength(1);
    for (const k of kumo.filter((x) => x.cmd === 'sip')) expect(k.env.KUMO_SIP_DRAIN_HANDOFF, k.name).toBe('true');

    // The edges run kamailio.cfg with the dispatcher list, which names exactly the engines' SIP (UDP) addresses.
    const edges = Object.entries(services).filter(([, s]) => s.command?.[0] === 'kamailio');
    expect(edges).toHaveLength(2);
    for (const [name, s] of edges) {
      expect(s.volumes, name).toContain('../kamailio/kamailio.cfg:/etc/kamailio/kamailio.cfg:ro');
      expect(s.volumes, name).toContain('./dispatcher.list:/etc/kamailio/dispatcher.list:ro');
    }
    const listed = read('compose/dispatcher.list')
      .split('\n')
      .filter((l) => /^\d/.test(l))
      .map((l) => {
        const [set, uri] = l.split(/\s+/);
        expect(set).toBe('1');
        return (uri as string).replace(/^sip:/, '');
      });
    const engineSip = engines.map((e) => {
      const udp = setting(e.env, 'KUMO_SIP_LISTEN')
        .split(',')
        .find((l) => l.startsWith('udp/')) as string;
      return `${e.address}:${portOf(udp)}`;
    });
    expect(listed.sort()).toEqual(engineSip.sort());
    // Kumo trusts exactly the edges' addresses.
    const edgeAddresses = edges.map(([, s]) => Object.values(s.networks ?? {})[0]?.ipv4_address).sort();
    for (const k of kumo) expect(k.env.KUMO_SIP_TRUSTED_EDGES?.split(',').sort(), k.name).toEqual(edgeAddresses);
    for (const e of engines) expect(e.env.KUMO_SIP_ADVERTISED_HOST, e.name).toBe(e.address);

    // Redis Sentinel: 1 master, 1 replica of it, 3 sentinels watching it under the master set Kumo's URL names.
    const sentinelConf = read('redis/sentinel.conf');
    const monitor = /^sentinel monitor (\S+) (\S+) (\d+) (\d+)$/m.exec(sentinelConf);
    expect(monitor).not.toBeNull();
    const [, masterSet, masterIp, masterPort] = monitor as RegExpExecArray;
    const addr = (name: string): string | undefined => Object.values(services[name]?.networks ?? {})[0]?.ipv4_address;
    expect(addr('redis-master')).toBe(masterIp);
    expect(services['redis-replica']?.command?.join(' ')).toContain(`--replicaof ${masterIp} ${masterPort}`);
    const sentinels = Object.keys(services).filter((n) => services[n]?.command?.join(' ').includes('redis-sentinel'));
    expect(sentinels).toHaveLength(3);
    const url = `redis-sentinel://${sentinels.map((n) => `${addr(n)}:26379`).join(',')}/${masterSet}`;
    for (const k of kumo) expect(k.env.KUMO_REDIS_URL, k.name).toBe(url);
    expect(sentinelConf).toMatch(/^port 26379$/m);
  });
});

describe('infra/prometheus', () => {
  const jobs = (file: string): string[] =>
    (parse(read(file)) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }).scrape_configs
      .filter((j) => j.job_name.startsWith('kumo-'))
      .flatMap((j) => j.static_configs.flatMap((c) => c.targets.map((t) => `${j.job_name} ${t}`)))
      .sort();
  const single = ['engine', 'sip', 'api', 'billing'].map((cmd) => `kumo-${cmd} 127.0.0.1:${listens(cmd, {}).ops}`);

  it('the single-node scrape config: every Kumo process on its default ops port, nothing that does not exist', () => {
    expect(jobs('prometheus/prometheus.yml')).toEqual([...single].sort());
  });

  it('on drachtio-server: its metrics port from drachtio.conf.xml in place of the engine', () => {
    const port = /<prometheus port="(\d+)">([^<]+)</.exec(read('drachtio/drachtio.conf.xml'));
    expect(port).not.toBeNull();
    const want = [...single.filter((t) => !t.startsWith('kumo-engine ')), `kumo-drachtio ${port?.[2]}:${port?.[1]}`].sort();
    expect(jobs('prometheus/prometheus.drachtio.yml')).toEqual(want);
  });
});

interface K8sContainer {
  name: string;
  image?: string;
  args?: string[];
  readinessProbe?: { httpGet?: { path?: string; port?: number | string } };
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}
interface K8sDoc {
  kind: string;
  metadata: { name: string };
  stringData?: Record<string, string>;
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    serviceName?: string;
    clusterIP?: string;
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> }; spec: { containers: K8sContainer[] } };
    podMetricsEndpoints?: { port: string }[];
  };
}

describe('infra/k8s', () => {
  const docs = parseAllDocuments(read('k8s/kumo.yaml')).map((d) => d.toJS() as K8sDoc);
  const secret = docs.find((d) => d.kind === 'Secret')?.stringData ?? {};
  const workloads = docs.filter((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet');
  const kumoPods = workloads
    .map((w) => ({ w, containers: (w.spec?.template?.spec.containers ?? []).filter((c) => c.image?.startsWith('kumo:')) }))
    .filter((p) => p.containers.length > 0);
  const envOf = (c: K8sContainer): Record<string, string> => ({
    ...secret,
    ...Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string])),
  });

  it('real keys and commands, no port clash in a pod, named ops ports = listen ports, PodMonitors on every process', async () => {
    const commands = await kumoCommands();
    expect(envProblems('Secret', secret)).toEqual([]);
    const monitored = new Map<string, Set<string>>();
    for (const m of docs.filter((d) => d.kind === 'PodMonitor')) monitored.set(m.spec?.selector?.matchLabels?.app ?? '', new Set((m.spec?.podMetricsEndpoints ?? []).map((e) => e.port)));
    for (const { w, containers } of kumoPods) {
      const where = `${w.kind} ${w.metadata.name}`;
      const all: string[] = [];
      for (const c of containers) {
        const cmd = c.args?.[0] ?? '';
        expect(commands, `${where}/${c.name}: kumo ${cmd}`).toContain(cmd);
        const names = (c.env ?? []).map((e) => e.name);
        expect(envProblems(`${where}/${c.name}`, { ...Object.fromEntries(names.map((n) => [n, ''])), ...envOf(c) })).toEqual([]);
        const l = listens(cmd, envOf(c));
        all.push(...l.all);
        // The ops port is declared by name, and that name is scraped.
        const opsPort = (c.ports ?? []).find((p) => p.containerPort === l.ops && p.name !== undefined);
        expect(opsPort, `${where}/${c.name}: a named containerPort ${l.ops}`).toBeDefined();
        expect(monitored.get(w.spec?.template?.metadata?.labels?.app ?? '')?.has(opsPort?.name ?? ''), `${where}/${c.name}: PodMonitor on ${opsPort?.name}`).toBe(true);
        if (cmd === 'sip') {
          const engine = containers.find((e) => e.args?.[0] === 'engine');
          expect(engine, `${where}: sip workers sit next to their engine`).toBeDefined();
          expect(setting(envOf(c), 'KUMO_ENGINE_CONTROL')).toBe(setting(envOf(engine as K8sContainer), 'KUMO_ENGINE_CONTROL'));
        }
      }
      expect(dupes(all), `${where}: ports`).toEqual([]);
    }
    // The SIP node: an engine and two sip workers per pod; the engine outlives the workers' drain.
    const node = kumoPods.find((p) => p.w.kind === 'StatefulSet');
    expect(node?.containers.map((c) => c.args?.[0])).toEqual(['engine', 'sip', 'sip']);
    const engine = node?.containers.find((c) => c.args?.[0] === 'engine') as K8sContainer & { lifecycle?: { preStop?: { exec?: { command?: string[] } } } };
    const waitsFor = engine.lifecycle?.preStop?.exec?.command?.join(' ') ?? '';
    for (const c of node?.containers.filter((x) => x.args?.[0] === 'sip') ?? []) expect(waitsFor, `engine preStop waits for ${c.name}`).toContain(String(listens('sip', envOf(c)).ops));
  });

  it('the same layout as compose/multi-host.yml: images, commands, SIP-node settings, edge command, readiness', () => {
    const { services, kumo } = composeKumo('compose/multi-host.yml');
    // Images: Compose names what it builds as Kubernetes runs it.
    const k8sImages = new Set(workloads.flatMap((w) => (w.spec?.template?.spec.containers ?? []).map((c) => c.image)));
    for (const k of kumo) expect(k8sImages, k.name).toContain(services[k.name]?.image);
    const edgeImage = Object.values(services).find((s) => s.command?.[0] === 'kamailio')?.image;
    expect(k8sImages).toContain(edgeImage);
    // A SIP node: the same processes, with the same settings but the site's addresses (Redis, edges, own host).
    const siteKeys = new Set(['KUMO_REDIS_URL', 'KUMO_SIP_TRUSTED_EDGES', 'KUMO_SIP_ADVERTISED_HOST', 'KUMO_ENGINE_SECRET', 'KUMO_NONCE_SECRET', 'KUMO_LOG_LEVEL']);
    const own = (env: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(env).filter(([k]) => !siteKeys.has(k)));
    const node = kumoPods.find((p) => p.w.kind === 'StatefulSet')?.containers ?? [];
    const nodeA = kumo.filter((k) => k.netns === kumo.find((e) => e.cmd === 'engine')?.netns);
    expect(node.map((c) => `${c.args?.[0]} ${JSON.stringify(own(envOf(c)))}`).sort()).toEqual(nodeA.map((k) => `${k.cmd} ${JSON.stringify(own(k.env))}`).sort());
    // The api and billing run the same commands; the edges the same kamailio command (listen addresses aside).
    for (const cmd of ['api', 'billing']) expect(kumoPods.some((p) => p.containers.some((c) => c.args?.[0] === cmd)), cmd).toBe(true);
    const edgeCmd = (args: string[] | undefined): string => (args ?? []).join(' ').replace(/ -l \S+/g, '');
    const k8sEdge = workloads.flatMap((w) => w.spec?.template?.spec.containers ?? []).find((c) => c.args?.[0] === 'kamailio');
    for (const s of Object.values(services).filter((x) => x.command?.[0] === 'kamailio')) expect(edgeCmd(s.command)).toBe(edgeCmd(k8sEdge?.args));
    // Readiness: every Compose Kumo service checks /readyz on its ops port, as every Kubernetes Kumo container's readinessProbe.
    for (const k of kumo) expect(services[k.name]?.healthcheck?.test?.join(' '), k.name).toContain('/readyz');
    for (const { containers } of kumoPods) {
      for (const c of containers) {
        expect(c.readinessProbe?.httpGet, c.name).toEqual({ path: '/readyz', port: listens(c.args?.[0] ?? '', envOf(c)).ops });
      }
    }
  });

  it('the edges: two kamailio replicas whose dispatcher list names every SIP node by its stable DNS name', () => {
    const node = docs.find((d) => d.kind === 'StatefulSet') as K8sDoc;
    const svc = docs.find((d) => d.kind === 'Service' && d.metadata.name === node.spec?.serviceName);
    expect(svc?.spec?.clusterIP).toBe('None');
    const engine = node.spec?.template?.spec.containers.find((c) => c.args?.[0] === 'engine') as K8sContainer;
    const udp = portOf(
      setting(envOf(engine), 'KUMO_SIP_LISTEN')
        .split(',')
        .find((l) => l.startsWith('udp/')) as string,
    );
    const want = Array.from({ length: node.spec?.replicas ?? 0 }, (_, i) => `${node.metadata.name}-${i}.${node.spec?.serviceName}:${udp}`);
    const list = docs.find((d) => d.kind === 'ConfigMap' && d.data?.['dispatcher.list'] !== undefined)?.data?.['dispatcher.list'] ?? '';
    const listed = list
      .split('\n')
      .filter((l) => /^\d/.test(l.trim()))
      .map((l) => (l.trim().split(/\s+/)[1] as string).replace(/^sip:/, ''));
    expect(listed.sort()).toEqual(want.sort());
    const edge = workloads.find((w) => w.spec?.template?.spec.containers.some((c) => c.args?.[0] === 'kamailio'));
    expect(edge?.spec?.replicas).toBe(2);
    // The prober probes the same nodes.
    const api = kumoPods.flatMap((p) => p.containers).find((c) => c.args?.[0] === 'api') as K8sContainer;
    expect(envOf(api).KUMO_OPS_ENGINES?.split(',').sort()).toEqual(want.map((w) => `udp/${w}`).sort());
    expect(secret.KUMO_REDIS_URL).toMatch(/^redis-sentinel:\/\//);
  });
});
