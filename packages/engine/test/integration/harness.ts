import { fileURLToPath } from 'node:url';
import { silentLogger } from '@kumo/runtime';
import { freePort } from '@kumo/testkit';
import { startEngine, type EngineHandle } from '../../src/index.js';

export const SCENARIOS = fileURLToPath(new URL('../scenarios/', import.meta.url));
export const scenario = (name: string): { file: string } => ({ file: `${SCENARIOS}${name}` });

export interface Stack {
  engine: EngineHandle;
  sipPort: number;
  controlPort: number;
}

/** An engine on free loopback ports (UDP and TCP on the same port), with short timers for tests. */
export async function startStack(opts: { T1?: number; appResponseTimeoutMs?: number } = {}): Promise<Stack> {
  for (let attempt = 0; ; attempt++) {
    const sipPort = await freePort();
    try {
      const engine = await startEngine({
        listen: [
          { proto: 'udp', host: '127.0.0.1', port: sipPort },
          { proto: 'tcp', host: '127.0.0.1', port: sipPort },
        ],
        control: { host: '127.0.0.1', port: 0 },
        secret: 'cymru',
        log: silentLogger(),
        timers: { T1: opts.T1 ?? 500 },
        ...(opts.appResponseTimeoutMs !== undefined ? { appResponseTimeoutMs: opts.appResponseTimeoutMs } : {}),
      });
      return { engine, sipPort, controlPort: engine.control.port };
    } catch (err) {
      if (attempt > 5) throw err;
    }
  }
}

export async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
