import { createServer, type Server, type Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '@kumo/runtime';
import { newId } from '../util.js';
import { FrameReader, splitFrame, type FrameError } from './framing.js';

/** What drachtio-srf sees as the server version (srf pings only when ≥ v0.8.2). */
export const SERVER_VERSION = 'v0.9.10-kumo';

/**
 * Under load, frames to an app are written at most once per this many ms. Each write to the app's TCP connection is
 * a syscall that on loopback also runs the app's side of TCP: in the engine's CPU profile those writes cost as much
 * as all its UDP datagrams (about a quarter of its time each at 600 calls/s, 4–5 writes per call). A frame after a
 * quiet spell still goes at the end of its loop turn; under load one write carries a millisecond's frames.
 */
export const COALESCE_MS = 1;
/** Pending bytes that are written at once, whatever the wait. */
const COALESCE_MAX_BYTES = 65536;

/** One connected drachtio app (inbound mode). */
export class AppConnection {
  authenticated = false;
  tags: string[] = [];
  closed = false;
  readonly reader = new FrameReader();
  /** Transaction / dialog ids owned by this app, for cleanup on disconnect. */
  readonly owned = new Set<string>();

  constructor(
    readonly id: number,
    readonly socket: Socket,
  ) {}

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? 0}`;
  }

  /** Frames queued: each one's `length#msgId|rest` text, then its message bytes when it has any. */
  private pending: (string | Buffer)[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  /** When the last write went out (performance.now()). */
  private lastWrite = -Infinity;
  private readonly flushLater = (): void => this.flush();

  /**
   * Sends `⟨new msgId⟩|rest` followed by `body` (a SIP message's bytes, as they are: never decoded and re-encoded);
   * returns the msgId. Frames are queued and written together (order kept): at the end of the loop turn, or, when the
   * last write went out under `COALESCE_MS` ago (under load), by a timer that far ahead, so that one write syscall
   * carries every frame of that time.
   */
  send(rest: string, body?: Buffer): string {
    const id = newId();
    if (this.closed || this.socket.destroyed) return id;
    // the frame's text is kept as a string until the flush writes every queued frame into one Buffer
    const head = `${id}|${rest}`;
    const headBytes = Buffer.byteLength(head, 'utf8');
    const bodyBytes = body?.length ?? 0;
    const lead = `${headBytes + bodyBytes}#`;
    this.pending.push(lead + head);
    this.pendingBytes += lead.length + headBytes;
    if (body !== undefined && bodyBytes > 0) {
      this.pending.push(body);
      this.pendingBytes += bodyBytes;
    }
    if (this.pendingBytes >= COALESCE_MAX_BYTES) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      if (performance.now() - this.lastWrite >= COALESCE_MS) setImmediate(this.flushLater);
      else setTimeout(this.flushLater, COALESCE_MS);
    }
    return id;
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const data = Buffer.allocUnsafe(this.pendingBytes);
    let off = 0;
    for (const p of this.pending) off += typeof p === 'string' ? data.write(p, off, 'utf8') : p.copy(data, off);
    this.pending = [];
    this.pendingBytes = 0;
    this.lastWrite = performance.now();
    if (!this.closed && !this.socket.destroyed) this.socket.write(data);
  }

  /** Sends a `response` frame to the app's frame `rid` (`body`: a SIP message after the leader's CRLF). */
  respond(rid: string, rest: string, body?: Buffer): void {
    this.send(`response|${rid}|${rest}`, body);
  }
}

export interface ControlHandlers {
  /** A `sip` frame from an authenticated app. `tokens` are the leader tokens; `sip` the message's bytes as read. */
  onSip(conn: AppConnection, tokens: readonly string[], sip: Buffer): void;
  /** The app connection went away (after routes were removed). */
  onDisconnect(conn: AppConnection): void;
  /** Called after authentication to learn the advertised SIP addresses. */
  hostports(): { public: string; local: string };
  onAppCount?(n: number): void;
}

export interface ControlServerOptions {
  readonly host: string;
  readonly port: number;
  readonly secret: string;
  readonly log: Logger;
  readonly handlers: ControlHandlers;
}

/**
 * The drachtio-server side of the control protocol (inbound mode): authentication with a
 * shared secret, the verb routing table (round-robin over apps that routed a verb), ping,
 * and dispatch of `sip` frames to the engine core.
 */
export class ControlServer {
  private server: Server | undefined;
  private nextId = 1;
  readonly apps = new Set<AppConnection>();
  /** verb (lower-case method or cdr:*) → apps in the order they routed it. */
  private readonly routes = new Map<string, AppConnection[]>();
  private readonly rr = new Map<string, number>();
  private readonly secret: Buffer;
  private closing: Promise<void> | undefined;
  port = 0;

  constructor(private readonly o: ControlServerOptions) {
    this.secret = Buffer.from(o.secret, 'utf8');
  }

