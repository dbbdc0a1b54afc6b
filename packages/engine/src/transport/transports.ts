import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { createConnection, createServer, isIP, isIPv6, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from '@kumo/runtime';
import type { FramedItem, ParseResult } from '../sip/index.js';
import { isStream, type ListenSpec, type LocalPoint, type Peer, type Proto, type StreamConn } from './types.js';

/** Certificate and key of the TLS listeners (PEM), and whether outbound TLS verifies the peer. */
export interface TlsSettings {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** Verify the peer's certificate on connections the engine opens (default true). */
  readonly verify?: boolean;
}

/** Cuts a TCP byte stream into SIP messages (the parser's StreamFramer). */
export interface StreamSplitter {
  push(chunk: Buffer): FramedItem[];
}

export interface TransportOptions {
  readonly listen: readonly ListenSpec[];
  readonly log: Logger;
  /** Close TCP connections idle for this long (ms). */
  readonly tcpIdleMs: number;
  /** Maximum concurrent TCP connections from one source address. */
  readonly tcpMaxPerSource: number;
  /** Maximum TCP connections in total. */
  readonly tcpMaxConnections: number;
  readonly maxMessageSize: number;
  /** After a framing error, how long the connection stays open for answers to what was framed before it (ms). */
  readonly tcpErrorLingerMs?: number;
  readonly newSplitter: () => StreamSplitter;
  /** A message arrived; `parsed` is set when the transport already parsed it (TCP). */
  readonly onMessage: (data: Buffer, peer: Peer, parsed?: ParseResult) => void;
  readonly onConnCount?: (n: number) => void;
  /** A receive-queue probe (see `probe`) came back; `sentAt` is the stamp it was sent with. */
  readonly onProbe?: (sentAt: number) => void;
  /** Needed for `tls/` listen points and outbound TLS. */
  readonly tls?: TlsSettings | undefined;
}

interface UdpPoint {
  readonly local: LocalPoint;
  readonly sock: UdpSocket;
  /** Where the socket reaches itself (receive-queue probes). */
  readonly self: string;
  /** The receive buffer the kernel granted (bytes, as getsockopt reports it). */
  readonly recvBuffer: number;
}

class TcpConn implements StreamConn {
  closed = false;
  lastActive = Date.now();
  constructor(
    readonly id: number,
    readonly socket: Socket,
    readonly remoteAddr: string,
    readonly remotePort: number,
    readonly local: LocalPoint,
    readonly splitter: StreamSplitter,
  ) {}
}

function normAddr(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/**
 * SO_RCVBUF asked for each UDP socket: room for the engine being descheduled or busy for a moment under overload (a
 * datagram the kernel drops for want of room may be an admitted call's 180/200). Linux grants at most
 * `net.core.rmem_max` (and reports twice that); less than UDP_RCVBUF reported (`rmem_max` under 16 MiB) is worth a
 * warning: with the 8 MiB that a 4 MiB `rmem_max` gives, 2× overload of the 2,500/s capacity still lost 4,027 datagrams
 * and 264 admitted calls (docs/benchmarks.md, 2026-12-04), none with 32 MiB.
 */
const UDP_RCVBUF = 32 * 1024 * 1024;
const UDP_SNDBUF = 8 * 1024 * 1024;

/** Length of a receive-queue probe datagram: a NUL byte (no SIP message starts with one) and a double. */
const PROBE_LEN = 9;

/** The address a socket bound to `host` reaches itself at (the loopback address for a wildcard bind). */
function selfAddr(host: string, family: 4 | 6): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return family === 6 && host.startsWith('[') ? host.slice(1, -1) : host;
}

/**
 * The resolver of the UDP sockets: dgram passes every destination through `dns.lookup`, which answers even an address
 * literal a tick later (a closure and a tick per datagram sent); a literal is answered at once here, so the datagram
 * leaves within `send()`. Names still go to `dns.lookup`.
 */
function literalLookup(host: string, opts: LookupOneOptions, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const fam = isIP(host);
  if (fam !== 0) cb(null, host, fam);
  else dnsLookup(host, opts, cb);
}

/** IP family of an address literal (or a host name: 4), without a regular expression on every send. */
function familyOf(addr: string): 4 | 6 {
  return addr.includes(':') ? 6 : 4;
}

/**
 * UDP, TCP and TLS SIP transports (TLS is TCP with a TLS socket: same framing, limits and reuse). Messages in go to `onMessage` with the peer they came from;
 * `send` writes to a peer, reusing a TCP connection to that address when one exists
 * (inbound or outbound) and opening one otherwise.
 */
export class Transports {
  readonly udp: UdpPoint[] = [];
  /** TCP and TLS listeners (`local.proto` tells which). */
  readonly tcpServers: { local: LocalPoint; server: Server }[] = [];
  private readonly conns = new Map<string, TcpConn>(); // "proto|addr|port" → conn
  private readonly perSource = new Map<string, number>();
  private readonly connecting = new Map<string, Promise<TcpConn>>();
  private nextConnId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: TransportOptions) {}

  /** The smallest receive buffer the kernel granted a UDP socket (bytes; 0 without UDP). */
  get udpRecvBuffer(): number {
    return this.udp.length === 0 ? 0 : Math.min(...this.udp.map((u) => u.recvBuffer));
  }

  get locals(): LocalPoint[] {
    return [...this.udp.map((u) => u.local), ...this.tcpServers.map((t) => t.local)];
  }

  async start(): Promise<void> {
    for (const spec of this.o.listen) {
      if (spec.proto === 'udp') await this.bindUdp(spec);
      else await this.listenStream(spec);
    }
    this.idleTimer = setInterval(() => this.sweepIdle(), Math.max(1000, Math.min(this.o.tcpIdleMs / 4, 30000)));
    this.idleTimer.unref();
  }

  private async bindUdp(spec: ListenSpec): Promise<void> {
    const family = isIPv6(spec.host) ? 6 : 4;
    const sock = createSocket({ type: family === 6 ? 'udp6' : 'udp4', recvBufferSize: UDP_RCVBUF, sendBufferSize: UDP_SNDBUF, lookup: literalLookup });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(spec.port, spec.host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    try {
      sock.setRecvBufferSize(UDP_RCVBUF);
      sock.setSendBufferSize(UDP_SNDBUF);
    } catch {
      /* best effort */
    }
    // Linux caps SO_RCVBUF at net.core.rmem_max and reports twice what it grants (bookkeeping included)
    let granted = 0;
    try {
      granted = sock.getRecvBufferSize();
    } catch {
      /* not bound */
    }
    if (granted < UDP_RCVBUF) this.o.log.warn({ granted, asked: UDP_RCVBUF }, 'udp receive buffer under the 32 MiB asked: raise net.core.rmem_max to 16 MiB or more (infra/sysctl)');
    const local: LocalPoint = { proto: 'udp', host: spec.host, port: sock.address().port, family };
    sock.on('error', (err) => this.o.log.warn({ err }, 'udp socket error'));
    const self = normAddr(selfAddr(spec.host, family));
    sock.on('message', (data, rinfo) => {
      if (data.length > this.o.maxMessageSize) return;
      if (data.length === PROBE_LEN && data[0] === 0) {
        // our own probe: how long it queued behind everything that arrived before it
        if (rinfo.port === local.port && normAddr(rinfo.address) === self) this.o.onProbe?.(data.readDoubleLE(1));
        return;
      }
      this.o.onMessage(data, { proto: 'udp', addr: normAddr(rinfo.address), port: rinfo.port, local });
    });
    this.udp.push({ local, sock, self, recvBuffer: granted });
  }

  private async listenStream(spec: ListenSpec): Promise<void> {
    const family = isIPv6(spec.host) ? 6 : 4;
    let server: Server;
    if (spec.proto === 'tls') {
      const tls = this.o.tls;
      if (!tls) throw new Error(`${spec.proto}/${spec.host}:${spec.port}: a TLS listen address needs a certificate and key`);
      const ts = createTlsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
      ts.on('tlsClientError', (err) => this.o.log.debug({ err: err.message }, 'tls handshake failed'));
      server = ts;
    } else server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(spec.port, spec.host, 511, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    const local: LocalPoint = { proto: spec.proto, host: spec.host, port: typeof a === 'object' && a ? a.port : spec.port, family };
    server.on('error', (err) => this.o.log.warn({ err }, `${spec.proto} server error`));
    // TLS: a connection counts once its handshake is done
    server.on(spec.proto === 'tls' ? 'secureConnection' : 'connection', (s: Socket) => this.accept(s, local));
    this.tcpServers.push({ local, server });
  }

  private accept(s: Socket, local: LocalPoint): void {
    const addr = normAddr(s.remoteAddress);
    const n = this.perSource.get(addr) ?? 0;
    if (n >= this.o.tcpMaxPerSource || this.conns.size >= this.o.tcpMaxConnections) {
      this.o.log.warn({ addr, n }, 'tcp connection refused: too many connections');
      s.destroy();
      return;
    }
    this.attach(s, addr, s.remotePort ?? 0, local);
  }

  private attach(s: Socket, addr: string, port: number, local: LocalPoint): TcpConn {
    s.setNoDelay(true);
    const c = new TcpConn(this.nextConnId++, s, addr, port, local, this.o.newSplitter());
    const proto = local.proto;
    const key = `${proto}|${addr}|${port}`;
    this.conns.set(key, c);
    this.perSource.set(addr, (this.perSource.get(addr) ?? 0) + 1);
    this.o.onConnCount?.(this.conns.size);
    s.on('data', (chunk: Buffer) => {
      c.lastActive = Date.now();
      let items: FramedItem[];
      try {
        items = c.splitter.push(chunk);
      } catch (err) {
        this.o.log.debug({ err, addr, port }, 'tcp framing error; closing connection');
        s.destroy();
        return;
      }
      for (const it of items) {
        if (c.closed) return;
        if (it.type === 'message') this.o.onMessage(it.data, { proto, addr, port, local, conn: c }, it.result);
        else if (it.type === 'keepalive') {
          if (it.kind === 'ping' && !s.destroyed) s.write('\r\n'); // RFC 5626 §4.4.1 pong
        } else {
          // The stream cannot be framed any further: answer what was legible, read nothing more, but keep the
          // connection writable for a while so the requests framed before the error still get their answers.
          this.o.log.debug({ addr, port, reason: it.reason }, 'tcp framing error; closing connection');
          if (it.result) this.o.onMessage(Buffer.alloc(0), { proto, addr, port, local, conn: c }, it.result);
          s.pause();
          const linger = setTimeout(() => s.end(), this.o.tcpErrorLingerMs ?? 4000);
          linger.unref();
          s.once('close', () => clearTimeout(linger));
          return;
        }
      }
    });
    s.on('error', (err) => this.o.log.debug({ err, addr, port }, 'tcp connection error'));
    s.on('close', () => {
      c.closed = true;
      if (this.conns.get(key) === c) this.conns.delete(key);
      const left = (this.perSource.get(addr) ?? 1) - 1;
      if (left <= 0) this.perSource.delete(addr);
      else this.perSource.set(addr, left);
      this.o.onConnCount?.(this.conns.size);
    });
    return c;
  }

  private sweepIdle(): void {
    const limit = Date.now() - this.o.tcpIdleMs;
    for (const c of this.conns.values()) {
      if (c.lastActive < limit) {
        this.o.log.debug({ addr: c.remoteAddr, port: c.remotePort }, 'closing idle tcp connection');
        c.socket.destroy();
      }
    }
  }

  /** The local point to use for sending to `addr` over `proto` (matching IP family). */
  localFor(proto: Proto, addr: string): LocalPoint | undefined {
    // the first point of that family, else the first of the protocol (no arrays built: once per request sent)
    const fam = familyOf(addr);
    let any: LocalPoint | undefined;
    if (proto === 'udp') {
      for (const u of this.udp) {
        if (u.local.family === fam) return u.local;
        any ??= u.local;
      }
      return any;
    }
    for (const t of this.tcpServers) {
      if (t.local.proto !== proto) continue;
      if (t.local.family === fam) return t.local;
      any ??= t.local;
    }
    return any;
  }

  /** Existing TCP/TLS connection to addr:port, if any. */
  findConn(proto: Proto, addr: string, port: number): StreamConn | undefined {
    const c = this.conns.get(`${proto}|${addr}|${port}`);
    return c && !c.closed ? c : undefined;
  }

  /**
   * Sends bytes to a peer. Over TCP, reuses `peer.conn` or any connection to addr:port, else connects.
   * Resolves false when it could not be sent (no transport, connect failure).
   */
  /**
   * Sends a receive-queue probe to each UDP socket from itself: a 9-byte datagram (NUL, then `sentAt` as a double)
   * that queues behind whatever arrived before it, so its delay is the queue's (reported through `onProbe`).
   */
  probe(sentAt: number): void {
    if (this.closed) return;
    for (const u of this.udp) {
      const b = Buffer.allocUnsafe(PROBE_LEN);
      b[0] = 0;
      b.writeDoubleLE(sentAt, 1);
      try {
        u.sock.send(b, u.local.port, u.self);
      } catch {
        /* closing */
      }
    }
  }

  send(proto: Proto, addr: string, port: number, data: Buffer, conn?: StreamConn, servername?: string): boolean | Promise<boolean> {
    if (this.closed) return false;
    // Never hand a socket an unusable port: dgram throws ERR_SOCKET_BAD_PORT synchronously.
    if (!Number.isInteger(port) || port < 1 || port > 65535) return false;
    if (proto === 'udp') {
      const fam = familyOf(addr);
      const u = this.udp.find((p) => p.local.family === fam) ?? this.udp[0];
      if (!u) return false;
      try {
        u.sock.send(data, port, addr);
      } catch (err) {
        this.o.log.debug({ err, addr, port }, 'udp send failed');
        return false;
      }
      return true;
    }
    if (!isStream(proto)) return false;
    const c = conn && !conn.closed ? conn : this.findConn(proto, addr, port);
    if (c) {
      c.socket.write(data);
      (c as TcpConn).lastActive = Date.now();
      return true;
    }
    return this.connect(proto, addr, port, servername).then(
      (nc) => {
        nc.socket.write(data);
        return true;
      },
      (err: unknown) => {
        this.o.log.debug({ err, addr, port }, 'tcp connect failed');
        return false;
      },
    );
  }

  /** Opens (or joins an opening of) a TCP or TLS connection to addr:port. */
  connect(proto: Proto, addr: string, port: number, servername?: string): Promise<TcpConn> {
    const key = `${proto}|${addr}|${port}`;
    const pending = this.connecting.get(key);
    if (pending) return pending;
    const local = this.localFor(proto, addr);
    if (!local) return Promise.reject(new Error(`no ${proto} transport`));
    const p = new Promise<TcpConn>((resolve, reject) => {
      let s: Socket | TLSSocket;
      if (proto === 'tls') {
        const name = servername ?? (isIP(addr) === 0 ? addr : undefined);
        s = tlsConnect({ host: addr, port, ...(name !== undefined ? { servername: name } : {}), rejectUnauthorized: this.o.tls?.verify ?? true, minVersion: 'TLSv1.2' });
        s.setNoDelay(true);
      } else s = createConnection({ host: addr, port, noDelay: true });
      const timer = setTimeout(() => s.destroy(new Error('connect timeout')), 5000);
      s.once(proto === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve(this.attach(s, addr, port, local));
      });
      s.once('error', (err: Error) => {
        clearTimeout(timer);
        reject(err);
      });
    }).finally(() => this.connecting.delete(key));
    this.connecting.set(key, p);
    return p;
  }

  get tcpConnectionCount(): number {
    return this.conns.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    for (const c of this.conns.values()) c.socket.destroy();
    await Promise.all([
      ...this.udp.map((u) => new Promise<void>((r) => u.sock.close(() => r()))),
      ...this.tcpServers.map((t) => new Promise<void>((r) => t.server.close(() => r()))),
    ]);
  }
}
