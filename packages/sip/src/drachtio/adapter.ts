import Srf from 'drachtio-srf';
import type { Logger, SipMetrics } from '@kumo/runtime';
import { refuseMethod } from '../methods/methods.js';
import type { SipHandler, SipRequest, SipResponse } from './types.js';

export interface EngineConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly secret: string;
  readonly log: Logger;
  readonly metrics?: Pick<SipMetrics, 'engineConnected'>;
  /** Method (upper case) → handler. Requests of other methods get 405/481/501 from the fallback (methods/methods.ts). */
  readonly handlers: Readonly<Record<string, SipHandler>>;
  /** Longest wait between reconnection attempts, ms. */
  readonly retryMaxDelayMs?: number;
  /** The link to the engine is up (first connection and every reconnection). */
  readonly onUp?: () => void;
  /** The link to the engine was lost (not called for `close()`). */
  readonly onDown?: () => void;
}

export interface EngineConnection {
  readonly srf: Srf;
  /** Resolves on the first successful connection. */
  readonly connected: Promise<void>;
  isConnected(): boolean;
  /**
   * drachtio-srf's own bookkeeping, summed over engine connections: dialogs it tracks and requests
   * awaiting an answer. For leak checks and diagnostics: all return to 0 once calls and their
   * transactions have ended.
   */
  stats(): SrfStats;
  close(): Promise<void>;
}

export interface SrfStats {
  readonly dialogs: number;
  readonly pendingRequests: number;
  readonly pendingSipRequests: number;
  readonly pendingNetworkInvites: number;
  readonly pendingAckOrPrack: number;
}

/** drachtio-srf internals read by `stats()` (not in its typings). */
interface SrfInternals {
  _dialogs?: Map<string, unknown>;
  _app?: { client?: { mapServer?: Map<object, Record<string, unknown>> } };
}

/** Sockets whose writes are already batched. */
const batched = new WeakSet<object>();

/**
 * drachtio-srf writes every control message with its own `socket.write` (one syscall each, TCP_NODELAY).
 * Messages written in the same event-loop turn (the answers to a batch of requests the engine sent
 * together, a B2BUA's relayed response and its own ACK…) are corked and leave in one write when the turn
 * ends (`setImmediate`, as ioredis flushes its auto-pipeline): fewer syscalls per call. Not on the next
 * tick: a B2BUA's ACK to the answering leg is written by drachtio-srf as the 200 arrives and the caller's
 * 200 by Kumo a few promise continuations later, which run after `nextTick` callbacks; both leave together
 * now. Nothing waits for more input: the write goes before the loop polls again.
 */
export function batchSrfWrites(srf: Srf): void {
  const sockets = (srf as unknown as SrfInternals)._app?.client?.mapServer?.keys() ?? [];
  for (const socket of sockets) {
    const sock = socket as { write?: unknown; cork?: unknown; uncork?: unknown };
    if (batched.has(sock) || typeof sock.write !== 'function' || typeof sock.cork !== 'function' || typeof sock.uncork !== 'function') continue;
    batched.add(sock);
    const net = sock as unknown as { write: (...a: unknown[]) => boolean; cork(): void; uncork(): void };
    const write = net.write.bind(net);
    let corked = false;
    const flush = (): void => {
      corked = false;
      net.uncork();
    };
    net.write = (...a: unknown[]): boolean => {
      if (!corked) {
        corked = true;
        net.cork();
        setImmediate(flush);
      }
      return write(...a);
    };
  }
}

function srfStats(srf: Srf): SrfStats {
  const i = srf as unknown as SrfInternals;
  const out = { dialogs: i._dialogs?.size ?? 0, pendingRequests: 0, pendingSipRequests: 0, pendingNetworkInvites: 0, pendingAckOrPrack: 0 };
  for (const server of i._app?.client?.mapServer?.values() ?? []) {
    for (const k of ['pendingRequests', 'pendingSipRequests', 'pendingNetworkInvites', 'pendingAckOrPrack'] as const) {
      const m = server[k];
      if (m instanceof Map) out[k] += m.size;
    }
  }
  return out;
}

/**
 * Connects drachtio-srf to the engine's control port (Kumo engine or C++ drachtio-server), routes
 * requests by method to Kumo handlers, and keeps reconnecting (drachtio-srf's backoff, capped).
 */
export function connectEngine(o: EngineConnectionOptions): EngineConnection {
  const srf = new Srf();
  const log = o.log.child({ component: 'drachtio' });
  let up = false;
  let closed = false;
  let resolveFirst!: () => void;
  const connected = new Promise<void>((r) => (resolveFirst = r));

  for (const [method, handler] of Object.entries(o.handlers)) {
    srf.use(method.toLowerCase(), (req, res) => {
      void run(handler, req, res, log);
    });
  }
  srf.use((req, res) => refuseMethod(req, res));

  srf.on('connect', (err: Error | null, hostPort: string) => {
    if (err) {
      log.warn({ err }, 'engine connection refused');
      return;
    }
    batchSrfWrites(srf);
    up = true;
    o.metrics?.engineConnected.set(1);
    log.info({ hostPort }, 'connected to engine');
    resolveFirst();
    o.onUp?.();
  });
  srf.on('error', (err: Error) => {
    if (!closed) log.warn({ err: err.message }, 'engine connection error');
  });
  const onDown = (): void => {
    const was = up;
    if (up) log.warn('engine connection lost; reconnecting');
    up = false;
    o.metrics?.engineConnected.set(0);
    if (was && !closed) o.onDown?.();
  };
  (srf as unknown as NodeJS.EventEmitter).on('close', onDown);
  (srf as unknown as NodeJS.EventEmitter).on('reconnecting', (opts: { attempt?: number; delay?: number }) => {
    log.debug({ attempt: opts.attempt, delay: opts.delay }, 'reconnecting to engine');
  });

  const connectOpts = {
    host: o.host,
    port: o.port,
    secret: o.secret,
    reconnect: { retryMaxDelay: o.retryMaxDelayMs ?? 2000 },
  };
  // drachtio-srf's connect() returns the app, not a promise (its typings say otherwise).
  (srf.connect as unknown as (opts: object) => unknown)(connectOpts);

  return {
    srf,
    connected,
    isConnected: () => up,
    stats: () => srfStats(srf),
    close() {
      if (!closed) {
        closed = true;
        o.metrics?.engineConnected.set(0);
        try {
          srf.disconnect();
        } catch {
          // already gone
        }
      }
      return Promise.resolve();
    },
  };
}

async function run(h: SipHandler, req: SipRequest, res: SipResponse, log: Logger): Promise<void> {
  try {
    await h(req, res);
  } catch (err) {
    log.error({ err, method: req.method, callId: req.get('call-id') }, 'handler failed');
    if (!res.finalResponseSent) {
      try {
        res.send(500, undefined, {});
      } catch {
        // connection gone
      }
    }
  }
}
