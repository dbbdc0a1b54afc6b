/**
 * The engine's process environment (its allocator: packages/engine/src/launch.ts, docs/engine.md "Memory after a
 * burst") is written once, as ENGINE_PROCESS_ENV; `kumo up` adds it to the engine child, and every other way of
 * launching the engine in infra/ must carry the same lines: the systemd unit, both Compose files, the Kubernetes
 * manifest. The image must install the library it preloads.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ENGINE_NODE_ARGS, ENGINE_PROCESS_ENV, engineProcessEnv } from '@kumo/engine';

const INFRA = fileURLToPath(new URL('../../../../infra/', import.meta.url));
const read = (p: string): string => readFileSync(INFRA + p, 'utf8');
const want = Object.entries(ENGINE_PROCESS_ENV);

describe('the engine process environment (one place: ENGINE_PROCESS_ENV)', () => {
  it('names an allocator setting at all', () => {
    expect(want.length).toBeGreaterThan(0);
  });

  it('kumo up: added to the engine child, the operator keeps a variable set already', () => {
    const env = engineProcessEnv({ PATH: '/bin', MALLOC_CONF: 'narenas:1' });
    for (const [k, v] of want) expect(env[k], k).toBe(k === 'MALLOC_CONF' ? 'narenas:1' : v);
    expect(env['PATH']).toBe('/bin');
  });

  it('the systemd unit', () => {
    const lines = read('systemd/kumo-engine.service').split('\n');
    const env = Object.fromEntries(lines.filter((l) => l.startsWith('Environment=')).map((l) => l.slice('Environment='.length).split(/=(.*)/s).slice(0, 2)));
    for (const [k, v] of want) expect(env[k], k).toBe(v);
  });

  it('every engine service of both Compose files', () => {
    for (const f of ['compose/docker-compose.yml', 'compose/multi-host.yml']) {
      const doc = parse(read(f)) as { services: Record<string, { command?: string[]; environment?: Record<string, string> }> };
      const engines = Object.entries(doc.services).filter(([, s]) => s.command?.[0] === 'engine');
      expect(engines.length, f).toBeGreaterThan(0);
      for (const [name, s] of engines) for (const [k, v] of want) expect(s.environment?.[k], `${f} ${name} ${k}`).toBe(v);
    }
  });

  it('every engine container of the Kubernetes manifest', () => {
    type C = { args?: string[]; env?: { name: string; value?: string }[] };
    const docs = parseAllDocuments(read('k8s/kumo.yaml')).map((d) => d.toJS() as { spec?: { template?: { spec: { containers: C[] } } } });
    const engines = docs.flatMap((d) => d.spec?.template?.spec.containers ?? []).filter((c) => c.args?.[0] === 'engine');
    expect(engines.length).toBeGreaterThan(0);
    for (const c of engines) {
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
      for (const [k, v] of want) expect(env[k], k).toBe(v);
    }
  });

  it('the image installs the preloaded library', () => {
    if (ENGINE_PROCESS_ENV['LD_PRELOAD']?.includes('jemalloc')) expect(read('compose/Dockerfile')).toMatch(/apt-get install[^\n]*libjemalloc2/);
  });
});

/**
 * The engine's node flags (its GC floor: packages/engine/src/launch.ts, docs/engine.md "GC slack") are written once,
 * as ENGINE_NODE_ARGS; node takes them only on its command line, so every launcher puts them between `node` and the
 * script: `kumo up` (up.ts; its integration test reads the running engine's command line), the systemd unit, the engine services of both Compose files and the engine containers of
 * the Kubernetes manifest, whose command is the image's entrypoint with the flags added.
 */
describe('the engine node flags (one place: ENGINE_NODE_ARGS)', () => {
  const flags = [...ENGINE_NODE_ARGS];
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(read('compose/Dockerfile'))?.[1] ?? '[]') as string[];
  const withFlags = [entrypoint[0], ...flags, ...entrypoint.slice(1)];

  it('names a flag at all, and the image has an entrypoint to add them to', () => {
    expect(flags.length).toBeGreaterThan(0);
    expect(entrypoint[0]).toBe('node');
  });

  it('the systemd unit', () => {
    const exec = read('systemd/kumo-engine.service').split('\n').find((l) => l.startsWith('ExecStart='));
    expect(exec?.slice('ExecStart='.length).split(' ')).toEqual(['/usr/bin/node', ...flags, '/opt/kumo/packages/cli/dist/main.js', 'engine']);
  });

  it('every engine service of both Compose files', () => {
    for (const f of ['compose/docker-compose.yml', 'compose/multi-host.yml']) {
      const doc = parse(read(f)) as { services: Record<string, { command?: string[]; entrypoint?: string[] }> };
      for (const [name, s] of Object.entries(doc.services).filter(([, x]) => x.command?.[0] === 'engine')) expect(s.entrypoint, `${f} ${name}`).toEqual(withFlags);
    }
  });

  it('every engine container of the Kubernetes manifest', () => {
    type C = { args?: string[]; command?: string[] };
    const docs = parseAllDocuments(read('k8s/kumo.yaml')).map((d) => d.toJS() as { spec?: { template?: { spec: { containers: C[] } } } });
    const engines = docs.flatMap((d) => d.spec?.template?.spec.containers ?? []).filter((c) => c.args?.[0] === 'engine');
    expect(engines.length).toBeGreaterThan(0);
    for (const c of engines) expect(c.command).toEqual(withFlags);
  });
});
