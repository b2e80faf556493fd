// An approval checked end to end (keyward_proof::approval::verify_approval),
// as an exchange checks it without trusting Keyward: its own digest of what
// it asked for, the challenge recomputed from the nonce and that digest, the
// key's assertion over it, and the key's place in the pinned key chain.

import { b64urlDecode, equalBytes, sha256, utf8 } from './bytes.js';
import { ChainError, findKey, follow, type ChainState } from './chain.js';
import { stepUpChallenge } from './challenge.js';
import { ChainRestartedError, UnverifiedError } from './errors.js';
import { Refusal, verifyEvidence, type EvidenceFacts } from './evidence.js';
import type { ApprovalEvidence, ChainKey, Pin } from './wire.js';

/** What the verifier knows without Keyward. */
export interface Expected {
  rpId: string;
  origin: string;
  /** The digest of what the exchange asked to approve, computed by it. */
  digest: Uint8Array;
  /** Whether the key must have verified the user (PIN or biometric). */
  requireUv: boolean;
  /** The user's chain as pinned; undefined the first time (trust on first use). */
  pin: Pin | undefined;
}

/** An approval that verified. */
export interface VerifiedApproval {
  /** The chain followed; keep `pinOf(chain)` as the new pin. */
  chain: ChainState;
  /** The key that approved. */
  key: ChainKey;
  /** What its authenticator data says. */
  facts: EvidenceFacts;
}

/**
 * Verifies `evidence` against `expected`. Throws UnverifiedError (`error`
 * the ApprovalError slug, `reason` the refusal or chain error) or
 * ChainRestartedError.
 */
export async function verifyApproval(evidence: ApprovalEvidence, expected: Expected): Promise<VerifiedApproval> {
  if (!equalBytes(await sha256(utf8(evidence.details)), expected.digest)) {
    throw new UnverifiedError('details_differ', undefined, 'the approved details are not the ones asked for');
  }
  const nonce = b64urlDecode(evidence.nonce);
  if (!nonce || nonce.length !== 32) {
    throw new UnverifiedError('malformed_nonce', undefined, "the evidence's nonce is malformed");
  }
  const challenge = await stepUpChallenge(nonce, expected.digest);
  let facts: EvidenceFacts;
  try {
    facts = await verifyEvidence(evidence.assertion, challenge, expected.rpId, expected.origin);
  } catch (e) {
    if (e instanceof Refusal) {
      throw new UnverifiedError('assertion_invalid', e.slug, `the assertion does not verify: ${e.slug}`);
    }
    throw e;
  }
  if (expected.requireUv && !facts.userVerified) {
    throw new UnverifiedError('user_not_verified', undefined, 'the key did not verify the user (PIN or biometric)');
  }
  let chain: ChainState;
  try {
    chain = await follow(evidence.keyChain, expected.rpId, expected.origin, expected.pin);
  } catch (e) {
    if (e instanceof ChainError) {
      if (e.kind === 'restarted' && e.restart) {
        const r = e.restart;
        throw new ChainRestartedError(r.pinned, r.genesis, r.restartedFrom, r.recovered);
      }
      throw new UnverifiedError('chain_invalid', e.kind, e.message);
    }
    throw e;
  }
  const key = findKey(chain, evidence.assertion.credentialId, evidence.assertion.publicKey.key);
  if (!key) {
    throw new UnverifiedError('key_not_in_chain', undefined, "the approving key is not in the user's key chain");
  }
  return { chain, key, facts };
}
