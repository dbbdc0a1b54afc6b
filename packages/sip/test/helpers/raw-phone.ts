/**
 * A small SIP UDP client for tests that need many requests from chosen loopback addresses
 * (127.0.0.x): REGISTER and INVITE with optional digest answers, ACK for non-2xx finals,
 * BYE/CANCEL of what an INVITE started. Not a phone: just enough to drive authentication.
 */
import { createSocket, type Socket } from 'node:dgram';
import { connect as tcpConnect, type Socket as Socket_ } from 'node:net';
import { randomBytes } from 'node:crypto';
import { buildDigestAuthorization, parseChallenge, type DigestAlgorithm } from '@kumo/sip';
import { parseResponse, type WireResponse } from './sip-client.js';

const rnd = (n = 6): string => randomBytes(n).toString('hex');

export interface RawRequest {
  readonly method: 'REGISTER' | 'INVITE';
  readonly user: string;
  readonly domain: string;
  /** INVITE: who is called. */
  readonly target?: string;
  readonly callId?: string;
  readonly cseq?: number;
  readonly authorization?: { readonly header: 'Authorization' | 'Proxy-Authorization'; readonly value: string };
  readonly userAgent?: string;
}

export class RawPhone {
  private readonly waiting = new Map<string, (r: WireResponse) => void>();
  private constructor(
    private readonly sock: Socket,
    readonly address: string,
    readonly port: number,
    private readonly server: { host: string; port: number },
  ) {
    sock.on('message', (b) => {
      const raw = b.toString();
      if (!raw.startsWith('SIP/2.0 ')) return;
      const r = parseResponse(raw);
      if (r.status < 200) return;
      const key = `${r.one('call-id') ?? ''} ${r.one('cseq') ?? ''}`;
      this.waiting.get(key)?.(r);
    });
  }

