export {
  CallAdmission,
  rejectionHeaders,
  type AdmissionRefusal,
  type AdmissionResult,
  type CallAdmissionOptions,
  type AdmissionCall,
} from './admission/call-admission.js';
export { createCallAdmission, type CreateCallAdmissionOptions } from './admission/create.js';
export { admissionPolicyFromConfig, admissionContractOf, trunkLimitOf, type AdmissionConfig } from './admission/policy-config.js';
export { RestrictionWatcher, type RestrictionWatcherOptions } from './admission/restrictions.js';
export { admissionStep, admissionCallOf, overloadGateStep, registerRateCap } from './admission/route-step.js';
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

// The one authentication step (every method) and its digest algorithm policy.
export {
  createAuthenticator,
  deviceKey,
  type AuthRequest,
  type AuthSettings,
  type AuthVerdict,
  type Authenticator,
  type AuthenticatorDeps,
  type BruteForceSettings,
} from './auth/authenticate.js';
export { DEFAULT_MD5_ONLY_UA, brokenSha256, learnFromGiveUp, offerFor, policyAlgorithms } from './auth/policy.js';

// Registrar.
export { createRegistrar, planBindings, bindingId, renderContacts, type RegistrarDeps, type RegistrarSettings } from './registrar/registrar.js';
export type { RegistrarDirectory, DirectoryTenant, DigestSecrets, TenantStatus } from './registrar/directory.js';
export { cachedDirectory, storeDirectory } from './registrar/directory-store.js';
export { parseContacts, parseNameAddr, parseSipUri, type ContactEntry, type ContactList, type SipUri } from './registrar/headers.js';

// drachtio-srf adapter and the request/response types handlers use.
export { connectEngine, type EngineConnection, type EngineConnectionOptions, type SrfStats } from './drachtio/adapter.js';
export { multiHeader, type SendOptions, type SipHandler, type SipRequest, type SipResponse } from './drachtio/types.js';

// OPTIONS, 405/481/501 for what Kumo does not serve.
export { ACCEPTED_TYPES, ALLOWED_METHODS, KNOWN_METHODS, NOT_SERVED_METHODS, SUPPORTED_OPTIONS, answerOptions, capabilityHeaders, drainAwareOptions, methodHandlers, refuseMethod } from './methods/methods.js';

// Trunk gateway health (OPTIONS pings).
export { GatewayMonitor, type GatewayMonitorOptions, type GatewayPing } from './trunks/gateway-monitor.js';
export { optionsPing } from './drachtio/options-ping.js';
export { TrunkRegistrant, type TrunkRegistrantOptions, type SendRegister, type RegisterAttempt } from './trunks/registrant.js';
export { registerClient } from './drachtio/register-client.js';

// Call control (INVITE): the request route and call sessions.
export { createInviteHandler, type CallControlDeps } from './call/hook.js';
export {
  admitEverything,
  callFacts,
  createInviteRoute,
  type AdmissionAnswer,
  type AdmitCall,
  type CallToAdmit,
  type InviteRequest,
  type PublishCdr,
  type PublishCdrClearing,
  type RouteContext,
  type RouteDeps,
} from './request-route/route.js';
export { loadRouting, contactOf, MAX_RECORDS_PER_CALL, type LoadedRouting } from './request-route/load.js';
export { CallSession, type CallTracker, type PickupRegistry, type SessionOptions, type SessionOutcome } from './call/session.js';
export { LocalPickupRegistry, SharedPickupRegistry } from './call/pickup.js';
export { LocalDialogRegistry, SharedDialogRegistry, parseReplaces } from './call/dialogs.js';
export { WorkerRelay, RelayError, type RelayOptions } from './call/relay.js';
export { RelayedDialogs, RemoteDialog, type HalfInfo, type ExportedDialog } from './call/relayed-dialogs.js';
export { checkSdp, sdpCodecs, type SdpCheck } from './call/sdp.js';
export type { BridgeOptions, CallIo, DialOutcome, DialProgress, DialRequest, InboundInvite, Leg, PendingDial, SystemEnd } from './call/types.js';
export { createTollGuard, type TollGuard, type TollRefusal } from './security/toll-guard.js';

// Reliability (docs/reliability.md): call registry, recovery of dead processes' calls, drain, engine loss.
export { CallRegistry, CallControl, type LiveCall } from './call/registry.js';
export { CallRecovery, recoveredFacts, type CallRecoveryOptions } from './call/recovery.js';
export { drain, engineLossReconciler } from './app.js';
export { byeLeg } from './call/srf-io.js';
export type { CallLifecycle } from './request-route/route.js';
export type { AnsweredCall } from './call/session.js';
