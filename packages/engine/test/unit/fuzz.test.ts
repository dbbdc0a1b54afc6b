import { describe, expect, it } from 'vitest';
import {
  StreamFramer,
  createErrorResponse,
  createResponse,
  parseMessage,
  serialize,
  validateRequest,
  type SipMessage,
} from '../../src/index.js';
import { loadCorpora } from './corpora.js';

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 0x4b756d6f; // "Kumo"
const MUTATIONS = 20_000;
const PER_MESSAGE_MS = 50;
const INTERESTING = ['\r\n', '\r\n ', ':', ';', ',', '"', '\\', '<', '>', '%', '@', '[', ']', '=', '\0', '\r', '\n',
  '99999999999999999999', '-1', 'SIP/2.0', ' ', '\t', 'Content-Length: 5\r\n', 'l: 0', 'Via: ', 'é', '\u{1F600}'];

function mutate(rand: () => number, corpus: Buffer[], src: Buffer): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  let b = Buffer.from(src);
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const n = b.length;
    const at = int(n + 1);
    switch (int(9)) {
      case 0: // flip bits
        if (n > 0) {
          const i = int(n);
          b[i] = b[i]! ^ (1 << int(8));
        }
        break;
      case 1: // random byte
        if (n > 0) b[int(n)] = int(256);
        break;
      case 2: // truncate
        b = b.subarray(0, at);
        break;
      case 3: { // duplicate a range
        const len = int(Math.min(200, n - at + 1));
        b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
        break;
      }
      case 4: { // delete a range
        const len = int(Math.min(50, n - at + 1));
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
        break;
      }
      case 5: { // insert an interesting token
        const tok = Buffer.from(INTERESTING[int(INTERESTING.length)]!, 'utf8');
        b = Buffer.concat([b.subarray(0, at), tok, b.subarray(at)]);
        break;
      }
      case 6: { // swap two header lines
        const lines = b.toString('latin1').split('\r\n');
        if (lines.length > 3) {
          const i = 1 + int(lines.length - 2);
          const j = 1 + int(lines.length - 2);
          [lines[i], lines[j]] = [lines[j]!, lines[i]!];
          b = Buffer.from(lines.join('\r\n'), 'latin1');
        }
        break;
      }
      case 7: { // splice with another corpus message
        const other = corpus[int(corpus.length)]!;
        const oa = int(other.length + 1);
        b = Buffer.concat([b.subarray(0, at), other.subarray(oa)]);
        break;
      }
      default: { // repeat a token many times (backtracking bait)
        const tok = INTERESTING[int(INTERESTING.length)]!.repeat(1 + int(2000));
        b = Buffer.concat([b.subarray(0, at), Buffer.from(tok, 'utf8'), b.subarray(at)]);
        break;
      }
    }
  }
  return b;
}

/** Everything the engine would do with a datagram; must never throw. */
function handle(data: Buffer): void {
  const r = parseMessage(data);
  if (!r.ok) {
    if (!r.isResponse) {
      const res = createErrorResponse(r.partial, r.status, r.reason);
      if (res !== undefined) serialize(res);
    }
    return;
  }
  touch(r.msg);
  if (!r.msg.isResponse) {
    const v = validateRequest(r.msg, { forwarding: true, answerContentTypes: ['application/sdp'] });
    const res = createResponse(r.msg, v.ok ? 200 : v.status, undefined, { headers: v.ok ? [] : v.headers });
    const again = parseMessage(serialize(res));
    expect(again.ok || again.isResponse).toBe(true);
  }
  // What we emit must parse back, and serializing is stable from then on.
  const wire = serialize(r.msg);
  const back = parseMessage(wire);
  expect(back.ok).toBe(true);
  if (back.ok) expect(serialize(back.msg).equals(wire)).toBe(true);
}

/** The app-message path (lenient) must not throw either. */
function handleLenient(data: Buffer): void {
  const r = parseMessage(data, { lenient: true });
  if (r.ok) {
    touch(r.msg);
    serialize(r.msg);
  }
}

function timeBestOf(n: number, data: Buffer): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    handle(data);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

function touch(m: SipMessage): void {
  void m.vias; void m.from; void m.to; void m.cseq; void m.contact; void m.routes; void m.recordRoutes;
  void m.contentLength; void m.maxForwards; void m.expires; void m.contentType; void m.callId;
  if (!m.isResponse) void m.requestUri;
}

