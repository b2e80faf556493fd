// The WebAuthn challenges Keyward asks keys to sign (keyward_proof::challenge):
// SHA-256 over a purpose tag and fixed-length inputs, so a signature made
// for one purpose (approving a withdrawal, endorsing a key-chain change)
// never answers another.

import { concat, sha256, utf8 } from './bytes.js';

export const STEP_UP_TAG = utf8('keyward/step-up/v1');
export const CHAIN_TAG = utf8('keyward/key-chain/v1');

/** SHA-256(STEP_UP_TAG ‖ nonce ‖ details_digest): commits to one withdrawal. */
export function stepUpChallenge(nonce: Uint8Array, detailsDigest: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(STEP_UP_TAG, nonce, detailsDigest));
}

/** SHA-256(CHAIN_TAG ‖ entry_hash): endorses one key-chain entry. */
export function chainChallenge(entryHash: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(CHAIN_TAG, entryHash));
}
