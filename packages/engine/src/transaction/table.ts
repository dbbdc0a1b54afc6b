import type { SipRequest } from '../sip/index.js';

/** What the table needs of a transaction. */
export interface TableTxn {
  readonly id: string;
  readonly key: string;
  /** Stops its timers (close). */
  stop(): void;
}

/**
 * The key a request from the network matches its server transaction by (RFC 3261 §17.2.3): the top Via's branch and
 * sent-by host with the method when the branch has the magic cookie; otherwise (RFC 2543 peers) Call-ID, CSeq number and
 * From-tag. `method` is the transaction's: an ACK or CANCEL looks up its INVITE with `'INVITE'`.
 */
export function serverKey(req: SipRequest, method: string): string {
  const v = req.topVia;
  const b = v?.branch;
  if (b !== undefined && b.startsWith('z9hG4bK')) return branchKey(b, v?.host ?? '', method);
  return `${req.callId ?? ''}|${req.cseq?.seq ?? ''}|${req.from?.tag ?? ''}|${method}`;
}

/** The key of a request with an RFC 3261 branch: branch, sent-by host, method (also read from raw lines: fastshed.ts). */
export function branchKey(branch: string, host: string, method: string): string {
  return `${branch}|${host}|${method}`;
}

/** Call-ID|CSeq|From-tag: the lenient match of a non-2xx ACK that carries a new branch to its INVITE. */
export function ackKey(req: SipRequest): string {
  return `${req.callId ?? ''}|${req.cseq?.seq ?? ''}|${req.from?.tag ?? ''}`;
}

/**
 * The transaction layer's tables: server transactions by matching key and by id (the drachtio transactionId), INVITE
 * server transactions by `ackKey`, client transactions by `branch|method` (how responses find them, §17.1.3) and by
 * id. A removal only removes the entry that is still the given transaction (a new one may have taken its key). A
 * CANCEL's server transaction is kept by key only (`tracked` false): it is never an app's.
 */
export class TransactionTable<S extends TableTxn, C extends TableTxn> {
  private readonly serverByKey = new Map<string, S>();
  private readonly serverIds = new Map<string, S>();
  private readonly inviteByAckKey = new Map<string, S>();
  private readonly clientByKey = new Map<string, C>();
  private readonly clientIds = new Map<string, C>();

  addServer(t: S, tracked: boolean, ackKeyOf: string): void {
    this.serverByKey.set(t.key, t);
    if (!tracked) return;
    this.serverIds.set(t.id, t);
    if (ackKeyOf !== '') this.inviteByAckKey.set(ackKeyOf, t);
  }

  /**
   * Indexes an INVITE server transaction by its `ackKey` later than `addServer`: only one that sent a 3xx–6xx needs
   * it (the ACK of a 2xx is matched by its dialog), so the engine indexes it when it sends one.
   */
  indexAck(t: S, ackKeyOf: string): void {
    this.inviteByAckKey.set(ackKeyOf, t);
  }

  /** INVITE server transactions indexed by `ackKey` (none: no lenient ACK lookup is needed). */
  get ackIndexed(): number {
    return this.inviteByAckKey.size;
  }

  removeServer(t: S, ackKeyOf: string): void {
    if (this.serverByKey.get(t.key) === t) this.serverByKey.delete(t.key);
    if (this.serverIds.get(t.id) === t) this.serverIds.delete(t.id);
    if (ackKeyOf !== '' && this.inviteByAckKey.get(ackKeyOf) === t) this.inviteByAckKey.delete(ackKeyOf);
  }

  /** The server transaction a request (or its retransmission) belongs to. */
  server(key: string): S | undefined {
    return this.serverByKey.get(key);
  }

  serverById(id: string): S | undefined {
    return this.serverIds.get(id);
  }

  /** The INVITE server transaction with this Call-ID|CSeq|From-tag (lenient non-2xx ACK matching). */
  inviteByAck(key: string): S | undefined {
    return this.inviteByAckKey.get(key);
  }

  addClient(t: C): void {
    this.clientByKey.set(t.key, t);
    this.clientIds.set(t.id, t);
  }

  removeClient(t: C): void {
    if (this.clientByKey.get(t.key) === t) this.clientByKey.delete(t.key);
    if (this.clientIds.get(t.id) === t) this.clientIds.delete(t.id);
  }

  /** The client transaction a response belongs to: `branch|method` of its top Via and CSeq. */
  client(key: string): C | undefined {
    return this.clientByKey.get(key);
  }

  clientById(id: string): C | undefined {
    return this.clientIds.get(id);
  }

  /** Live server transactions with an id (CANCEL's own not counted). */
  get serverCount(): number {
    return this.serverIds.size;
  }

  get clientCount(): number {
    return this.clientIds.size;
  }

  /** Stops every transaction's timers and forgets them all. */
  clear(): void {
    for (const t of this.serverByKey.values()) t.stop();
    for (const t of this.serverIds.values()) t.stop();
    for (const t of this.clientIds.values()) t.stop();
    this.serverByKey.clear();
    this.serverIds.clear();
    this.inviteByAckKey.clear();
    this.clientByKey.clear();
    this.clientIds.clear();
  }
}
