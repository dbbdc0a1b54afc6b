import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

/** A parsed SIP response as it came off the wire. */
export interface WireResponse {
  readonly raw: string;
  readonly status: number;
  readonly reason: string;
  /** Header lines in order: [name (lower case), value]. */
  readonly headers: readonly (readonly [string, string])[];
  all(name: string): string[];
  one(name: string): string | undefined;
}

export function parseResponse(raw: string): WireResponse {
  const [head = ''] = raw.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const m = /^SIP\/2\.0 (\d{3}) (.*)$/.exec(lines[0] ?? '');
  if (!m) throw new Error(`not a SIP response: ${raw.slice(0, 200)}`);
  const headers = lines.slice(1).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()] as const;
  });
  const all = (n: string): string[] => headers.filter(([k]) => k === n.toLowerCase()).map(([, v]) => v);
  return { raw, status: Number(m[1]), reason: m[2] as string, headers, all, one: (n) => all(n)[0] };
}

export interface RegisterSpec {
  readonly user: string;
  readonly domain: string;
  readonly contact?: string;
  readonly expires?: number;
  readonly callId: string;
  readonly cseq: number;
  readonly authorization?: string;
  readonly userAgent?: string;
  readonly fromTag?: string;
}

export interface RequestSpec {
  readonly method: string;
  readonly uri: string;
  readonly domain: string;
  readonly fromUser?: string;
  readonly toTag?: string;
  readonly callId?: string;
  readonly cseq?: number;
  /** Extra header lines (`Name: value`). */
  readonly headers?: readonly string[];
  readonly body?: string;
}

/**
 * A tiny SIP UAC for tests: one REGISTER, waits for the first final response (1xx ignored).
 * Over UDP from a fresh socket, or over one TCP connection.
 */
export class TestUac {
  private constructor(
    private readonly transport: 'udp' | 'tcp',
    private readonly target: { host: string; port: number },
    private readonly sendRaw: (s: string) => void,
    private readonly close_: () => void,
    private readonly waiters: ((raw: string) => void)[],
    readonly local: { host: string; port: number },
  ) {}

  static async open(transport: 'udp' | 'tcp', host: string, port: number, localHost = '127.0.0.1'): Promise<TestUac> {
    const waiters: ((raw: string) => void)[] = [];
    const deliver = (raw: string): void => {
      if (/^SIP\/2\.0 1\d\d /.test(raw)) return;
      waiters.shift()?.(raw);
    };
    if (transport === 'udp') {
      const sock = createSocket('udp4');
      sock.on('message', (b) => deliver(b.toString()));
      await new Promise<void>((r) => sock.bind(0, localHost, () => r()));
      return new TestUac('udp', { host, port }, (s) => sock.send(s, port, host), () => sock.close(), waiters, {
        host: localHost,
        port: sock.address().port,
      });
    }
    const sock = connect({ host, port, localAddress: localHost });
    await new Promise<void>((r, j) => {
      sock.once('connect', () => r());
      sock.once('error', j);
    });
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        deliver(buf.slice(0, end + 4 + len));
        buf = buf.slice(end + 4 + len);
      }
    });
    return new TestUac('tcp', { host, port }, (s) => sock.write(s), () => sock.destroy(), waiters, {
      host: localHost,
      port: sock.localPort ?? 0,
    });
  }

  register(r: RegisterSpec, timeoutMs = 3000): Promise<WireResponse> {
    const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
    const lines = [
      `REGISTER sip:${r.domain} SIP/2.0`,
      `Via: SIP/2.0/${this.transport.toUpperCase()} ${this.local.host}:${this.local.port};branch=${branch};rport`,
      `From: <sip:${r.user}@${r.domain}>;tag=${r.fromTag ?? 'ft1'}`,
      `To: <sip:${r.user}@${r.domain}>`,
      `Call-ID: ${r.callId}`,
      `CSeq: ${r.cseq} REGISTER`,
      `Max-Forwards: 70`,
      `User-Agent: ${r.userAgent ?? 'kumo-test-uac'}`,
      ...(r.contact !== undefined ? [`Contact: ${r.contact}`] : []),
      ...(r.expires !== undefined ? [`Expires: ${r.expires}`] : []),
      ...(r.authorization !== undefined ? [`Authorization: ${r.authorization}`] : []),
      'Content-Length: 0',
      '',
      '',
    ];
    const p = new Promise<WireResponse>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no final response to REGISTER ${r.user}@${r.domain}`)), timeoutMs);
      this.waiters.push((raw) => {
        clearTimeout(t);
        resolve(parseResponse(raw));
      });
    });
    this.sendRaw(lines.join('\r\n'));
    return p;
  }

  /** Any request (out of dialog unless `toTag`): waits for the first final response. */
  request(r: RequestSpec, timeoutMs = 3000): Promise<WireResponse> {
    const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
    const body = r.body ?? '';
    const lines = [
      `${r.method} ${r.uri} SIP/2.0`,
      `Via: SIP/2.0/${this.transport.toUpperCase()} ${this.local.host}:${this.local.port};branch=${branch};rport`,
      `From: <sip:${r.fromUser ?? 'probe'}@${r.domain}>;tag=${randomBytes(4).toString('hex')}`,
      `To: <${r.uri}>${r.toTag !== undefined ? `;tag=${r.toTag}` : ''}`,
      `Call-ID: ${r.callId ?? randomBytes(8).toString('hex')}`,
      `CSeq: ${r.cseq ?? 1} ${r.method}`,
      `Max-Forwards: 70`,
      `Contact: <sip:${r.fromUser ?? 'probe'}@${this.local.host}:${this.local.port};transport=${this.transport}>`,
      ...(r.headers ?? []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    const p = new Promise<WireResponse>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no final response to ${r.method} ${r.uri}`)), timeoutMs);
      this.waiters.push((raw) => {
        clearTimeout(t);
        resolve(parseResponse(raw));
      });
    });
    this.sendRaw(lines.join('\r\n'));
    return p;
  }

  close(): void {
    this.close_();
  }
}
