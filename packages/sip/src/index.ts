// The sip process (drachtio-srf app): registrar now, call control next.
export { runSip, createSipApp, readSipConfig, registrarSettings, type SipApp, type SipAppDeps, type SipConfig } from './app.js';

// Digest authentication (RFC 3261 / 7616 / 8760), shared by the registrar (401) and call control (407).
export {
  DIGEST_ALGORITHMS,
  buildChallenges,
  buildDigestAuthorization,
  checkNonce,
  computeDigestResponse,
  computeHa1,
  createNonce,
  digestHash,
  dummyHa1,
  nonceCount,
  parseChallenge,
  parseDigestCredentials,
  verifyDigest,
  type ChallengeOptions,
  type DigestAlgorithm,
  type DigestCredentials,
  type NonceCheck,
  type NonceOptions,
} from './auth/digest.js';

// Registrar.
export { createRegistrar, planBindings, bindingId, renderContacts, type RegistrarDeps, type RegistrarSettings } from './registrar/registrar.js';
export type { RegistrarDirectory, DirectoryTenant, DigestSecrets, TenantStatus } from './registrar/directory.js';
export { storeDirectory } from './registrar/directory-store.js';
export { parseContacts, parseNameAddr, parseSipUri, type ContactEntry, type ContactList, type SipUri } from './registrar/headers.js';

// drachtio-srf adapter and the request/response types handlers use.
export { connectEngine, type EngineConnection, type EngineConnectionOptions } from './drachtio/adapter.js';
export { multiHeader, type SendOptions, type SipHandler, type SipRequest, type SipResponse } from './drachtio/types.js';

// Call-control hook (INVITE): replaced by the call-routing work.
export { createInviteHandler } from './call/hook.js';
