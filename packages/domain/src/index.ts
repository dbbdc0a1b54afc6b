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
export * from './routing/index.js';
