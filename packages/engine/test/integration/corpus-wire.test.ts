/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-srf ships no usable types */
/**
 * The RFC 4475 / RFC 5118 torture corpora over the wire: every message is sent, byte for byte, over UDP and over
 * TCP to a running engine with an unmodified drachtio-srf app connected, and the response read from the socket is
 * the verdict. The app answers whatever reaches it with a marked response, so "accepted" means "reached the app".
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/index.js';
import { loadCorpora, type CorpusFile } from '../unit/corpora.js';
import { connectSrf, disconnectSrf } from '../apps/srf-apps.js';
import { startStack, waitFor, type Stack } from './harness.js';

/** What must come back. `app`: the request reached the app (its marked answer came back). */
type Expect = { status: number; header?: [string, RegExp] } | 'app' | 'silence';

const S = (status: number, header?: [string, RegExp]): Expect => (header ? { status, header } : { status });
const APP: Expect = 'app';

/**
 * RFC 4475 §3 / RFC 5118 verdicts as a B2BUA with an app answers them (test/corpora/README.md). Notes:
 * - wsinv carries a To-tag for a dialog that does not exist: parsed, accepted, then 481 (§12.2.2).
 * - intmeth and esc02 (`RE%47IST%45R` is not REGISTER) are methods nobody implements: 501 (§8.2.1).
 * - responses (unreason, noreason, bcast, scalarlg, bigcode) match no transaction or do not parse: silence.
 * - mult-ip-in-header and via-received-param-with-delim are BYEs for unknown dialogs: 481.
 */
const VERDICTS: Record<string, Expect> = {
  // parse and accept
  wsinv: S(481), intmeth: S(501), esc01: APP, escnull: APP, esc02: S(501), lwsdisp: APP, longreq: APP, dblreq: APP,
  semiuri: APP, transports: APP, mpart01: APP, unreason: 'silence', noreason: 'silence', unksm2: APP, cparam01: APP,
  cparam02: APP, regescrt: APP, inv2543: APP, regaut01: APP,
  // 400
  badinv01: S(400), clerr: S(400), ncl: S(400), scalar02: S(400), quotbal: S(400), ltgtruri: S(400), lwsruri: S(400),
  lwsstart: S(400), trws: S(400), escruri: S(400), baddate: S(400), regbadct: S(400), badaspec: S(400), baddn: S(400),
  mismatch01: S(400), mismatch02: S(400), insuf: S(400), multi01: S(400), mcl01: S(400),
  // other status
  badvers: S(505),
  unkscm: S(416),
  novelsc: S(416),
  bext01: S(420, ['unsupported', /nothingSupportsThis, nothingSupportsThisEither/]),
  invut: S(415, ['accept', /application\/sdp/]),
  sdp01: S(406, ['accept', /application\/sdp/]),
  zeromf: S(483),
  // responses: dropped
  scalarlg: 'silence', bigcode: 'silence', bcast: 'silence',
  badbranch: APP, // accepted; its branch is the bare magic cookie, matched like any other
  // RFC 5118
  'ipv6-bad': S(400), 'ipv6-bug-abnf-3-colons': S(400),
  'ipv4-mapped-ipv6': APP, 'ipv6-correct-abnf-2-colons': APP, 'ipv6-good': APP, 'ipv6-in-sdp': APP,
  'mult-ip-in-header': S(481), 'mult-ip-in-sdp': APP, 'port-ambiguous': APP, 'port-unambiguous': APP,
  'via-received-param-no-delim': APP, 'via-received-param-with-delim': S(481),
};

/** Differences of a stream: Content-Length is mandatory and frames the messages (RFC 3261 §18.3, §20.14). */
const TCP_VERDICTS: Record<string, Expect> = {
  // the REGISTER, then the INVITE after it (a stream carries both), each answered; the tail has no Content-Length
  dblreq: APP,
  // Content-Length larger than the body: on a stream the receiver can only wait for the rest (RFC 4475 §3.1.2.7)
  clerr: 'silence',
  // RFC 2543 style, no Content-Length: cannot be framed on a stream (RFC 3261 §18.3), 400
  inv2543: S(400),
};

const MARK = 'X-Corpus-App';

