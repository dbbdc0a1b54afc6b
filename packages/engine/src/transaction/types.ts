import type { Proto, StreamConn } from '../transport/types.js';

/** Where to send: protocol, address, port and the TCP connection to prefer. */
export interface Dest {
  proto: Proto;
  addr: string;
  port: number;
  conn?: StreamConn | undefined;
  /** The hostname the address was resolved from: TLS server name and certificate check. */
  host?: string | undefined;
}

/** What the transaction and dialog layers need of the transport layer: send bytes, count retransmissions. */
export interface TxnTransport {
  send(dest: Dest, bytes: Buffer): void;
  /** A retransmission went out (metrics). */
  retransmitted(): void;
}
