/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-srf ships no usable types */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runSipp } from '@kumo/testkit';
import { silentLogger } from '@kumo/runtime';
import { startEngine, type EngineHandle } from '../../src/index.js';
import { connectSrf, disconnectSrf, installUas, newCounters } from '../apps/srf-apps.js';
import { scenario } from './harness.js';

describe('IPv6 listen points', () => {
  let engine: EngineHandle;
  let srf: any;
  const c = newCounters();
  beforeAll(async () => {
    const port = await freePort('::1');
    engine = await startEngine({
      listen: [
        { proto: 'udp', host: '::1', port },
        { proto: 'tcp', host: '::1', port },
      ],
      control: { host: '127.0.0.1', port: 0 },
      secret: 'cymru',
      log: silentLogger(),
    });
    srf = await connectSrf(engine.control.port);
    installUas(srf, c);
    await new Promise((r) => setTimeout(r, 100));
  });
  afterAll(async () => {
    disconnectSrf(srf);
    await engine.close();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`basic call to [::1] over ${transport}`, async () => {
      const r = await runSipp({
        scenario: scenario('uac-basic-call-expect-200.xml'),
        target: `[::1]:${engine.sip[0]!.port}`,
        localHost: '::1',
        localPort: await freePort('::1'),
        transport,
        calls: 1,
        timeoutS: 15,
      });
      expect(r.errors).toBe('');
      expect(r.successful).toBe(1);
    });
  }
});
