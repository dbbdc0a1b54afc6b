export type {
  SipParams,
  HeaderField,
  SipUri,
  TelUri,
  OtherUri,
  Uri,
  NameAddr,
  Via,
  CSeq,
  ContactSet,
  ParserLimits,
} from './types.js';
export { DEFAULT_LIMITS } from './types.js';
export { SipHeaders, COMPACT_FORMS, headerKey, prettyHeaderName, splitHeaderValues } from './headers.js';
export { SipMessageBase, SipRequest, SipResponse, type SipMessage } from './message.js';
export { newParams, unquote, quote, isToken, parseCSeq, parseUInt } from './grammar.js';
export { parseUri, parseSipUri, formatUri, unescapeUri, formatParams, uriHostPort } from './uri.js';
export { parseNameAddr, parseNameAddrList, formatNameAddr, bracketed } from './nameaddr.js';
export { parseVia, formatVia } from './via.js';
export { parseMessage, isKeepAlive, type ParseResult, type ParseOptions, type PartialMessage } from './parser.js';
export { StreamFramer, type FramedItem } from './framer.js';
export { finishMessage, serialize, startLine } from './serialize.js';
export {
  createResponse,
  createErrorResponse,
  reasonPhrase,
  generateTag,
  generateBranch,
  type ResponseOptions,
} from './builders.js';
export { validateRequest, DEFAULT_ACCEPT, type ValidationPolicy, type ValidationResult } from './validate.js';
