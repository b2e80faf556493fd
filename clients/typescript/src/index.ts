// @keyward/client: ask a user to approve a withdrawal with their security
// key, wait for it, redeem the approval once and verify it without trusting
// Keyward (the user's own key signature, against the key chain you pinned),
// verify approval and security-event tokens, and check user API keys.
// The same surface as the Rust crate keyward-client.

export { KeywardClient, type ClientOptions } from './client.js';
export { Verifier, parseEvidence, type VerifierOptions } from './verifier.js';
export { MemoryPins, FilePins, type PinStore, type Pin } from './pins.js';
export { EventOrder, aboutStepUp, KEYWARD_EVENT } from './events.js';
export {
  approvalMatches,
  verifyEventWithSet,
  verifyApprovalWithSet,
  readJwks,
  SET_TYP,
  APPROVAL_AUDIENCE,
  type ApprovalClaims,
  type SecurityEventClaims,
  type JwkSet,
} from './tokens.js';
export { canonicalise, digestOf, DEFAULT_ASSETS, type Canonical, type AssetConfig } from './details.js';
export { canonicalJson } from './canonical.js';
export { verifyApproval, type VerifiedApproval, type Expected } from './approval.js';
export { follow, pinOf, type ChainState } from './chain.js';
export { verifyEvidence, derToRaw, type EvidenceFacts } from './evidence.js';
export { stepUpChallenge, chainChallenge } from './challenge.js';
export type { ApprovalEvidence, ChainEntry, ChainKey, Statement } from './wire.js';
export * from './errors.js';
export type * from './types.js';
