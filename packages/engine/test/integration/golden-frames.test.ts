/**
 * Wire-level golden tests: the frames the engine sends for the exchanges captured between drachtio-srf and the
 * real drachtio-server (docs: drachtio-protocol.md §1.5), compared field by field (ids, times and ports aside).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameReader, encodeFrame, splitPayload } from '../../src/index.js';
import { startStack, type Stack } from './harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TIME = /^\d\d:\d\d:\d\d\.\d{6}$/;
const CRLF = '\r\n';

class RawApp {
  private readonly reader = new FrameReader();
  private readonly queue: string[] = [];
  private waiters: ((f: string) => void)[] = [];
  private n = 0;
  constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      for (const f of this.reader.push(d)) {
        const w = this.waiters.shift();
        if (w) w(f);
        else this.queue.push(f);
      }
    });
  }
  static async open(port: number): Promise<RawApp> {
    const s = connect({ host: '127.0.0.1', port });
    await new Promise((r) => s.once('connect', r));
    return new RawApp(s);
  }
  send(rest: string): string {
    const id = `00000000-0000-4000-8000-${String(++this.n).padStart(12, '0')}`;
    this.sock.write(encodeFrame(`${id}|${rest}`));
    return id;
  }
  next(ms = 3000): Promise<{ tokens: string[]; body: string | undefined }> {
    const f = this.queue.shift();
    if (f !== undefined) return Promise.resolve(splitPayload(f));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no frame')), ms);
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(splitPayload(x));
      });
    });
  }
}

class Peer {
  private readonly queue: string[] = [];
  private waiters: ((m: string) => void)[] = [];
  constructor(readonly sock: UdpSocket) {
    sock.on('message', (m) => {
      const s = m.toString();
      const w = this.waiters.shift();
      if (w) w(s);
      else this.queue.push(s);
    });
  }
  static async open(): Promise<Peer> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new Peer(s);
  }
  get port(): number {
    return this.sock.address().port;
  }
  send(text: string, port: number): void {
    this.sock.send(Buffer.from(text.replace(/\n/g, CRLF)), port, '127.0.0.1');
  }
  next(ms = 3000): Promise<string> {
    const f = this.queue.shift();
    if (f !== undefined) return Promise.resolve(f);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no datagram')), ms);
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }
}

function header(msg: string, name: string): string | undefined {
  const re = new RegExp(`^${name}:\\s*(.*)$`, 'im');
  return re.exec(msg)?.[1]?.trim();
}

const SDP = 'v=0\no=user1 53655765 2353687637 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 6000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n';

describe('golden frames (drachtio-protocol.md §1.5)', () => {
  let stack: Stack;
  let app: RawApp;
  let peer: Peer;

  beforeAll(async () => {
    stack = await startStack();
    app = await RawApp.open(stack.controlPort);
    peer = await Peer.open();
  });
  afterAll(async () => {
    app.sock.destroy();
    peer.sock.close();
    await stack.engine.close();
  });

  it('authenticate, route and ping replies', async () => {
    const auth = app.send('authenticate|cymru|');
    const a = await app.next();
    expect(a.tokens[0]).toMatch(UUID);
    expect(a.tokens.slice(1, 4)).toEqual(['response', auth, 'OK']);
    const hostports = `udp/127.0.0.1:${stack.sipPort},tcp/127.0.0.1:${stack.sipPort}`;
    expect(a.tokens[4]).toBe(hostports);
    expect(a.tokens[5]).toMatch(/^v\d+\.\d+\.\d+/);
    expect(a.tokens[6]).toBe(hostports);
    expect(a.tokens).toHaveLength(7);
    const r = app.send('route|invite');
    expect((await app.next()).tokens.slice(1)).toEqual(['response', r, 'OK']);
    const p = app.send('ping');
    expect((await app.next()).tokens.slice(1)).toEqual(['response', p, 'OK', 'pong']);
  });

  let txnId = '';
  let dialogId = '';
  const callId = '1-29586@127.0.0.1';
  const fromTag = '29586SIPpTag001';

  it('new INVITE: the sip frame with receivedOn tokens, and the 100 Trying (the app has not answered within the delay)', async () => {
    const body = SDP.replace(/\n/g, CRLF);
    peer.send(
      `INVITE sip:service@127.0.0.1:${stack.sipPort} SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-29586-1-0;rport\nFrom: sipp <sip:sipp@127.0.0.1:${peer.port}>;tag=${fromTag}\nTo: service <sip:service@127.0.0.1:${stack.sipPort}>\nCall-ID: ${callId}\nCSeq: 1 INVITE\nContact: sip:sipp@127.0.0.1:${peer.port}\nMax-Forwards: 70\nContent-Type: application/sdp\nContent-Length: ${body.length}\n\n${SDP}`,
      stack.sipPort,
    );
    const trying = await peer.next();
    expect(trying.startsWith('SIP/2.0 100 Trying')).toBe(true);
    const f = await app.next();
    const t = f.tokens;
    expect(t).toHaveLength(13);
    expect(t[1]).toBe('sip');
    expect(t[2]).toBe('network');
    expect(Number(t[3])).toBe(Buffer.byteLength(f.body ?? ''));
    expect(t.slice(4, 7)).toEqual(['udp', '127.0.0.1', String(peer.port)]);
    expect(t[7]).toMatch(TIME);
    expect(t[8]).toMatch(UUID);
    expect(t.slice(9)).toEqual(['', '127.0.0.1', String(stack.sipPort), '']);
    expect(f.body?.startsWith(`INVITE sip:service@127.0.0.1:${stack.sipPort} SIP/2.0\r\n`)).toBe(true);
    expect(header(f.body ?? '', 'Via')).toBe(`SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-29586-1-0;rport=${peer.port}`);
    txnId = t[8] as string;
  });

  it("the app's bare 200 gets Via, To-tag, Contact and Content-Type, echoed with the dialog id", async () => {
    const body = 'v=0\r\no=kumo 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
    const rid = app.send(
      `sip|${txnId}|${CRLF}SIP/2.0 200 OK${CRLF}Call-ID: ${callId}${CRLF}cseq: 1 INVITE${CRLF}from: sipp <sip:sipp@127.0.0.1:${peer.port}>;tag=${fromTag}${CRLF}to: service <sip:service@127.0.0.1:${stack.sipPort}>${CRLF}Content-Length: ${body.length}${CRLF}${CRLF}${body}`,
    );
    const f = await app.next();
    const t = f.tokens;
    expect(t.slice(1, 5)).toEqual(['response', rid, 'OK', 'application']);
    expect(Number(t[5])).toBe(Buffer.byteLength(f.body ?? ''));
    expect(t.slice(6, 9)).toEqual(['udp', '127.0.0.1', String(peer.port)]);
    expect(t[9]).toMatch(TIME);
    expect(t[10]).toBe(txnId);
    expect(t[11]).toBe(`${callId};from-tag=${fromTag}`);
    expect(t.slice(12)).toEqual(['', 'Msg sent:', '']);
    dialogId = t[11] as string;
    const sent = f.body ?? '';
    const wire = await peer.next();
    expect(wire).toBe(sent);
    expect(sent.startsWith('SIP/2.0 200 OK\r\n')).toBe(true);
    expect(header(sent, 'Via')).toBe(`SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-29586-1-0;rport=${peer.port}`);
    expect(header(sent, 'To')).toMatch(new RegExp(`^service <sip:service@127\\.0\\.0\\.1:${stack.sipPort}>;tag=[A-Za-z0-9]+$`));
    expect(header(sent, 'Contact')).toBe(`<sip:127.0.0.1:${stack.sipPort}>`);
    expect(header(sent, 'Content-Type')).toBe('application/sdp');
    expect(header(sent, 'Content-Length')).toBe(String(body.length));
    const toTag = /tag=([A-Za-z0-9]+)$/.exec(header(sent, 'To') ?? '')?.[1] ?? '';

    // ACK: the INVITE's txn id, the dialog id, an empty proto token (as captured)
    peer.send(
      `ACK sip:service@127.0.0.1:${stack.sipPort} SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-29586-1-5;rport\nFrom: sipp <sip:sipp@127.0.0.1:${peer.port}>;tag=${fromTag}\nTo: service <sip:service@127.0.0.1:${stack.sipPort}>;tag=${toTag}\nCall-ID: ${callId}\nCSeq: 1 ACK\nMax-Forwards: 70\nContent-Length: 0\n\n`,
      stack.sipPort,
    );
    const ack = await app.next();
    expect(ack.tokens.slice(1, 3)).toEqual(['sip', 'network']);
    expect(ack.tokens[4]).toBe('');
    expect(ack.tokens.slice(8)).toEqual([txnId, dialogId, '']);
    expect(ack.body?.startsWith('ACK ')).toBe(true);

    // BYE: a new txn id, the same dialog id; the app's 200 echoed
    peer.send(
      `BYE sip:service@127.0.0.1:${stack.sipPort} SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-29586-1-7;rport\nFrom: sipp <sip:sipp@127.0.0.1:${peer.port}>;tag=${fromTag}\nTo: service <sip:service@127.0.0.1:${stack.sipPort}>;tag=${toTag}\nCall-ID: ${callId}\nCSeq: 2 BYE\nMax-Forwards: 70\nContent-Length: 0\n\n`,
      stack.sipPort,
    );
    const bye = await app.next();
    expect(bye.tokens.slice(1, 5)).toEqual(['sip', 'network', String(Buffer.byteLength(bye.body ?? '')), 'udp']);
    expect(bye.tokens[8]).toMatch(UUID);
    expect(bye.tokens[8]).not.toBe(txnId);
    expect(bye.tokens.slice(9)).toEqual([dialogId, '']);
    const r2 = app.send(`sip|${bye.tokens[8]}|${CRLF}SIP/2.0 200 OK${CRLF}Call-ID: ${callId}${CRLF}cseq: 2 BYE${CRLF}from: x${CRLF}to: y;tag=${toTag}${CRLF}Content-Length: 0${CRLF}${CRLF}`);
    const echo = await app.next();
    expect(echo.tokens.slice(1, 4)).toEqual(['response', r2, 'OK']);
    expect((await peer.next()).startsWith('SIP/2.0 200 OK')).toBe(true);
    expect(stack.engine.stats().dialogs).toBe(0);
  });

  it('app as UAC: defaults filled in, @localhost rewritten, responses tagged with the assigned txn id, ACK built from the dialog', async () => {
    const body = 'v=0\r\no=kumo 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
    const rid = app.send(`sip||${CRLF}INVITE sip:service@127.0.0.1:${peer.port} SIP/2.0${CRLF}from: sip:sipp@localhost${CRLF}contact: sip:sipp@localhost${CRLF}Content-Length: ${body.length}${CRLF}${CRLF}${body}`);
    const f = await app.next();
    const t = f.tokens;
    expect(t.slice(1, 5)).toEqual(['response', rid, 'OK', 'application']);
    expect(t.slice(6, 9)).toEqual(['udp', '127.0.0.1', String(peer.port)]);
    expect(t[9]).toMatch(TIME);
    expect(t[10]).toMatch(UUID);
    expect(t.slice(11)).toEqual(['Msg sent:', '']);
    const uacTxn = t[10] as string;
    const inv = f.body ?? '';
    expect(await peer.next()).toBe(inv);
    expect(header(inv, 'Via')).toMatch(new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${stack.sipPort};rport;branch=z9hG4bK\\S+$`));
    expect(header(inv, 'From')).toMatch(new RegExp(`^<sip:sipp@127\\.0\\.0\\.1:${stack.sipPort}>;tag=\\S+$`));
    expect(header(inv, 'To')).toBe(`<sip:service@127.0.0.1:${peer.port}>`);
    expect(header(inv, 'Call-ID')).toMatch(/\S+/);
    expect(header(inv, 'CSeq')).toMatch(/^\d+ INVITE$/);
    expect(header(inv, 'Contact')).toBe(`<sip:sipp@127.0.0.1:${stack.sipPort}>`);
    expect(header(inv, 'Max-Forwards')).toBe('70');
    expect(header(inv, 'Content-Type')).toBe('application/sdp');
    const cid = header(inv, 'Call-ID') ?? '';
    const ftag = /tag=(\S+)$/.exec(header(inv, 'From') ?? '')?.[1] ?? '';
    const seq = (header(inv, 'CSeq') ?? '').split(' ')[0];
    const via = header(inv, 'Via') ?? '';
    peer.send(
      `SIP/2.0 200 OK\nVia: ${via}\nFrom: ${header(inv, 'From')}\nTo: <sip:service@127.0.0.1:${peer.port}>;tag=peer1\nCall-ID: ${cid}\nCSeq: ${seq} INVITE\nContact: <sip:service@127.0.0.1:${peer.port}>\nContent-Type: application/sdp\nContent-Length: ${body.length}\n\n${body.replace(/\r\n/g, '\n')}`,
      stack.sipPort,
    );
    const ok = await app.next();
    const uacDialog = `${cid};from-tag=${ftag}`;
    expect(ok.tokens.slice(1, 3)).toEqual(['sip', 'network']);
    expect(ok.tokens.slice(4, 7)).toEqual(['udp', '127.0.0.1', String(peer.port)]);
    expect(ok.tokens.slice(8)).toEqual([uacTxn, uacDialog, '']);
    const r2 = app.send(`sip||${uacDialog}${CRLF}ACK sip:service@127.0.0.1:${peer.port} SIP/2.0${CRLF}Content-Length: 0${CRLF}${CRLF}`);
    const ackEcho = await app.next();
    expect(ackEcho.tokens.slice(1, 4)).toEqual(['response', r2, 'OK']);
    const ack = await peer.next();
    expect(ack.startsWith(`ACK sip:service@127.0.0.1:${peer.port} SIP/2.0\r\n`)).toBe(true);
    expect(header(ack, 'CSeq')).toBe(`${seq} ACK`);
    expect(header(ack, 'To')).toBe(`<sip:service@127.0.0.1:${peer.port}>;tag=peer1`);
    expect(header(ack, 'Call-ID')).toBe(cid);
  });

  it('CANCEL after the app sent 180: 200 and 487 by the engine, the app told with the txn and dialog ids', async () => {
    const cid = 'golden-cancel-1';
    const inviteText = `INVITE sip:service@127.0.0.1:${stack.sipPort} SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-c-1;rport\nFrom: sipp <sip:sipp@127.0.0.1:${peer.port}>;tag=ctag\nTo: <sip:service@127.0.0.1:${stack.sipPort}>\nCall-ID: ${cid}\nCSeq: 1 INVITE\nContact: <sip:sipp@127.0.0.1:${peer.port}>\nMax-Forwards: 70\nContent-Length: 0\n\n`;
    peer.send(inviteText, stack.sipPort);
    await peer.next(); // 100
    const inv = await app.next();
    const tx = inv.tokens[8] as string;
    const rel = app.send(`sip|${tx}|${CRLF}SIP/2.0 183 Session Progress${CRLF}Require: 100rel${CRLF}Content-Length: 0${CRLF}${CRLF}`);
    expect((await app.next()).tokens.slice(1, 5)).toEqual(['response', rel, 'NOK', 'reliable provisional responses (100rel/PRACK) are not supported by the Kumo engine']);
    app.send(`sip|${tx}|${CRLF}SIP/2.0 180 Ringing${CRLF}Call-ID: ${cid}${CRLF}cseq: 1 INVITE${CRLF}Content-Length: 0${CRLF}${CRLF}`);
    await app.next(); // echo
    await peer.next(); // 180
    peer.send(inviteText.replace('INVITE sip', 'CANCEL sip').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL'), stack.sipPort);
    const got = [await peer.next(), await peer.next()].map((m) => m.split('\r\n')[0]).sort();
    expect(got).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 487 Request Terminated']);
    const c = await app.next();
    expect(c.tokens.slice(1, 3)).toEqual(['sip', 'network']);
    expect(c.tokens.slice(8)).toEqual([tx, `${cid};from-tag=ctag`, '']);
    expect(c.body?.startsWith('CANCEL ')).toBe(true);
    // a late final response from the app is refused
    const late = app.send(`sip|${tx}|${CRLF}SIP/2.0 200 OK${CRLF}Call-ID: ${cid}${CRLF}cseq: 1 INVITE${CRLF}Content-Length: 0${CRLF}${CRLF}`);
    const nok = await app.next();
    expect(nok.tokens.slice(1, 4)).toEqual(['response', late, 'NOK']);
  });

  it('bad secret: NO, then the connection is closed', async () => {
    const bad = await RawApp.open(stack.controlPort);
    const id = bad.send('authenticate|wrong|');
    expect((await bad.next()).tokens.slice(1, 5)).toEqual(['response', id, 'NO', 'incorrect secret']);
    await new Promise((r) => bad.sock.once('close', r));
  });

  it('a 6-digit frame length closes the connection', async () => {
    const raw = await RawApp.open(stack.controlPort);
    raw.sock.write('100000#x');
    await new Promise((r) => raw.sock.once('close', r));
  });
});
