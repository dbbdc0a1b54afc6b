import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '@kumo/runtime';
import { startEngine } from '../../src/index.js';
import { waitFor } from './harness.js';

const open = (port: number): Promise<Socket> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    s.once('connect', () => resolve(s));
  });
const closed = (s: Socket): Promise<void> => new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('SIP over TCP: connection limits and keep-alives', () => {
  it('caps connections per source, closes idle ones, and answers a CRLF CRLF ping with CRLF', async () => {
    const engine = await startEngine({
      listen: [{ proto: 'tcp', host: '127.0.0.1', port: 0 }],
      control: { host: '127.0.0.1', port: 0 },
      secret: 'x',
      log: silentLogger(),
      tcpMaxPerSource: 3,
      tcpIdleMs: 1000,
    });
    const port = engine.sip[0]!.port;
    const socks = [await open(port), await open(port), await open(port)];
    for (const s of socks) s.resume();
    const extra = await open(port);
    extra.resume();
    await closed(extra); // refused: 4th connection from 127.0.0.1
    expect(engine.stats().tcpConnections).toBe(3);

    const pong = new Promise<string>((r) => socks[0]!.once('data', (d: Buffer) => r(d.toString())));
    socks[0]!.write('\r\n\r\n');
    expect(await pong).toBe('\r\n');

    await Promise.all(socks.map(closed)); // idle for more than 1 s
    await waitFor(() => engine.stats().tcpConnections === 0);
    await engine.close();
  });
});
