/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-srf ships no usable types */
/**
 * SIP over TLS (RFC 3261 §26.2, RFC 5630): a TLS client calls through the engine to an unmodified srf app (INVITE,
 * 100/180/200, ACK, BYE on the one connection; the app sees the transport as tls), and an app's request to a
 * `;transport=tls` target goes out over a TLS connection the engine opens.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@kumo/runtime';
import { startEngine, type EngineHandle } from '../../src/index.js';
import { ANSWER_SDP, connectSrf, disconnectSrf } from '../apps/srf-apps.js';
import { waitFor } from './harness.js';

const header = (text: string, name: string): string | undefined => new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im').exec(text)?.[1]?.trim();

/** Collects SIP messages from a stream (Content-Length framed). */
function reader(s: TLSSocket): string[] {
  const msgs: string[] = [];
  let buf = '';
  s.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Number(header(buf.slice(0, end), '(?:Content-Length|l)') ?? '0');
      if (buf.length < end + 4 + len) return;
      msgs.push(buf.slice(0, end + 4 + len));
      buf = buf.slice(end + 4 + len);
    }
  });
  return msgs;
}

describe('SIP over TLS', () => {
  let dir: string;
  let cert: Buffer;
  let key: Buffer;
  let engine: EngineHandle;
  let srf: any;
  const protocols: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kumo-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
    engine = await startEngine({
      listen: [{ proto: 'tls', host: '127.0.0.1', port: 0 }],
      control: { host: '127.0.0.1', port: 0 },
      secret: 'cymru',
      log: silentLogger(),
      // the test's UAS presents the same self-signed certificate; trust it by not verifying
      tls: { cert, key, verify: false },
    });
    srf = await connectSrf(engine.control.port);
    srf.invite((req: any, res: any) => {
      protocols.push(String(req.protocol));
      res.send(180);
      srf.createUAS(req, res, { localSdp: ANSWER_SDP }).catch(() => undefined);
    });
    await waitFor(() => engine.stats().apps === 1);
  });
  afterAll(async () => {
    disconnectSrf(srf);
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a call from a TLS client: every message on the one connection, Contact and Via say TLS, the app sees tls', async () => {
    const port = engine.sip[0]!.port;
    expect(engine.sip[0]!.proto).toBe('tls');
    const s = tlsConnect({ host: '127.0.0.1', port, ca: cert, servername: '127.0.0.1' });
    await new Promise((r, j) => {
      s.once('secureConnect', r);
      s.once('error', j);
    });
    const got = reader(s);
    const local = `127.0.0.1:${s.localPort}`;
    const common = (method: string, cseq: number, branch: string, toTag = ''): string[] => [
      `Via: SIP/2.0/TLS ${local};rport;branch=${branch}`,
      'Max-Forwards: 70',
      'From: <sip:alice@127.0.0.1>;tag=a1',
      `To: <sip:service@127.0.0.1>${toTag}`,
      'Call-ID: tls-call-1',
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:alice@${local};transport=tls>`,
    ];
    const sdp = ANSWER_SDP;
    s.write([`INVITE sip:service@127.0.0.1:${port};transport=tls SIP/2.0`, ...common('INVITE', 1, 'z9hG4bK-tls-1'), 'Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(sdp)}`, '', sdp].join('\r\n'));
    await waitFor(() => got.some((m) => m.startsWith('SIP/2.0 200 ')));
    // the app answers at once, so the stack's 100 Trying is not needed (RFC 3261 §17.2.1) and may be absent
    expect(got.map((m) => m.split('\r\n')[0]).filter((l) => l !== 'SIP/2.0 100 Trying')).toEqual(['SIP/2.0 180 Ringing', 'SIP/2.0 200 OK']);
    const ok = got.find((m) => m.startsWith('SIP/2.0 200 '))!;
    expect(header(ok, 'Contact')).toMatch(/;transport=tls/);
    expect(header(ok, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
    expect(protocols).toEqual(['tls']);
    const toTag = /;tag=[^;>\s]+/.exec(header(ok, 'To') ?? '')?.[0] ?? '';
    s.write([`ACK sip:service@127.0.0.1:${port};transport=tls SIP/2.0`, ...common('ACK', 1, 'z9hG4bK-tls-2', toTag), 'Content-Length: 0', '', ''].join('\r\n'));
    await waitFor(() => engine.stats().dialogs === 1);
    s.write([`BYE sip:service@127.0.0.1:${port};transport=tls SIP/2.0`, ...common('BYE', 2, 'z9hG4bK-tls-3', toTag), 'Content-Length: 0', '', ''].join('\r\n'));
    await waitFor(() => got.some((m) => m.startsWith('SIP/2.0 200 ') && / BYE/.test(header(m, 'CSeq') ?? '')));
    await waitFor(() => engine.stats().dialogs === 0);
    s.destroy();
  });

  it('an app request to a transport=tls target goes out over a TLS connection the engine opens', async () => {
    let uas!: TlsServer;
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      uas = createTlsServer({ cert, key }, (s) => {
        const msgs = reader(s);
        const t = setInterval(() => {
          const inv = msgs.shift();
          if (inv === undefined) return;
          seen.push(inv);
          if (!inv.startsWith('INVITE ')) return;
          const to = `${header(inv, 'To') ?? ''};tag=uas1`;
          s.write([`SIP/2.0 486 Busy Here`, `Via: ${header(inv, 'Via')}`, `From: ${header(inv, 'From')}`, `To: ${to}`, `Call-ID: ${header(inv, 'Call-ID')}`, `CSeq: ${header(inv, 'CSeq')}`, 'Content-Length: 0', '', ''].join('\r\n'));
        }, 10);
        s.on('close', () => clearInterval(t));
        s.on('error', () => undefined);
      }).listen(0, '127.0.0.1', () => resolve());
    });
    const port = (uas.address() as { port: number }).port;
    await expect(srf.createUAC(`sip:bob@127.0.0.1:${port};transport=tls`, { localSdp: ANSWER_SDP })).rejects.toMatchObject({ status: 486 });
    await waitFor(() => seen.some((m) => m.startsWith('ACK ')));
    expect(header(seen[0]!, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
    expect(header(seen[0]!, 'Contact')).toMatch(/;transport=tls/);
    uas.close();
  });
});
