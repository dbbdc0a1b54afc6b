/**
 * The slice of drachtio-srf's request/response objects Kumo relies on, typed strictly.
 *
 * drachtio-srf 5 ships its own typings (lib/@types/index.d.ts) and there is no @types/drachtio-srf on
 * npm. Those typings are loose where we need precision (`get()` claims to always return a string,
 * `source_port` is typed as string but is a number at run time, `callId` is declared but does not exist (use `get('call-id')`), `registration` is only set by a
 * separate middleware) and say nothing of `srf.register`/`srf.use('register')`. Handlers in Kumo take
 * these interfaces instead, so registrar and call-control code is unit-testable without drachtio.
 */
export interface SipRequest {
  readonly method: string;
  /** Request-URI as received. */
  readonly uri: string;
  /** Where the request really came from (NAT: the public address), as reported by the engine. */
  readonly source_address: string;
  readonly source_port: number | string;
  /** Transport it arrived on: `udp`, `tcp`, `tls`, `ws`, `wss`. */
  readonly protocol: string;
  /** Header value; several headers of one name are joined with `,`. Undefined when absent. */
  get(name: string): string | undefined;
  has(name: string): boolean;
}

export interface SendOptions {
  /** Header name → value. For several headers of one name use `multiHeader()`. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface SipResponse {
  send(status: number, reason: string | undefined, opts: SendOptions): void;
  readonly finalResponseSent: boolean;
}

/** A request handler (REGISTER, INVITE, …). Must answer `res` or deliberately drop. Never throws. */
export type SipHandler = (req: SipRequest, res: SipResponse) => Promise<void>;

/**
 * drachtio-srf keeps headers in a name → string map and writes each as one `Name: value` line, so
 * headers that must not be comma-joined (WWW-Authenticate, Proxy-Authenticate: one challenge each,
 * RFC 3261 §7.3.1) are emitted as separate lines this way.
 */
export function multiHeader(name: string, values: readonly string[]): Record<string, string> {
  if (values.length === 0) return {};
  return { [name]: values.join(`\r\n${name}: `) };
}
