/**
 * A minimal SIP user agent for synthetic probes, over UDP or TCP. Over UDP client transactions retransmit per RFC 3261
 * timer A until the first response (INVITE) or the final one; over TCP (one connection per target, messages framed by
 * Content-Length, §18.3) nothing is retransmitted. Each resolves with the final response or throws on timeout; the
 * ACK for a non-2xx final response to INVITE goes on the INVITE's branch (§17.1.1.3).
 *
 * Besides OPTIONS it plays the probe account (docs/operations.md, "Probe account"): an authenticated REGISTER
 * (digest, answering the challenge with the shared computation in @kumo/store), and the test call loop, where it is
 * both ends: probe A calls probe B through an engine, the same socket answers as B (180, 200 with SDP), A ACKs and
 * hangs up (BYE), B answers the BYE.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { connect, isIPv6, type Socket } from 'node:net';
import { buildDigestAuthorization, parseChallenge } from '@kumo/store';

export interface SipTarget {
  readonly host: string;
  readonly port: number;
  /** Default udp. */
  readonly transport?: 'udp' | 'tcp';
}

/** How one target is reached: where replies come back, and whether the transport is reliable (no retransmissions). */
interface Link {
  readonly proto: 'UDP' | 'TCP';
  readonly localHost: string;
  readonly localPort: number;
  send(msg: Buffer): void;
}

export interface ProbeAnswer {
  readonly status: number;
  readonly ms: number;
}

export interface ProbeCredentials {
  readonly user: string;
  readonly password: string;
  readonly domain: string;
}

interface Final {
  readonly status: number;
  readonly raw: string;
  readonly ms: number;
}

interface Pending {
  resolve(f: Final): void;
  reject(e: Error): void;
  started: number;
  provisional(): void;
}

type Family = 'udp4' | 'udp6';

const rand = (n = 8): string => randomBytes(n).toString('hex');
const hostOf = (h: string): string => (isIPv6(h) ? `[${h}]` : h);
const familyOf = (h: string): Family => (isIPv6(h) ? 'udp6' : 'udp4');
const isTcp = (t: SipTarget): boolean => t.transport === 'tcp';

/** Whole SIP messages at the front of a TCP stream (framed by Content-Length), and what is left (§18.3). */
export function takeMessages(buf: Buffer): { messages: string[]; rest: Buffer } {
  const messages: string[] = [];
  let b = buf;
  for (;;) {
    while (b.length >= 2 && b[0] === 0x0d && b[1] === 0x0a) b = b.subarray(2); // keep-alive CRLFs
    const end = b.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = b.subarray(0, end).toString('utf8');
    const len = Number(/^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head)?.[1] ?? 0);
    if (b.length < end + 4 + len) break;
    messages.push(b.subarray(0, end + 4 + len).toString('utf8'));
    b = b.subarray(end + 4 + len);
  }
  return { messages, rest: b };
}

/** All values of one header (compact forms too), in order. */
function headers(raw: string, name: string, compact?: string): string[] {
  const head = raw.split('\r\n\r\n')[0] ?? '';
  const names = [name.toLowerCase(), ...(compact ? [compact] : [])];
  const out: string[] = [];
  for (const line of head.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0 && names.includes(line.slice(0, i).trim().toLowerCase())) out.push(line.slice(i + 1).trim());
  }
  return out;
}
const header = (raw: string, name: string, compact?: string): string | undefined => headers(raw, name, compact)[0];
const uriIn = (v: string): string => /<([^>]+)>/.exec(v)?.[1] ?? v.split(';')[0]?.trim() ?? v;

export class SipProbeClient {
  private readonly sockets = new Map<Family, Promise<dgram.Socket>>();
  private readonly conns = new Map<string, Promise<Socket>>();
  private readonly pending = new Map<string, Pending>();
  private readonly localHosts = new Map<string, Promise<string>>();
  /** Contact user → contact host:port, for the INVITEs the call loop currently expects (probe B's bindings). */
  private readonly callees = new Map<string, string>();

