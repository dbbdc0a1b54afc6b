/**
 * RFC 4475 torture messages whose verdict needs Kumo's real sip app behind the engine, over UDP and TCP: REGISTERs
 * the engine accepts are challenged by the registrar (401 with a Digest challenge; `regaut01`'s credentials for an
 * unknown user change nothing), and the requests the engine must reject never reach the app (the app used to
 * answer them 401/403). The engine-only verdicts of all 61 messages are in
 * `packages/engine/test/integration/corpus-wire.test.ts`.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { memoryDirectory } from '../helpers/fake-sip.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** The corpora live with the engine's tests (MIT, see their README). */
const CORPORA = fileURLToPath(new URL('../../../engine/test/corpora/rfc4475/', import.meta.url));

/** [file, status (or any of several), header that must be present] */
const CASES: Array<[string, number | number[], string?]> = [
  // accepted by the engine, answered by the registrar
  ['regaut01', 401, 'www-authenticate'],
  ['cparam01', 401, 'www-authenticate'],
  ['cparam02', 401, 'www-authenticate'],
  ['escnull', 401, 'www-authenticate'],
  ['regescrt', 401, 'www-authenticate'],
  // To is an isbn: URI, not an address-of-record: the registrar refuses it (RFC 3261 §10.3 step 3)
  ['unksm2', [400, 404]],
  // rejected by the engine before the app
  ['regbadct', 400],
  ['escruri', 400],
  ['unkscm', 416],
  ['novelsc', 416],
  ['bext01', 420, 'unsupported'],
  ['invut', 415, 'accept'],
  ['sdp01', 406, 'accept'],
  ['intmeth', 501],
  ['zeromf', 483],
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function header(text: string, name: string): string | undefined {
  return new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im').exec(text)?.[1]?.trim();
}

function cseqOf(text: string): string | undefined {
  return /^CSeq[ \t]*:[ \t]*(\d+)/im.exec(text)?.[1];
}

const finalOf = (msgs: string[], cseq: string | undefined): string | undefined =>
  msgs.find((m) => /^SIP\/2\.0 [2-6]\d\d /.test(m) && cseqOf(m) === cseq);

async function until(pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await sleep(10);
}

describe('torture messages through the engine to the sip app', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      redisUrl: inject('redisUrl'),
      directory: memoryDirectory([{ id: 'corpus', domain: 'example.com', extensions: { '1001': 'pass1001' } }]),
      timers: { T1: 10 },
    });
  });
  afterAll(async () => {
    await s.close();
  });

  const check = (name: string, status: number | number[], hdr: string | undefined, got: string | undefined): void => {
    expect(got, `${name}: answered`).toBeDefined();
    expect([status].flat(), `${name}: ${got!.split('\r\n')[0]}`).toContain(Number(got!.slice(8, 11)));
    if (hdr !== undefined) expect(header(got!, hdr), `${name}: ${hdr}`).toBeDefined();
  };

  it('over UDP', async () => {
    // responses go to the source address and the Via port (5060 when absent): listen there on a 127.x address
    const host = `127.${randomInt(1, 250)}.${randomInt(1, 250)}.${randomInt(1, 250)}`;
    const socks: UdpSocket[] = [];
    const inbox: string[] = [];
    for (const port of [0, 5060]) {
      const so = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        so.once('error', reject);
        so.bind(port, host, () => resolve());
      });
      so.on('message', (d) => inbox.push(d.toString('utf8')));
      socks.push(so);
    }
    try {
      for (const [name, status, hdr] of CASES) {
        const data = readFileSync(`${CORPORA}${name}.dat`);
        const cseq = cseqOf(data.toString('latin1'));
        inbox.length = 0;
        socks[0]!.send(data, s.sipPort, '127.0.0.1');
        await until(() => finalOf(inbox, cseq) !== undefined, 3000);
        check(name, status, hdr, finalOf(inbox, cseq));
        // cparam01/cparam02 share a branch: one transaction (RFC 3261 §17.2.3); let it end
        await until(() => s.engine.stats().serverTransactions === 0, 3000);
      }
    } finally {
      for (const so of socks) so.close();
    }
  });

  it('over TCP', async () => {
    for (const [name, status, hdr] of CASES) {
      const data = readFileSync(`${CORPORA}${name}.dat`);
      const cseq = cseqOf(data.toString('latin1'));
      const so = connect({ host: '127.0.0.1', port: s.sipPort });
      so.on('error', () => undefined);
      await new Promise((r) => so.once('connect', r));
      let got = '';
      so.on('data', (d: Buffer) => (got += d.toString('utf8')));
      so.write(data);
      const split = (): string[] => got.split(/(?=^SIP\/2\.0 \d{3} )/m);
      await until(() => finalOf(split(), cseq) !== undefined, 3000);
      so.destroy();
      check(name, status, hdr, finalOf(split(), cseq));
      await until(() => s.engine.stats().serverTransactions === 0, 3000);
    }
  });
});
