import type { Socket } from 'node:net';

export type Proto = 'udp' | 'tcp' | 'tls';

/** TCP and TLS: connection-oriented, Content-Length framed, no retransmissions (RFC 3261 §17.1.1.2, §18). */
export function isStream(p: Proto): boolean {
  return p !== 'udp';
}

/** One listening address, as configured: `udp/127.0.0.1:5060`, `tls/0.0.0.0:5061`. */
export interface ListenSpec {
  readonly proto: Proto;
  readonly host: string;
  readonly port: number;
}

/** A bound local endpoint. */
export interface LocalPoint {
  readonly proto: Proto;
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** A TCP or TLS connection as the transaction layer sees it (`local.proto` tells which). */
export interface StreamConn {
  readonly id: number;
  readonly socket: Socket;
  readonly remoteAddr: string;
  readonly remotePort: number;
  readonly local: LocalPoint;
  closed: boolean;
}

/** Where a message came from (or goes to). */
export interface Peer {
  readonly proto: Proto;
  readonly addr: string;
  readonly port: number;
  /** The local endpoint it arrived on / leaves from. */
  readonly local: LocalPoint;
  /** The TCP connection it arrived on, when any. */
  readonly conn?: StreamConn | undefined;
}

/** `host:port` with IPv6 brackets. */
export function hostport(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Strips IPv6 brackets. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Parses `udp/127.0.0.1:5060`, `tcp/[::1]:5060`, `tls/0.0.0.0:5061`. */
export function parseListenSpec(raw: string): ListenSpec | undefined {
  const m = /^(udp|tcp|tls)\/(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/i.exec(raw.trim());
  if (!m) return undefined;
  const port = Number(m[4]);
  if (port > 65535) return undefined;
  return { proto: (m[1] as string).toLowerCase() as Proto, host: (m[2] ?? m[3]) as string, port };
}
