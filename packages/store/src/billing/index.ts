export { BILLING_GROUP, CdrStreams, cdrShardOf, type CdrReplication, compareStreamIds, type DeadLetter, type StreamEntry } from './stream.js';
export {
  BillingLedger,
  decodeStoredCall,
  type AuditRecord,
  type BookedCall,
  type ChargeOutcome,
  type CloseMarker,
  type LedgerOptions,
} from './ledger.js';
