/**
 * Frames to an app (control/server.ts AppConnection): written together, in order, with one write per loop turn when
 * quiet and at most one per COALESCE_MS under load (the last write under that long ago).
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppConnection, COALESCE_MS } from '../../src/control/server.js';

function conn() {
  const writes: string[] = [];
  const socket = { destroyed: false, write: (b: Buffer) => (writes.push(b.toString('utf8')), true) } as unknown as Socket;
  return { c: new AppConnection(1, socket), writes };
}
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ids = (w: string): string[] => [...w.matchAll(/\d+#([\w-]+)\|/g)].map((m) => m[1] ?? '');

describe('AppConnection frame writes', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('frames of one loop turn go in one write at its end, framed and in order', async () => {
    const { c, writes } = conn();
    const a = c.send('sip|a|\r\n', Buffer.from('INVITE x SIP/2.0\r\n\r\n'));
    const b = c.send('response|r1|OK');
    expect(writes).toHaveLength(0);
    await turn();
    expect(writes).toHaveLength(1);
    expect(ids(writes[0] ?? '')).toEqual([a, b]);
    const first = writes[0] ?? '';
    const len = Number(first.slice(0, first.indexOf('#')));
    expect(Buffer.byteLength(`${a}|sip|a|\r\nINVITE x SIP/2.0\r\n\r\n`)).toBe(len);
  });

  it('a frame with non-ASCII text counts its UTF-8 bytes, with or without a message after it', async () => {
    const { c, writes } = conn();
    const body = Buffer.from('MESSAGE sip:x SIP/2.0\r\nSubject: 日本\r\n\r\n', 'utf8');
    const a = c.send('sip|é|\r\n', body);
    const b = c.send('response|r2|NOK|ünknown');
    await turn();
    const w = writes[0] ?? '';
    expect(w).toBe(`${Buffer.byteLength(`${a}|sip|é|\r\n`) + body.length}#${a}|sip|é|\r\n${body.toString('utf8')}${Buffer.byteLength(`${b}|response|r2|NOK|ünknown`)}#${b}|response|r2|NOK|ünknown`);
  });

  it(`under load (last write under ${COALESCE_MS} ms ago) frames wait for the timer: one write for several turns, order kept`, () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setImmediate', 'performance'] });
    const { c, writes } = conn();
    const a = c.send('one');
    vi.advanceTimersByTime(0);
    expect(writes).toHaveLength(1); // quiet before: at the end of the turn
    const b = c.send('two'); // no time has passed: under load
    vi.advanceTimersByTime(0);
    const d = c.send('three');
    vi.advanceTimersByTime(0);
    expect(writes).toHaveLength(1);
    vi.advanceTimersByTime(COALESCE_MS);
    expect(writes).toHaveLength(2);
    expect(ids(writes[1] ?? '')).toEqual([b, d]);
    vi.advanceTimersByTime(50); // a quiet spell: the next frame goes at the end of its turn again
    const e = c.send('four');
    vi.advanceTimersByTime(0);
    expect(writes.map(ids)).toEqual([[a], [b, d], [e]]);
  });

  it('a large backlog is written at once; nothing is written once the socket is gone', async () => {
    vi.spyOn(performance, 'now').mockImplementation(() => 5);
    const { c, writes } = conn();
    c.send('x');
    await turn();
    c.send('big', Buffer.alloc(70000, 97)); // over the byte cap: now, without waiting
    expect(writes).toHaveLength(2);
    c.closed = true;
    c.send('late');
    await sleep(COALESCE_MS + 20);
    expect(writes).toHaveLength(2);
  });
});