interface Reply {
  status: number;
  text: string;
}

function header(text: string, name: string): string | undefined {
  const re = new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im');
  return re.exec(text)?.[1]?.trim();
}

function statusOf(text: string): number {
  return Number(/^SIP\/2\.0 (\d{3}) /.exec(text)?.[1] ?? 0);
}

/** CSeq number and Call-ID of a corpus message (as sent), to pick its answer out of the traffic. */
function idsOf(data: Buffer): { cseq: string | undefined; callId: string | undefined } {
  const t = data.toString('latin1');
  const cseq = /^CSeq[ \t]*:[ \t]*(\d+)/im.exec(t)?.[1];
  const callId = /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/im.exec(t)?.[1];
  return { cseq, callId };
}

function matches(reply: string, ids: { cseq: string | undefined; callId: string | undefined }): boolean {
  const cs = /^CSeq[ \t]*:[ \t]*(\d+)/im.exec(reply)?.[1];
  if (ids.cseq !== undefined && cs !== ids.cseq) return false;
  const cid = header(reply, '(?:Call-ID|i)');
  return ids.callId === undefined || cid === undefined || cid === ids.callId;
}

function check(name: string, expected: Expect, got: Reply | undefined): void {
  if (expected === 'silence') {
    expect(got, `${name}: no answer expected`).toBeUndefined();
    return;
  }
  expect(got, `${name}: an answer`).toBeDefined();
  if (expected === 'app') {
    expect(header(got!.text, MARK), `${name}: reached the app (got ${got!.status})`).toBe('yes');
    return;
  }
  expect(got!.status, name).toBe(expected.status);
  expect(header(got!.text, MARK), `${name}: answered by the engine`).toBeUndefined();
  if (expected.header) expect(header(got!.text, expected.header[0]), name).toMatch(expected.header[1]);
}

/** Installs an app that answers every routed method with a marked response. */
function installMarkedApp(srf: any, seen: string[]): void {
  for (const m of ['invite', 'register', 'options', 'message', 'bye', 'info', 'subscribe', 'notify', 'refer', 'update', 'publish']) {
    srf.use(m, (req: any, res: any) => {
      seen.push(`${req.method} ${req.get('Call-ID')}`);
      res.send(m === 'invite' ? 480 : 200, { headers: { [MARK]: 'yes' } });
    });
  }
}

const files = loadCorpora();
const verdictOf = (f: CorpusFile, tcp: boolean): Expect => (tcp ? TCP_VERDICTS[f.name] : undefined) ?? VERDICTS[f.name]!;

/**
 * Several messages share branch, sent-by and method (or, without a magic-cookie branch, Call-ID and CSeq): per
 * RFC 3261 §17.2.3 they are retransmissions of one transaction, answered with its last response. Wait it out first.
 */
async function waitForTxnsGone(stack: Stack, f: CorpusFile, sent: Set<string>): Promise<void> {
  const ids = idsOf(f.data);
  const r = parseMessage(f.data);
  const keys = [`${ids.callId ?? ''}|${ids.cseq ?? ''}`];
  if (r.ok && !r.msg.isResponse) keys.push(`${r.msg.topVia?.branch ?? ''}|${r.msg.topVia?.host ?? ''}|${r.msg.method}`);
  if (keys.some((k) => sent.has(k))) await waitFor(() => stack.engine.stats().serverTransactions === 0, 10000);
  for (const k of keys) sent.add(k);
}