  private socket(family: Family): Promise<dgram.Socket> {
    let p = this.sockets.get(family);
    if (!p) {
      const s = dgram.createSocket(family);
      s.on('message', (buf, rinfo) => this.onMessage(buf.toString('utf8'), rinfo.address, (m) => s.send(m, rinfo.port, rinfo.address)));
      s.on('error', () => undefined);
      s.unref();
      p = new Promise((resolve) => s.bind(0, family === 'udp4' ? '0.0.0.0' : '::', () => resolve(s)));
      this.sockets.set(family, p);
    }
    return p;
  }

  /** The TCP connection to `t` (opened on first use, dropped when it closes); requests for probe B come back on it. */
  private conn(t: SipTarget): Promise<Socket> {
    const key = `${t.host}:${t.port}`;
    let p = this.conns.get(key);
    if (!p) {
      p = new Promise<Socket>((resolve, reject) => {
        const c = connect({ host: t.host, port: t.port });
        let buf: Buffer = Buffer.alloc(0);
        c.setNoDelay(true);
        c.once('connect', () => resolve(c));
        c.on('data', (d: Buffer) => {
          const { messages, rest } = takeMessages(buf.length === 0 ? d : Buffer.concat([buf, d]));
          buf = rest;
          for (const m of messages) this.onMessage(m, c.remoteAddress ?? t.host, (out) => c.write(out));
        });
        c.on('error', (err) => reject(err));
        c.on('close', () => {
          if (this.conns.get(key) === p) this.conns.delete(key);
        });
        c.unref();
      });
      p.catch(() => {
        if (this.conns.get(key) === p) this.conns.delete(key);
      });
      this.conns.set(key, p);
    }
    return p;
  }

  private async link(t: SipTarget): Promise<Link> {
    if (isTcp(t)) {
      const c = await this.conn(t);
      return { proto: 'TCP', localHost: c.localAddress ?? '127.0.0.1', localPort: c.localPort ?? 0, send: (m) => void c.write(m) };
    }
    const sock = await this.socket(familyOf(t.host));
    return { proto: 'UDP', localHost: await this.localHost(t), localPort: sock.address().port, send: (m) => sock.send(m, t.port, t.host) };
  }

  /** The local address the kernel routes towards `t` (what the engine can send back to). */
  private localHost(t: SipTarget): Promise<string> {
    let p = this.localHosts.get(t.host);
    if (!p) {
      p = new Promise<string>((resolve) => {
        const s = dgram.createSocket(familyOf(t.host));
        s.on('error', () => {
          s.close();
          resolve(familyOf(t.host) === 'udp4' ? '127.0.0.1' : '::1');
        });
        s.connect(t.port, t.host, () => {
          const a = s.address().address;
          s.close();
          resolve(a);
        });
      });
      this.localHosts.set(t.host, p);
    }
    return p;
  }

  private onMessage(raw: string, peer: string, respond: (msg: Buffer) => void): void {
    const m = /^SIP\/2\.0 (\d{3})/.exec(raw);
    if (!m) {
      this.onRequest(raw, peer, respond);
      return;
    }
    const branch = /;branch=([^;,\s]+)/.exec(header(raw, 'Via', 'v') ?? '')?.[1];
    const p = branch === undefined ? undefined : this.pending.get(branch);
    if (!p || branch === undefined) return;
    const status = Number(m[1]);
    if (status < 200) {
      p.provisional();
      return;
    }
    this.pending.delete(branch);
    p.resolve({ status, raw, ms: performance.now() - p.started });
  }

