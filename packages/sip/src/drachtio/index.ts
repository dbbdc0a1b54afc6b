export { connectEngine, type EngineConnection, type EngineConnectionOptions, type SrfStats } from './adapter.js';
export { multiHeader, type SendOptions, type SipHandler, type SipRequest, type SipResponse } from './types.js';
