/**
 * The worker relay (docs/scaling.md) against a real redis-server: request/answer between two
 * workers, timeouts and handler errors, a dead peer found by its heartbeat, and a dialog exported
 * by one worker and driven from the other (in-dialog requests relayed both ways).
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '@kumo/runtime';
import { CallRecordStore, createRedis, keySchema, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import { CallRegistry, RelayError, RelayedDialogs, WorkerRelay } from '@kumo/sip';

const keys = keySchema(uniquePrefix('relay'));
let redis: RedisClient;
const relays: WorkerRelay[] = [];

async function worker(self: string, deadAfterMs = 400): Promise<WorkerRelay> {
  const r = new WorkerRelay({ redis, sub: redis.duplicate(), keys, self, log: silentLogger(), checkMs: 100, deadAfterMs });
  await r.start();
  relays.push(r);
  return r;
}

/** A drachtio dialog as far as the relay uses it. */
class FakeDialog extends EventEmitter {
  readonly sip = { callId: 'c1', localTag: 'k1', remoteTag: 'p1' };
  readonly remote = { sdp: 'v=0 party' };
  readonly local = { sdp: 'v=0 kumo' };
  connected = true;
  readonly done: string[] = [];
  destroy(): Promise<void> {
    this.connected = false;
    this.done.push('BYE');
    return Promise.resolve();
  }
  modify(sdp: string): Promise<string> {
    this.done.push(`INVITE ${sdp}`);
    return Promise.resolve('v=0 party-answer');
  }
  request(o: { method: string }) {
    this.done.push(o.method);
    return Promise.resolve({ status: 200, get: () => undefined });
  }
}

beforeAll(() => {
  redis = createRedis(inject('redisUrl'));
});
afterAll(async () => {
  for (const r of relays) await r.close();
  await redis.quit();
});

describe('worker relay', () => {
  it('answers a request; times out without the peer; reports a handler error', async () => {
    const a = await worker('w-a');
    const b = await worker('w-b');
    a.on('echo', (body, from) => Promise.resolve({ body, from }));
    a.on('boom', () => Promise.reject(new Error('no such call')));
    expect(await b.request('w-a', 'echo', { x: 1 }, 2000)).toEqual({ body: { x: 1 }, from: 'w-b' });
    await expect(b.request('w-nobody', 'echo', {}, 300)).rejects.toMatchObject({ code: 'relay-timeout' });
    await expect(b.request('w-a', 'boom', {}, 2000)).rejects.toBeInstanceOf(RelayError);
    await expect(b.request('w-a', 'unknown-op', {}, 2000)).rejects.toMatchObject({ code: 'relay-failed' });
  });

  it('a peer whose heartbeat stops is dead: what was relayed with it ends', async () => {
    const c = await worker('w-c');
    const beat = new CallRecordStore(redis, keys, 'w-d');
    await beat.heartbeat();
    expect(await c.alive(['w-d', 'w-never'])).toEqual([true, false]);
    const dead = new Promise<number>((resolve) => {
      const t0 = Date.now();
      c.watch('w-d', () => resolve(Date.now() - t0));
    });
    // No more heartbeats from w-d: within the dead interval (400 ms) plus a check (100 ms).
    expect(await dead).toBeLessThan(2000);
  });

  it('an exported dialog is driven from the other worker, and its party’s requests reach that worker', async () => {
    const holder = await worker('w-holder', 5000);
    const peer = await worker('w-peer', 5000);
    await new CallRecordStore(redis, keys, 'w-holder').heartbeat();
    await new CallRecordStore(redis, keys, 'w-peer').heartbeat();
    const calls = new CallRegistry();
    const hd = new RelayedDialogs(holder, calls, silentLogger());
    const pd = new RelayedDialogs(peer, undefined, silentLogger());
    const d = new FakeDialog();
    const ex = hd.export(d as never, 'w-peer', 't1');
    expect(calls.size).toBe(1); // the holder's registry sees it (drain waits for it)
    const remote = pd.remote('w-holder', ex.info);
    expect(remote.remote.sdp).toBe('v=0 party');
    // The peer re-INVITEs and pings the party through the holder.
    expect(await remote.modify('v=0 other')).toBe('v=0 party-answer');
    expect((await remote.request({ method: 'OPTIONS' })).status).toBe(200);
    // The party's INFO reaches the peer's listener; its answer goes back as the holder's response.
    remote.on('info', ((req: { body: string }, res: { send(s: number, o: object): void }) => res.send(200, { body: `got ${req.body}` })));
    const answered = new Promise<unknown[]>((resolve) => d.emit('info', { body: 'dtmf 5', get: () => undefined }, { finalResponseSent: false, send: (...a: unknown[]) => resolve(a) }));
    expect(await answered).toEqual([200, { body: 'got dtmf 5' }]);
    // The party hangs up: the peer's stand-in says so, the holder's registry lets go.
    const gone = new Promise<void>((resolve) => remote.on('destroy', (() => resolve())));
    d.connected = false;
    d.emit('destroy');
    await gone;
    expect(await ex.ended).toBe('local');
    expect(remote.connected).toBe(false);
    expect(calls.size).toBe(0);
    expect(d.done).toEqual(['INVITE v=0 other', 'OPTIONS']);
    expect(hd.size + pd.size).toBe(0);
  });
});