describe('seeded mutation fuzz over the torture corpora', () => {
  const corpus = loadCorpora().map((f) => f.data);

  it(`${MUTATIONS} mutations: no throw, no hang, each under ${PER_MESSAGE_MS} ms`, { timeout: 120_000 }, () => {
    const rand = prng(SEED);
    let slowest = 0;
    let accepted = 0;
    const started = performance.now();
    for (let k = 0; k < MUTATIONS; k++) {
      const src = corpus[Math.floor(rand() * corpus.length)]!;
      const data = mutate(rand, corpus, src);
      const t0 = performance.now();
      try {
        handle(data);
        handleLenient(data);
      } catch (e) {
        throw new Error(`mutation #${k} threw: ${String(e)}\n${JSON.stringify(data.toString('latin1'))}`);
      }
      let dt = performance.now() - t0;
      if (dt > PER_MESSAGE_MS) dt = Math.min(dt, timeBestOf(3, data)); // a GC pause is not reproducible; a blow-up is
      if (dt > slowest) slowest = dt;
      if (dt > PER_MESSAGE_MS) throw new Error(`mutation #${k} took ${dt.toFixed(1)} ms`);
      if (parseMessage(data).ok) accepted++;
    }
    const total = performance.now() - started;
    // Sanity: the mutations are not all trivially rejected, and the whole run is bounded.
    expect(accepted).toBeGreaterThan(MUTATIONS / 20);
    // The per-message bound is the hang guard; the whole run's wall time depends on the machine's load.
    console.log(`fuzz: ${MUTATIONS} mutations, ${accepted} accepted, slowest ${slowest.toFixed(2)} ms, total ${total.toFixed(0)} ms`);
  });

  it('stream framing of mutated concatenations: no throw, bounded', { timeout: 120_000 }, () => {
    const rand = prng(SEED + 1);
    for (let k = 0; k < 2_000; k++) {
      const parts: Buffer[] = [];
      for (let j = 0; j < 3; j++) parts.push(mutate(rand, corpus, corpus[Math.floor(rand() * corpus.length)]!));
      const stream = Buffer.concat(parts);
      const cuts: number[] = [];
      for (let pos = 0; pos < stream.length; pos += 1 + Math.floor(rand() * 700)) cuts.push(pos);
      const run = (): { f: StreamFramer; ms: number } => {
        const f = new StreamFramer({ maxMessageSize: 8192 });
        const t0 = performance.now();
        for (let c = 0; c < cuts.length; c++) {
          for (const item of f.push(stream.subarray(cuts[c], cuts[c + 1] ?? stream.length))) {
            if (item.type === 'message' && item.result.ok) touch(item.result.msg);
          }
        }
        return { f, ms: performance.now() - t0 };
      };
      let { f, ms } = run();
      // A scheduler or GC pause is not reproducible; a blow-up is.
      for (let retry = 0; retry < 2 && ms > PER_MESSAGE_MS * 3; retry++) ({ f, ms } = run());
      expect(ms).toBeLessThan(PER_MESSAGE_MS * 3);
      expect(f.pending).toBeLessThanOrEqual(8192 + 700);
    }
  });

  it.each<[string, Buffer]>([
    ['64 KB of semicolons in a Via', Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h${';'.repeat(60000)}\r\n\r\n`)],
    ['64 KB of quotes', Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nTo: ${'"\\'.repeat(30000)}\r\n\r\n`)],
    ['64 KB of commas in Contact', Buffer.from(`REGISTER sip:a@b SIP/2.0\r\nContact: ${'<sip:a@b>,'.repeat(6000)}\r\n\r\n`)],
    ['64 KB of folds', Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nX: a${'\r\n '.repeat(20000)}\r\n\r\n`)],
    ['64 KB of percent', Buffer.from(`OPTIONS sip:${'%4'.repeat(30000)}@b SIP/2.0\r\n\r\n`)],
    ['many Content-Length lines', Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\n${'l: 1\r\n'.repeat(10000)}\r\n`)],
    ['huge header count', Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\n${'X: 1\r\n'.repeat(12000)}\r\n`)],
    ['one long line', Buffer.from(`OPTIONS sip:${'a'.repeat(65000)}@b SIP/2.0\r\n\r\n`)],
  ])('pathological: %s', (_n, data) => {
    const once = (): number => {
      const t0 = performance.now();
      handle(data);
      handleLenient(data);
      new StreamFramer().push(data);
      return performance.now() - t0;
    };
    let ms = once();
    // A scheduler or GC pause is not reproducible; a blow-up is.
    for (let retry = 0; retry < 2 && ms > PER_MESSAGE_MS; retry++) ms = Math.min(ms, once());
    expect(ms).toBeLessThan(PER_MESSAGE_MS);
  });
});