describe('torture corpora over the wire', () => {
  it('has a wire verdict for each of the 61 files', () => {
    expect(files).toHaveLength(61);
    for (const f of files) expect(VERDICTS[f.name], f.name).toBeDefined();
  });

  describe('UDP', () => {
    let stack: Stack;
    let srf: any;
    const seen: string[] = [];
    /** Responses go to the source address and the Via port (5060 without one) unless rport: listen on all of them. */
    const host = `127.${randomInt(1, 250)}.${randomInt(1, 250)}.${randomInt(1, 250)}`;
    const socks: UdpSocket[] = [];
    const inbox: string[] = [];
    let sender!: UdpSocket;

    beforeAll(async () => {
      stack = await startStack({ T1: 10 });
      srf = await connectSrf(stack.controlPort);
      installMarkedApp(srf, seen);
      for (const port of [0, 5060, 5050, 5070, 6050, 19823]) {
        const s = createSocket('udp4');
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.bind(port, host, () => resolve());
        });
        s.on('message', (d) => inbox.push(d.toString('utf8')));
        socks.push(s);
      }
      sender = socks[0]!;
      await waitFor(() => stack.engine.stats().apps === 1);
    });
    afterAll(async () => {
      for (const s of socks) s.close();
      disconnectSrf(srf);
      await stack.engine.close();
    });

    it('every message gets its RFC verdict', async () => {
      const sent = new Set<string>();
      const failures: string[] = [];
      for (const f of files) {
        await waitForTxnsGone(stack, f, sent);
        inbox.length = 0;
        const ids = idsOf(f.data);
        sender.send(f.data, stack.sipPort, '127.0.0.1');
        const expected = verdictOf(f, false);
        const find = (): string | undefined => inbox.find((r) => matches(r, ids) && statusOf(r) >= 200);
        try {
          await waitFor(() => find() !== undefined, expected === 'silence' ? 300 : 3000);
        } catch {
          /* judged below */
        }
        const text = find();
        try {
          check(f.name, expected, text === undefined ? undefined : { status: statusOf(text), text });
        } catch (err) {
          failures.push(`${f.set}/${f.name}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      expect(failures).toEqual([]);
    }, 60000);

  });

  describe('TCP', () => {
    let stack: Stack;
    let srf: any;
    const seen: string[] = [];

    beforeAll(async () => {
      stack = await startStack({ T1: 10 });
      srf = await connectSrf(stack.controlPort);
      installMarkedApp(srf, seen);
      await waitFor(() => stack.engine.stats().apps === 1);
    });
    afterAll(async () => {
      disconnectSrf(srf);
      await stack.engine.close();
    });

    /** One connection per message: sends it and collects what comes back until `done` or the time is up. */
    async function exchange(data: Buffer, done: (got: string) => boolean, ms: number): Promise<string> {
      const so = connect({ host: '127.0.0.1', port: stack.sipPort });
      so.on('error', () => undefined);
      await new Promise((r) => so.once('connect', r));
      let got = '';
      so.on('data', (d: Buffer) => (got += d.toString('utf8')));
      so.write(data);
      try {
        await waitFor(() => done(got), ms);
      } catch {
        /* judged by the caller */
      }
      so.destroy();
      return got;
    }

    const split = (stream: string): string[] => stream.split(/(?=^SIP\/2\.0 \d{3} )/m).filter((x) => x.startsWith('SIP/2.0'));

    it('every message gets its RFC verdict', async () => {
      const sent = new Set<string>();
      const failures: string[] = [];
      for (const f of files) {
        if (f.name === 'dblreq') continue; // below
        await waitForTxnsGone(stack, f, sent);
        const ids = idsOf(f.data);
        const expected = verdictOf(f, true);
        const find = (s: string): string | undefined => split(s).find((r) => matches(r, ids) && statusOf(r) >= 200);
        const stream = await exchange(f.data, (s) => find(s) !== undefined, expected === 'silence' ? 300 : 3000);
        const text = find(stream);
        try {
          check(f.name, expected, text === undefined ? undefined : { status: statusOf(text), text });
        } catch (err) {
          failures.push(`${f.set}/${f.name}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      expect(failures).toEqual([]);
    }, 60000);

    it('dblreq: both requests on the stream are answered, the REGISTER first, before the connection closes', async () => {
      const f = files.find((x) => x.name === 'dblreq')!;
      const stream = await exchange(f.data, (s) => split(s).filter((r) => statusOf(r) >= 200).length >= 2, 3000);
      const finals = split(stream).filter((r) => statusOf(r) >= 200);
      expect(finals.map((r) => `${statusOf(r)} ${/^CSeq[ \t]*:[ \t]*(.*)$/im.exec(r)?.[1]}`)).toEqual(['200 8 REGISTER', '480 8 INVITE']);
      for (const r of finals) expect(header(r, MARK)).toBe('yes');
    });
  });
});
