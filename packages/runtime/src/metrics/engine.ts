import { Counter, Gauge, type Registry } from 'prom-client';

/** Methods counted by name; anything else is counted as `other` (bounded label values). */
export const ENGINE_METRIC_METHODS = [
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'INFO', 'NOTIFY', 'REFER', 'UPDATE', 'SUBSCRIBE',
  'MESSAGE', 'PRACK', 'PUBLISH',
] as const;

export function metricMethod(m: string): string {
  return (ENGINE_METRIC_METHODS as readonly string[]).includes(m) ? m : 'other';
}

/** Status class label (`1xx` … `6xx`). */
export function statusClass(status: number): string {
  const c = Math.floor(status / 100);
  return c >= 1 && c <= 6 ? `${c}xx` : 'other';
}

export interface EngineMetrics {
  readonly requestsIn: Counter<'method' | 'transport'>;
  readonly requestsOut: Counter<'method' | 'transport'>;
  readonly responsesIn: Counter<'method' | 'status' | 'transport'>;
  readonly responsesOut: Counter<'method' | 'status' | 'transport'>;
  readonly parseErrors: Counter<'transport'>;
  readonly retransmissions: Counter<'direction'>;
  readonly activeServerTransactions: Gauge;
  readonly activeClientTransactions: Gauge;
  readonly activeDialogs: Gauge;
  readonly connectedApps: Gauge;
  readonly tcpConnections: Gauge;
  /** New INVITEs refused with 503 by load shedding. */
  readonly shedInvites: Counter;
  /** 1 while the engine sheds new INVITEs. */
  readonly overloaded: Gauge;
  /** New INVITEs handed to apps and not answered yet (the shedding backlog signal). */
  readonly pendingInvites: Gauge;
}

/** The SIP engine's metric families (labels: SIP method from a fixed list, status class, transport). */
export function createEngineMetrics(registry: Registry): EngineMetrics {
  const registers = [registry];
  return {
    requestsIn: new Counter({ name: 'kumo_engine_sip_requests_in_total', help: 'SIP requests received from the network', labelNames: ['method', 'transport'], registers }),
    requestsOut: new Counter({ name: 'kumo_engine_sip_requests_out_total', help: 'SIP requests sent to the network', labelNames: ['method', 'transport'], registers }),
    responsesIn: new Counter({ name: 'kumo_engine_sip_responses_in_total', help: 'SIP responses received from the network', labelNames: ['method', 'status', 'transport'], registers }),
    responsesOut: new Counter({ name: 'kumo_engine_sip_responses_out_total', help: 'SIP responses sent to the network', labelNames: ['method', 'status', 'transport'], registers }),
    parseErrors: new Counter({ name: 'kumo_engine_sip_parse_errors_total', help: 'Malformed SIP messages received', labelNames: ['transport'], registers }),
    retransmissions: new Counter({ name: 'kumo_engine_sip_retransmissions_total', help: 'Retransmissions sent (out) and absorbed (in)', labelNames: ['direction'], registers }),
    activeServerTransactions: new Gauge({ name: 'kumo_engine_server_transactions', help: 'Active server transactions', registers }),
    activeClientTransactions: new Gauge({ name: 'kumo_engine_client_transactions', help: 'Active client transactions', registers }),
    activeDialogs: new Gauge({ name: 'kumo_engine_dialogs', help: 'Active dialogs', registers }),
    connectedApps: new Gauge({ name: 'kumo_engine_connected_apps', help: 'Authenticated drachtio app connections', registers }),
    tcpConnections: new Gauge({ name: 'kumo_engine_tcp_connections', help: 'Open SIP TCP connections', registers }),
    shedInvites: new Counter({ name: 'kumo_engine_shed_invites_total', help: 'New INVITEs refused with 503 + Retry-After by load shedding', registers }),
    overloaded: new Gauge({ name: 'kumo_engine_overloaded', help: '1 while the engine sheds new INVITEs (event-loop lag or app backlog over its limit)', registers }),
    pendingInvites: new Gauge({ name: 'kumo_engine_pending_invites', help: 'New INVITEs handed to apps and not answered yet', registers }),
  };
}