  static async open(address: string, server: { host: string; port: number }): Promise<RawPhone> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, address, () => r()));
    return new RawPhone(sock, address, sock.address().port, server);
  }

  close(): void {
    this.sock.close();
  }

  /** Sends one request; resolves with its final response, or undefined after `timeoutMs` (a dropped request). */
  async send(q: RawRequest, timeoutMs = 1500): Promise<{ response: WireResponse | undefined; callId: string; cseq: number; branch: string }> {
    const callId = q.callId ?? `raw-${rnd()}`;
    const cseq = q.cseq ?? 1;
    const branch = `z9hG4bK${rnd()}`;
    const ruri = q.method === 'REGISTER' ? `sip:${q.domain}` : `sip:${q.target ?? ''}@${q.domain}`;
    const to = q.method === 'REGISTER' ? `<sip:${q.user}@${q.domain}>` : `<sip:${q.target ?? ''}@${q.domain}>`;
    const sdp =
      q.method === 'INVITE'
        ? `v=0\r\no=- 1 1 IN IP4 ${this.address}\r\ns=-\r\nc=IN IP4 ${this.address}\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`
        : '';
    const lines = [
      `${q.method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.address}:${this.port};branch=${branch};rport`,
      `Max-Forwards: 70`,
      `From: <sip:${q.user}@${q.domain}>;tag=${callId.slice(-8)}`,
      `To: ${to}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${q.method}`,
      `Contact: <sip:${q.user}@${this.address}:${this.port}>`,
      ...(q.method === 'REGISTER' ? ['Expires: 600'] : []),
      ...(q.userAgent !== undefined ? [`User-Agent: ${q.userAgent}`] : []),
      ...(q.authorization ? [`${q.authorization.header}: ${q.authorization.value}`] : []),
      ...(sdp !== '' ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(sdp)}`,
      '',
      sdp,
    ];
    const key = `${callId} ${cseq} ${q.method}`;
    const response = await new Promise<WireResponse | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(key, (r) => {
        clearTimeout(timer);
        this.waiting.delete(key);
        resolve(r);
      });
      this.sock.send(lines.join('\r\n'), this.server.port, this.server.host);
    });
    if (q.method === 'INVITE' && response && response.status >= 300) {
      // ACK for a non-2xx final: the INVITE's branch (RFC 3261 §17.1.1.3).
      const ack = [
        `ACK ${ruri} SIP/2.0`,
        `Via: SIP/2.0/UDP ${this.address}:${this.port};branch=${branch};rport`,
        `Max-Forwards: 70`,
        `From: <sip:${q.user}@${q.domain}>;tag=${callId.slice(-8)}`,
        `To: ${response.one('to') ?? to}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ACK`,
        `Content-Length: 0`,
        '',
        '',
      ];
      this.sock.send(ack.join('\r\n'), this.server.port, this.server.host);
    }
    return { response, callId, cseq, branch };
  }

  /**
   * The whole exchange a phone (or a guesser) does: the request, and when challenged, the request
   * again with an answer computed from `password`. Returns both finals (`challenge` undefined when the
   * first request was not challenged).
   */
  async attempt(
    q: Omit<RawRequest, 'authorization' | 'callId' | 'cseq'>,
    password: string,
    algorithm: DigestAlgorithm = 'MD5',
  ): Promise<{ challenge: WireResponse | undefined; final: WireResponse | undefined }> {
    const first = await this.send(q);
    const r = first.response;
    if (r === undefined || (r.status !== 401 && r.status !== 407)) return { challenge: undefined, final: r };
    const challenges = r.all(r.status === 401 ? 'www-authenticate' : 'proxy-authenticate').map(parseChallenge);
    const ch = challenges.find((c) => c?.algorithm === algorithm) ?? challenges[0];
    if (!ch) throw new Error(`no usable challenge in ${r.raw}`);
    const uri = q.method === 'REGISTER' ? `sip:${q.domain}` : `sip:${q.target ?? ''}@${q.domain}`;
    const value = buildDigestAuthorization({
      algorithm: ch.algorithm,
      username: q.user,
      password,
      realm: ch.realm,
      nonce: ch.nonce,
      method: q.method,
      uri,
      nc: 1,
      cnonce: rnd(),
    });
    const second = await this.send({
      ...q,
      callId: first.callId,
      cseq: first.cseq + 1,
      authorization: { header: r.status === 401 ? 'Authorization' : 'Proxy-Authorization', value },
    });
    return { challenge: r, final: second.response };
  }
}

/** Resolves once something (e.g. a sipp UAS just started) has bound the UDP port; a phone must be listening before it is called. */
export async function udpPortBound(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const taken = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(true);
      });
      s.bind(port, host, () => s.close(() => resolve(false)));
    });
    if (taken) return;
    if (Date.now() > until) throw new Error(`nothing bound udp ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A phone on one TCP connection: REGISTERs (digest MD5) over it, and answers every INVITE that
 * arrives on it with `inviteStatus` (recorded in `invites`). `close()` drops the connection, as a
 * restart of either side would.
 */
export class TcpPhone {
  readonly invites: string[] = [];
  private buf = '';
  private waiter: ((r: WireResponse) => void) | undefined;
  private constructor(
    private readonly sock: Socket_,
    readonly localPort: number,
    private readonly o: { user: string; domain: string; password: string; contact: string; inviteStatus: number },
  ) {
    sock.on('data', (d: Buffer) => {
      this.buf += d.toString();
      for (;;) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(this.buf.slice(0, end))?.[1] ?? 0);
        if (this.buf.length < end + 4 + len) return;
        const msg = this.buf.slice(0, end + 4 + len);
        this.buf = this.buf.slice(end + 4 + len);
        this.onMessage(msg);
      }
    });
    sock.on('error', () => undefined);
  }

  static async open(server: { host: string; port: number }, o: { user: string; domain: string; password: string; contact: string; inviteStatus?: number }): Promise<TcpPhone> {
    const sock = tcpConnect({ host: server.host, port: server.port });
    await new Promise<void>((r, j) => {
      sock.once('connect', () => r());
      sock.once('error', j);
    });
    return new TcpPhone(sock, sock.localPort ?? 0, { inviteStatus: 486, ...o });
  }

  private onMessage(msg: string): void {
    if (msg.startsWith('SIP/2.0 ')) {
      const r = parseResponse(msg);
      if (r.status >= 200) this.waiter?.(r);
      return;
    }
    if (!msg.startsWith('INVITE ')) return;
    this.invites.push(msg);
    const h = (n: string): string => new RegExp(`^${n}:\\s*(.*)$`, 'im').exec(msg)?.[1]?.trim() ?? '';
    const vias = msg.split('\r\n').filter((l) => /^via:/i.test(l));
    const resp = [`SIP/2.0 ${this.o.inviteStatus} Busy Here`, ...vias, `From: ${h('from')}`, `To: ${h('to')};tag=tcp${rnd(3)}`, `Call-ID: ${h('call-id')}`, `CSeq: ${h('cseq')}`, 'Content-Length: 0', '', ''];
    this.sock.write(resp.join('\r\n'));
  }

  /** REGISTER with digest; resolves with the final response. `contactParams` e.g. `;reg-id=1;+sip.instance="<urn:uuid:…>"`. */
  async register(contactParams = ''): Promise<WireResponse> {
    const callId = `tcp-reg-${rnd()}`;
    const send = (cseq: number, auth?: string): Promise<WireResponse> =>
      new Promise((resolve) => {
        this.waiter = resolve;
        const lines = [
          `REGISTER sip:${this.o.domain} SIP/2.0`,
          `Via: SIP/2.0/TCP 127.0.0.1:${this.localPort};branch=z9hG4bK${rnd()};rport`,
          'Max-Forwards: 70',
          `From: <sip:${this.o.user}@${this.o.domain}>;tag=${rnd(4)}`,
          `To: <sip:${this.o.user}@${this.o.domain}>`,
          `Call-ID: ${callId}`,
          `CSeq: ${cseq} REGISTER`,
          `Contact: <${this.o.contact}>${contactParams}`,
          'Expires: 600',
          'User-Agent: tcp-test-phone',
          ...(auth !== undefined ? [`Authorization: ${auth}`] : []),
          'Content-Length: 0',
          '',
          '',
        ];
        this.sock.write(lines.join('\r\n'));
      });
    const first = await send(1);
    if (first.status !== 401) return first;
    const ch = first.all('www-authenticate').map(parseChallenge).find((c) => c?.algorithm === 'MD5');
    if (!ch) throw new Error(`no MD5 challenge in ${first.raw}`);
    return send(2, buildDigestAuthorization({ algorithm: 'MD5', username: this.o.user, password: this.o.password, realm: ch.realm, nonce: ch.nonce, method: 'REGISTER', uri: `sip:${this.o.domain}`, nc: 1, cnonce: rnd() }));
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.sock.once('close', () => r());
      this.sock.destroy();
    });
  }
}

/** Resolves once something listens on the TCP port (e.g. a sipp UAS just started). */
export async function tcpPortListening(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = tcpConnect({ host, port });
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on tcp ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
