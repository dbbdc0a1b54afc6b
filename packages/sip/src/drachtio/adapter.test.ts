/**
 * The srf control socket's write batching (adapter.ts): everything drachtio-srf and Kumo write in one
 * event-loop turn — including writes from promise continuations, which run after `nextTick` callbacks —
 * leaves in one uncork at the end of the turn; a later turn starts a new batch.
 */
import { describe, expect, it } from 'vitest';
import type Srf from 'drachtio-srf';
import { batchSrfWrites } from './adapter.js';

function fakeSrf() {
  const events: string[] = [];
  let corks = 0;
  const socket = {
    write: (chunk: string) => {
      events.push(`${corks > 0 ? 'corked' : 'direct'}:${chunk}`);
      return true;
    },
    cork: () => {
      corks++;
    },
    uncork: () => {
      corks--;
      events.push('flush');
    },
  };
  const srf = { _app: { client: { mapServer: new Map([[socket, {}]]) } } } as unknown as Srf;
  return { srf, socket, events };
}

describe('srf write batching', () => {
  it('writes of one turn, promise continuations included, leave in one flush; the next turn is a new batch', async () => {
    const { srf, socket, events } = fakeSrf();
    batchSrfWrites(srf);
    socket.write('ack');
    process.nextTick(() => socket.write('tick'));
    void Promise.resolve()
      .then(() => undefined)
      .then(() => socket.write('200'));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(events.slice(0, 3).sort()).toEqual(['corked:200', 'corked:ack', 'corked:tick']);
    expect(events.slice(3)).toEqual(['flush']);
    socket.write('bye');
    await new Promise((r) => setImmediate(r));
    expect(events.slice(4)).toEqual(['corked:bye', 'flush']);
  });

  it('wraps a socket once', async () => {
    const { srf, socket, events } = fakeSrf();
    batchSrfWrites(srf);
    batchSrfWrites(srf);
    socket.write('x');
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['corked:x', 'flush']);
  });
});