  async listen(): Promise<void> {
    const server = createServer({ noDelay: true }, (s) => this.onConnection(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.o.log.error({ err }, 'control server error'));
    const a = server.address();
    this.port = typeof a === 'object' && a ? a.port : this.o.port;
  }

  /** Round-robin choice among the apps that routed `verb`. */
  pick(verb: string): AppConnection | undefined {
    const list = this.routes.get(verb);
    if (!list || list.length === 0) return undefined;
    const n = (this.rr.get(verb) ?? 0) % list.length;
    this.rr.set(verb, n + 1);
    return list[n];
  }

  /** SIP methods (upper-case) some connected app routed, for an Allow header. */
  routedMethods(): string[] {
    const out: string[] = [];
    for (const [verb, list] of this.routes) if (list.length > 0 && !verb.startsWith('cdr:')) out.push(verb.toUpperCase());
    return out;
  }

  hasRoute(verb: string): boolean {
    return (this.routes.get(verb)?.length ?? 0) > 0;
  }

  /** All authenticated apps that routed `verb` (for cdr fan-out). */
  routed(verb: string): readonly AppConnection[] {
    return this.routes.get(verb) ?? [];
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const a of this.apps) a.socket.destroy();
      if (!this.server) return resolve();
      this.server.close(() => resolve());
    });
    return this.closing;
  }

  private onConnection(socket: Socket): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    const conn = new AppConnection(this.nextId++, socket);
    this.apps.add(conn);
    this.o.log.info({ app: conn.id, remote: conn.remote }, 'app connected');
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = conn.reader.pushBytes(chunk);
      } catch (err) {
        this.o.log.warn({ app: conn.id, err: (err as FrameError).message }, 'control framing error; closing app connection');
        socket.destroy();
        return;
      }
      for (const f of frames) {
        if (conn.closed) return;
        try {
          this.onFrame(conn, f);
        } catch (err) {
          this.o.log.error({ err, app: conn.id }, 'error handling control frame');
        }
      }
    });
    socket.on('error', (err) => this.o.log.debug({ err, app: conn.id }, 'app socket error'));
    socket.on('close', () => this.onClose(conn));
  }

  private onClose(conn: AppConnection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.apps.delete(conn);
    this.removeRoutes(conn);
    this.o.log.info({ app: conn.id }, 'app disconnected');
    this.o.handlers.onAppCount?.(this.authenticatedCount());
    try {
      this.o.handlers.onDisconnect(conn);
    } catch (err) {
      this.o.log.error({ err }, 'error cleaning up after app disconnect');
    }
  }

  private authenticatedCount(): number {
    let n = 0;
    for (const a of this.apps) if (a.authenticated) n++;
    return n;
  }

  private removeRoutes(conn: AppConnection): void {
    for (const [verb, list] of this.routes) {
      const i = list.indexOf(conn);
      if (i !== -1) list.splice(i, 1);
      if (list.length === 0) this.routes.delete(verb);
    }
  }

  private onFrame(conn: AppConnection, payload: Buffer): void {
    const { tokens, body } = splitFrame(payload);
    const msgId = tokens[0] ?? '';
    const type = tokens[1];
    if (!conn.authenticated && type !== 'authenticate') {
      conn.respond(msgId, 'NOK|not authenticated');
      return;
    }
    switch (type) {
      case 'authenticate': {
        const given = Buffer.from(tokens[2] ?? '', 'utf8');
        const ok = given.length === this.secret.length && timingSafeEqual(given, this.secret);
        if (!ok) {
          this.o.log.warn({ app: conn.id, remote: conn.remote }, 'app gave an incorrect secret');
          conn.respond(msgId, 'NO|incorrect secret');
          conn.flush();
          conn.socket.end();
          return;
        }
        conn.authenticated = true;
        conn.tags = (tokens[3] ?? '').split(',').filter((t) => t !== '');
        const hp = this.o.handlers.hostports();
        conn.respond(msgId, `OK|${hp.public}|${SERVER_VERSION}|${hp.local}`);
        this.o.handlers.onAppCount?.(this.authenticatedCount());
        return;
      }
      case 'route': {
        const verb = (tokens[2] ?? '').toLowerCase();
        if (verb === '') {
          conn.respond(msgId, 'NOK|missing verb');
          return;
        }
        const list = this.routes.get(verb) ?? [];
        if (!list.includes(conn)) list.push(conn);
        this.routes.set(verb, list);
        conn.respond(msgId, 'OK');
        return;
      }
      case 'remove_route':
        // drachtio-server quirk kept on purpose: every route of this app is removed, not only the verb.
        this.removeRoutes(conn);
        conn.respond(msgId, 'OK');
        return;
      case 'ping':
        conn.respond(msgId, 'OK|pong');
        return;
      case 'sip':
        if (body === undefined) {
          conn.respond(msgId, 'NOK|sip frame without a SIP message');
          return;
        }
        this.o.handlers.onSip(conn, tokens, body);
        return;
      case 'proxy':
        conn.respond(msgId, 'NOK|proxy is not supported by the Kumo engine');
        return;
      default:
        conn.respond(msgId, `NOK|unknown frame type ${type ?? ''}`);
    }
  }
}
