/**
 * A minimal SIP UAC for synthetic probes: sends one out-of-dialog request over UDP (RFC 3261
 * timer A retransmissions until the timeout) and resolves with the final status, or throws on
 * timeout. For INVITE it sends the ACK for a non-2xx final response on the INVITE's branch
 * (RFC 3261 §17.1.1.3). TCP/TLS gateways are checked by opening a connection.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import net from 'node:net';

export interface SipTarget {
  readonly host: string;
  readonly port: number;
}

export interface ProbeAnswer {
  readonly status: number;
  readonly ms: number;
}

interface Pending {
  resolve(a: ProbeAnswer): void;
  reject(e: Error): void;
  started: number;
  onFinal?: (raw: string) => void;
}

const rand = (n = 8): string => randomBytes(n).toString('hex');
const hostOf = (h: string): string => (isIPv6(h) ? `[${h}]` : h);

export class SipProbeClient {
  private readonly sockets = new Map<'udp4' | 'udp6', dgram.Socket>();
  private readonly pending = new Map<string, Pending>();

  private socket(family: 'udp4' | 'udp6'): Promise<dgram.Socket> {
    const existing = this.sockets.get(family);
    if (existing) return Promise.resolve(existing);
    const s = dgram.createSocket(family);
    this.sockets.set(family, s);
    s.on('message', (buf) => this.onMessage(buf.toString('utf8')));
    s.on('error', () => undefined);
    s.unref();
    return new Promise((resolve) => s.bind(0, family === 'udp4' ? '0.0.0.0' : '::', () => resolve(s)));
  }

  private onMessage(raw: string): void {
    const m = /^SIP\/2\.0 (\d{3})/.exec(raw);
    if (!m) return;
    const branch = /^(?:Via|v)\s*:[^\r\n]*;branch=([^;,\s\r\n]+)/im.exec(raw)?.[1];
    if (branch === undefined) return;
    const p = this.pending.get(branch);
    if (!p) return;
    const status = Number(m[1]);
    if (status < 200) return;
    this.pending.delete(branch);
    p.onFinal?.(raw);
    p.resolve({ status, ms: performance.now() - p.started });
  }

  /** One request; resolves with the final response status, rejects on timeout. */
  async request(t: SipTarget, method: 'OPTIONS' | 'REGISTER' | 'INVITE', timeoutMs: number, user = 'kumo-probe'): Promise<ProbeAnswer> {
    const family = isIPv6(t.host) ? 'udp6' : 'udp4';
    const sock = await this.socket(family);
    const local = sock.address();
    const branch = `z9hG4bK${rand()}`;
    const callId = `${rand(12)}@kumo-probe`;
    const fromTag = rand(4);
    const ruri = method === 'REGISTER' ? `sip:${hostOf(t.host)}:${t.port}` : `sip:${user}@${hostOf(t.host)}:${t.port}`;
    const via = `SIP/2.0/UDP ${hostOf(local.address === '0.0.0.0' || local.address === '::' ? (family === 'udp4' ? '127.0.0.1' : '::1') : local.address)}:${local.port};branch=${branch};rport`;
    const head = (m: string, cseqMethod: string, to: string): string =>
      [
        `${m} ${ruri} SIP/2.0`,
        `Via: ${via}`,
        'Max-Forwards: 70',
        `From: <sip:${user}@kumo.invalid>;tag=${fromTag}`,
        `To: ${to}`,
        `Call-ID: ${callId}`,
        `CSeq: 1 ${cseqMethod}`,
        'User-Agent: kumo-ops-probe',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    const toHdr = method === 'REGISTER' ? `<sip:${user}@kumo.invalid>` : `<${ruri}>`;
    const msg = Buffer.from(head(method, method, toHdr));
    const send = (b: Buffer): void => sock.send(b, t.port, t.host);
    return new Promise<ProbeAnswer>((resolve, reject) => {
      let interval = 500;
      let timer: NodeJS.Timeout;
      const retransmit = (): void => {
        send(msg);
        interval = Math.min(interval * 2, 4000);
        timer = setTimeout(retransmit, interval);
      };
      const deadline = setTimeout(() => {
        clearTimeout(timer);
        this.pending.delete(branch);
        reject(new Error(`no answer to ${method} from ${hostOf(t.host)}:${t.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(branch, {
        started: performance.now(),
        resolve: (a) => {
          clearTimeout(timer);
          clearTimeout(deadline);
          resolve(a);
        },
        reject,
        ...(method === 'INVITE'
          ? {
              onFinal: (raw: string) => {
                const to = /^(?:To|t)\s*:\s*([^\r\n]+)/im.exec(raw)?.[1] ?? toHdr;
                send(Buffer.from(head('ACK', 'ACK', to)));
              },
            }
          : {}),
      });
      retransmit();
    });
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const p of this.pending.values()) p.reject(new Error('probe client closed'));
    this.pending.clear();
  }
}

/** Opens (and closes) a TCP connection: the liveness check for TCP/TLS gateways. */
export function tcpConnect(t: SipTarget, timeoutMs: number): Promise<ProbeAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: t.host, port: t.port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no TCP connection to ${hostOf(t.host)}:${t.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.end();
      resolve({ status: 0, ms: performance.now() - started });
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
