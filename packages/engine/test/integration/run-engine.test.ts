import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Lifecycle, createLogger, createRegistry } from '@kumo/runtime';
import { runEngine } from '../../src/index.js';

describe('runEngine', () => {
  it('reads its config from env, serves SIP and control, and exposes engine metrics on the ops server', async () => {
    const lines: string[] = [];
    const dest = new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger({ level: 'info', name: 'engine-test', destination: dest });
    const lifecycle = new Lifecycle(log, 5000);
    const registry = createRegistry('engine');
    await runEngine({
      env: {
        KUMO_SIP_LISTEN: 'udp/127.0.0.1:0,tcp/127.0.0.1:0',
        KUMO_ENGINE_CONTROL: '127.0.0.1:0',
        KUMO_ENGINE_OPS_LISTEN: '127.0.0.1:0',
        KUMO_ENGINE_SECRET: 's3cret',
      },
      log,
      lifecycle,
      registry,
    });
    const serving = lines.map((l) => JSON.parse(l) as { msg: string; ops?: number; sip?: string[] }).find((l) => l.msg === 'engine serving');
    expect(serving?.sip).toHaveLength(2);
    const res = await fetch(`http://127.0.0.1:${serving?.ops ?? 0}/metrics`);
    const body = await res.text();
    expect(body).toContain('kumo_engine_connected_apps');
    expect(body).toContain('kumo_engine_dialogs');
    expect(lines.join('')).not.toContain('s3cret');
    await lifecycle.shutdown('test');
  });

  it('reports every config problem at once', async () => {
    const log = createLogger({ level: 'silent', name: 'x' });
    await expect(
      runEngine({ env: { KUMO_SIP_LISTEN: 'sctp/1.2.3.4:5', KUMO_ENGINE_CONTROL: 'nope' }, log, lifecycle: new Lifecycle(log, 1000), registry: createRegistry('e') }),
    ).rejects.toThrow(/KUMO_SIP_LISTEN[\s\S]*KUMO_ENGINE_CONTROL/);
  });
});

describe('runEngine secrets', () => {
  it('refuses the default secret when it would listen off loopback', async () => {
    const log = createLogger({ level: 'silent', name: 'x' });
    const ctx = { log, lifecycle: new Lifecycle(log, 1000), registry: createRegistry('engine') };
    await expect(runEngine({ ...ctx, env: { KUMO_SIP_LISTEN: 'udp/0.0.0.0:0', KUMO_ENGINE_CONTROL: '127.0.0.1:0', KUMO_ENGINE_OPS_LISTEN: '127.0.0.1:0' } })).rejects.toMatchObject({
      code: 'KUMO_ERR_CONFIG',
      problems: [expect.stringMatching(/^KUMO_ENGINE_SECRET: is a known default or placeholder/)],
    });
    await expect(
      runEngine({ ...ctx, env: { KUMO_SIP_LISTEN: 'udp/127.0.0.1:0', KUMO_ENGINE_CONTROL: '192.0.2.1:0', KUMO_ENGINE_OPS_LISTEN: '127.0.0.1:0', KUMO_ENGINE_SECRET: 'change-me' } }),
    ).rejects.toMatchObject({ code: 'KUMO_ERR_CONFIG' });
  });
});
