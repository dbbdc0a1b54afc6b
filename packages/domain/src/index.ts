export { stableId } from './hash.js';
export {
  buildCdr,
  cdrIdFor,
  dispositionOf,
  type CallDirection,
  type CallFacts,
  type Cdr,
  type Disposition,
  type HangupBy,
  type PartyFacts,
} from './cdr.js';
// provisioning (api): tenants, extensions, groups, trunks, DIDs, numbering plan
export * from './provisioning/index.js';
// routing (call control): numbering plan, permissions, planRoute, hunt strategies, failover
export * from './routing/index.js';
export * from './rating/index.js';