  /** Probe B's side: answers the INVITE the engine forwards (180, 200 with SDP), BYE, OPTIONS and CANCEL. */
  private onRequest(raw: string, peer: string, respond: (msg: Buffer) => void): void {
    const line = /^([A-Z]+) (\S+) SIP\/2\.0\r\n/.exec(raw);
    if (!line) return;
    const [, method, ruri] = line as unknown as [string, string, string];
    if (method === 'ACK') return;
    const reply = (status: number, text: string, extra: string[] = [], body = ''): void => {
      let to = header(raw, 'To', 't') ?? '';
      if (!/;tag=/.test(to)) to += `;tag=${toTagOf(header(raw, 'Call-ID', 'i') ?? '')}`;
      const msg = [
        `SIP/2.0 ${status} ${text}`,
        ...headers(raw, 'Via', 'v').map((v) => `Via: ${v}`),
        `From: ${header(raw, 'From', 'f') ?? ''}`,
        `To: ${to}`,
        `Call-ID: ${header(raw, 'Call-ID', 'i') ?? ''}`,
        `CSeq: ${header(raw, 'CSeq') ?? ''}`,
        ...extra,
        'User-Agent: kumo-ops-probe',
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n');
      respond(Buffer.from(msg));
    };
    if (method !== 'INVITE') {
      reply(200, 'OK');
      return;
    }
    const user = /^sips?:([^@;]+)@/.exec(ruri)?.[1];
    const at = user === undefined ? undefined : this.callees.get(user);
    if (user === undefined || at === undefined) {
      reply(480, 'Temporarily Unavailable');
      return;
    }
    const contact = `Contact: <sip:${user}@${at}>`;
    reply(180, 'Ringing', [contact]);
    reply(200, 'OK', [contact, 'Content-Type: application/sdp'], sdp(peer));
  }

  /** One client transaction: sends what `build` makes for the branch (retransmitting), resolves with the final response. */
  private async transact(t: SipTarget, build: (via: string) => string, invite: boolean, timeoutMs: number, what: string): Promise<Final & { via: string }> {
    const l = await this.link(t);
    const branch = `z9hG4bK${rand()}`;
    const via = `SIP/2.0/${l.proto} ${hostOf(l.localHost)}:${l.localPort};branch=${branch};rport`;
    const msg = Buffer.from(build(via));
    return new Promise((resolve, reject) => {
      let interval = 500;
      let timer: NodeJS.Timeout | undefined;
      // Timer A over UDP only: a reliable transport delivers the one copy (§17.1.1.2).
      const retransmit = (): void => {
        l.send(msg);
        if (l.proto === 'TCP') return;
        interval = Math.min(interval * 2, 4000);
        timer = setTimeout(retransmit, interval);
      };
      const deadline = setTimeout(() => {
        clearTimeout(timer);
        this.pending.delete(branch);
        reject(new Error(`no answer to ${what} from ${hostOf(t.host)}:${t.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(branch, {
        started: performance.now(),
        provisional: () => {
          if (invite) clearTimeout(timer);
        },
        resolve: (f) => {
          clearTimeout(timer);
          clearTimeout(deadline);
          resolve({ ...f, via });
        },
        reject,
      });
      retransmit();
    });
  }

  private async sendOnce(t: SipTarget, msg: string): Promise<void> {
    (await this.link(t)).send(Buffer.from(msg));
  }

  /** One out-of-dialog request (OPTIONS, or an unauthenticated REGISTER/INVITE); resolves with the final status. */
  async request(t: SipTarget, method: 'OPTIONS' | 'REGISTER' | 'INVITE', timeoutMs: number, user = 'kumo-probe'): Promise<ProbeAnswer> {
    const ruri = method === 'REGISTER' ? `sip:${hostOf(t.host)}:${t.port}` : `sip:${user}@${hostOf(t.host)}:${t.port}`;
    const d = new Dialog(ruri, `<sip:${user}@kumo.invalid>`, method === 'REGISTER' ? `<sip:${user}@kumo.invalid>` : `<${ruri}>`);
    const f = await this.transact(t, (via) => d.request(method, via, 1), method === 'INVITE', timeoutMs, method);
    if (method === 'INVITE') await this.sendOnce(t, d.ack(f, 1));
    return { status: f.status, ms: f.ms };
  }

  /**
   * Authenticated REGISTER of `c` through engine `t` (challenge answered with the digest). `contactUser` and
   * `expires` make the binding; expires 0 removes it. Throws unless the final answer is 200.
   */
  async register(t: SipTarget, c: ProbeCredentials, o: { contactUser: string; expires: number; timeoutMs: number }): Promise<ProbeAnswer> {
    const started = performance.now();
    const l = await this.link(t);
    const aor = `<sip:${c.user}@${c.domain}>`;
    const d = new Dialog(`sip:${c.domain}`, aor, aor);
    const extra = [`Contact: <sip:${o.contactUser}@${contactAt(l)}>`, `Expires: ${o.expires}`];
    const f = await this.authenticated(t, d, 'REGISTER', c, extra, '', o.timeoutMs, started);
    if (f.status !== 200) throw new Error(`REGISTER ${c.user}@${c.domain} answered ${f.status}`);
    return { status: f.status, ms: performance.now() - started };
  }

  /**
   * The test call loop through engine `t`: registers B (a contact only this loop answers), A calls B, B answers,
   * A hangs up, then B's binding is removed. Resolves with the setup time (INVITE sent → 200 received, challenge
   * included); throws with the failing step.
   */
  async callLoop(t: SipTarget, a: ProbeCredentials, b: ProbeCredentials, timeoutMs: number): Promise<{ setupMs: number }> {
    const contactUser = `${b.user}-${rand(4)}`;
    const l = await this.link(t);
    this.callees.set(contactUser, contactAt(l));
    try {
      await this.register(t, b, { contactUser, expires: 60, timeoutMs });
      try {
        const started = performance.now();
        const d = new Dialog(`sip:${b.user}@${b.domain}`, `<sip:${a.user}@${a.domain}>`, `<sip:${b.user}@${b.domain}>`);
        const extra = [`Contact: <sip:${a.user}@${contactAt(l)}>`, 'Content-Type: application/sdp'];
        const f = await this.authenticated(t, d, 'INVITE', a, extra, sdp(l.localHost), timeoutMs, started);
        if (f.status !== 200) throw new Error(`test call ${a.user} → ${b.user} answered ${f.status}`);
        const setupMs = performance.now() - started;
        d.established(f);
        await this.sendOnce(t, d.ack(f, d.cseq));
        const bye = await this.transact(t, (via) => d.request('BYE', via, d.cseq + 1), false, timeoutMs, 'BYE');
        if (bye.status !== 200) throw new Error(`BYE of the test call answered ${bye.status}`);
        return { setupMs };
      } finally {
        await this.register(t, b, { contactUser, expires: 0, timeoutMs }).catch(() => undefined);
      }
    } finally {
      this.callees.delete(contactUser);
    }
  }

  /** Sends `method`; answers one 401/407 with the digest of `c` (CSeq + 1, new branch). */
  private async authenticated(
    t: SipTarget, d: Dialog, method: 'REGISTER' | 'INVITE', c: ProbeCredentials, extra: string[], body: string, timeoutMs: number, started: number,
  ): Promise<Final & { via: string }> {
    const left = (): number => Math.max(1, timeoutMs - (performance.now() - started));
    const first = await this.transact(t, (via) => d.request(method, via, 1, extra, body), method === 'INVITE', left(), method);
    if (method === 'INVITE' && first.status >= 300) await this.sendOnce(t, d.ack(first, 1));
    if (first.status !== 401 && first.status !== 407) return first;
    const hdr = first.status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const ch = headers(first.raw, hdr).map(parseChallenge).find((x) => x !== null);
    if (!ch) throw new Error(`${method}: ${first.status} without a usable digest challenge`);
    const auth = buildDigestAuthorization({
      algorithm: ch.algorithm, username: c.user, password: c.password, realm: ch.realm, nonce: ch.nonce,
      method, uri: d.ruri, nc: 1, cnonce: rand(8),
    });
    const authHdr = `${first.status === 401 ? 'Authorization' : 'Proxy-Authorization'}: ${auth}`;
    d.cseq = 2;
    const second = await this.transact(t, (via) => d.request(method, via, 2, [authHdr, ...extra], body), method === 'INVITE', left(), `authenticated ${method}`);
    if (method === 'INVITE' && second.status >= 300) await this.sendOnce(t, d.ack(second, 2));
    return second;
  }

  close(): void {
    for (const p of this.sockets.values()) void p.then((s) => s.close());
    this.sockets.clear();
    for (const p of this.conns.values()) p.then((c) => c.destroy(), () => undefined);
    this.conns.clear();
    for (const p of this.pending.values()) p.reject(new Error('probe client closed'));
    this.pending.clear();
  }
}

/** The caller side of one probe dialog (or one out-of-dialog request). */
class Dialog {
  readonly callId = `${rand(12)}@kumo-probe`;
  readonly fromTag = rand(4);
  cseq = 1;
  private remoteTarget: string | undefined;
  private routes: string[] = [];

  constructor(
    readonly ruri: string,
    private readonly from: string,
    private to: string,
  ) {}

  request(method: string, via: string, cseq: number, extra: string[] = [], body = ''): string {
    const inDialog = this.remoteTarget !== undefined;
    return [
      `${method} ${inDialog ? this.remoteTarget : this.ruri} SIP/2.0`,
      `Via: ${via}`,
      'Max-Forwards: 70',
      ...(inDialog ? this.routes.map((r) => `Route: ${r}`) : []),
      `From: ${this.from};tag=${this.fromTag}`,
      `To: ${this.to}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${method}`,
      ...extra,
      'User-Agent: kumo-ops-probe',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  }

  /** The ACK for a final response: on the INVITE's branch for non-2xx (same Via), a new transaction for 2xx. */
  ack(f: Final & { via: string }, cseq: number): string {
    const to = header(f.raw, 'To', 't') ?? this.to;
    if (f.status >= 300) {
      return [`ACK ${this.ruri} SIP/2.0`, `Via: ${f.via}`, 'Max-Forwards: 70', `From: ${this.from};tag=${this.fromTag}`, `To: ${to}`,
        `Call-ID: ${this.callId}`, `CSeq: ${cseq} ACK`, 'Content-Length: 0', '', ''].join('\r\n');
    }
    const via = f.via.replace(/;branch=[^;]+/, `;branch=z9hG4bK${rand()}`);
    return this.request('ACK', via, cseq);
  }

  /** Takes the dialog state from the 2xx: remote tag, remote target (Contact), route set (Record-Route reversed). */
  established(f: Final): void {
    this.to = header(f.raw, 'To', 't') ?? this.to;
    this.remoteTarget = uriIn(header(f.raw, 'Contact', 'm') ?? this.ruri);
    this.routes = headers(f.raw, 'Record-Route').flatMap((v) => v.split(/,(?=\s*<)/)).map((r) => r.trim()).reverse();
  }
}

/** host:port of a Contact on this link (`;transport=tcp` over TCP: the engine reaches it over the same connection). */
function contactAt(l: Link): string {
  return `${hostOf(l.localHost)}:${l.localPort}${l.proto === 'TCP' ? ';transport=tcp' : ''}`;
}

function toTagOf(callId: string): string {
  let h = 0;
  for (const ch of callId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `p${h.toString(16)}`;
}

/** An SDP offer/answer with one PCMU stream on the discard port (the probe sends no media). */
function sdp(host: string): string {
  const ip = isIPv6(host) ? 'IP6' : 'IP4';
  return ['v=0', `o=kumo-probe 1 1 IN ${ip} ${host}`, 's=-', `c=IN ${ip} ${host}`, 't=0 0', 'm=audio 9 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n');
}
