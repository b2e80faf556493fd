// A user's key chain (keyward_proof::chain): the genesis key, then every key
// added or removed, each entry hashing the one before and each change
// endorsed by a key already in the chain. An exchange pins the chain and
// follows it only through valid endorsements, so a key that appears in
// Keyward's database without a touch of one of the user's own keys is never
// in the chain it follows. A chain with another genesis is reported
// (`Restarted`), never followed silently.

import { b64urlEncode, equalBytes, hex, sha256, utf8 } from './bytes.js';
import { canonicalJson, type Plain } from './canonical.js';
import { chainChallenge } from './challenge.js';
import { Refusal, verifyEvidence } from './evidence.js';
import type { ChainEntry, ChainKey, Pin, Statement } from './wire.js';

/** Longest chain followed. */
export const MAX_ENTRIES = 1024;

/** Why a chain is not followed; `kind` is the ChainError variant in snake_case. */
export class ChainError extends Error {
  constructor(
    readonly kind: 'length' | 'malformed' | 'broken_link' | 'unendorsed' | 'restarted' | 'diverged' | 'wrong_user',
    message: string,
    readonly restart?: { pinned: string; genesis: string; restartedFrom: string | null; recovered: boolean },
  ) {
    super(message);
  }
}

/** A verified chain. */
export interface ChainState {
  user: string;
  genesis: string;
  head: string;
  seq: number;
  /** The keys in the chain now, in the order they joined. */
  keys: ChainKey[];
  /** The genesis's `prev`: the head of an earlier chain this one replaced. */
  restartedFrom: string | null;
}

/** The pin to keep after following `state`. */
export function pinOf(state: ChainState): Pin {
  return { user: state.user, genesis: state.genesis, head: state.head, seq: state.seq };
}

const keyJson = (k: ChainKey): Plain => ({
  credential_id: b64urlEncode(k.credentialId),
  public_key: { alg: k.publicKey.alg, key: b64urlEncode(k.publicKey.key) },
  aaguid: k.aaguid ?? null,
  attestation_digest: b64urlEncode(k.attestationDigest),
});

/** SHA-256 of the statement's canonical JSON, as serde serialises it. */
export function statementHash(s: Statement): Promise<Uint8Array> {
  const json: Plain = {
    user: s.user,
    seq: s.seq,
    prev: s.prev ?? null,
    action: s.action,
    key: keyJson(s.key),
    at: s.at,
    nonce: b64urlEncode(s.nonce),
    recovered: s.recovered ? true : null,
  };
  return sha256(utf8(canonicalJson(json)));
}

export const sameKey = (a: ChainKey, b: ChainKey) =>
  equalBytes(a.credentialId, b.credentialId) &&
  a.publicKey.alg === b.publicKey.alg &&
  equalBytes(a.publicKey.key, b.publicKey.key) &&
  a.aaguid === b.aaguid &&
  equalBytes(a.attestationDigest, b.attestationDigest);

/** The key in `state` with this credential id and public key. */
export function findKey(state: ChainState, credentialId: Uint8Array, publicKey: Uint8Array): ChainKey | undefined {
  return state.keys.find((k) => equalBytes(k.credentialId, credentialId) && equalBytes(k.publicKey.key, publicKey));
}

async function checkKeyShape(key: ChainKey, attestation: Uint8Array | undefined): Promise<string | undefined> {
  if (key.publicKey.key.length !== 65 || key.credentialId.length === 0 || key.credentialId.length > 1023) {
    return 'a malformed key';
  }
  if (key.attestationDigest.length !== 32) return 'an attestation digest that is not 32 bytes';
  if (attestation && !equalBytes(await sha256(attestation), key.attestationDigest)) {
    return 'an attestation that does not match its digest';
  }
  return undefined;
}

async function endorsed(entry: ChainEntry, hash: Uint8Array, keys: ChainKey[], rpId: string, origin: string) {
  const e = entry.endorsement;
  if (!e) return 'no endorsement';
  if (!keys.some((k) => equalBytes(k.credentialId, e.credentialId) && equalBytes(k.publicKey.key, e.publicKey.key))) {
    return 'signed by a key not in the chain';
  }
  try {
    await verifyEvidence(e, await chainChallenge(hash), rpId, origin);
    return undefined;
  } catch (err) {
    if (err instanceof Refusal) return err.slug;
    throw err;
  }
}

/**
 * Verifies `entries` from the genesis (positions, links, hashes,
 * attestation digests, every endorsement after the pin) and then that the
 * chain has the pinned user, genesis and head: keyward_proof::chain::follow.
 */
export async function follow(entries: ChainEntry[], rpId: string, origin: string, pin: Pin | undefined): Promise<ChainState> {
  const first = entries[0];
  if (!first || entries.length > MAX_ENTRIES) throw new ChainError('length', 'the key chain is empty or too long');
  const user = first.statement.user;
  const keys: ChainKey[] = [];
  let prev: string | undefined;
  // Genesis entries may only open the chain; after the first change, none.
  let opening = true;
  const hashes: string[] = [];
  for (const [i, entry] of entries.entries()) {
    const s = entry.statement;
    const malformed = (why: string) => new ChainError('malformed', `key-chain entry ${i}: ${why}`);
    const broken = () => new ChainError('broken_link', `key-chain entry ${i} does not hash or link to the one before`);
    if (s.seq !== i) throw malformed('out of place');
    if (s.user !== user) throw malformed("another user's entry");
    const hash = await statementHash(s);
    const hashHex = hex(hash);
    if (hashHex !== entry.hash) throw broken();
    const shape = await checkKeyShape(s.key, entry.attestation);
    if (shape) throw malformed(shape);
    const present = keys.findIndex((k) => equalBytes(k.credentialId, s.key.credentialId));
    if (s.action === 'genesis' && opening) {
      if (entry.endorsement) throw malformed('a genesis is not endorsed');
      if (prev !== undefined && s.prev !== prev) throw broken();
      if (present >= 0) throw malformed('adds a key already in the chain');
      keys.push(s.key);
    } else if (s.action !== 'genesis' && prev !== undefined) {
      opening = false;
      if (s.prev !== prev) throw broken();
      // Up to a pinned head the endorsements were verified when the pin was
      // made; the pin check below proves these are the same statements.
      if (!pin || i > pin.seq) {
        const why = await endorsed(entry, hash, keys, rpId, origin);
        if (why) throw new ChainError('unendorsed', `key-chain entry ${i} is not endorsed by a key in the chain: ${why}`);
      }
      const at = keys[present];
      if (s.action === 'add' && present < 0) keys.push(s.key);
      else if (s.action === 'remove' && at && sameKey(at, s.key)) keys.splice(present, 1);
      else if (s.action === 'add') throw malformed('adds a key already in the chain');
      else throw malformed('removes a key not in the chain');
    } else if (s.action === 'genesis') {
      throw malformed('a genesis after a change');
    } else {
      throw malformed('the chain does not start with a genesis');
    }
    prev = hashHex;
    hashes.push(entry.hash);
  }
  const state: ChainState = {
    user,
    genesis: first.hash,
    head: hashes[hashes.length - 1] ?? '',
    seq: entries.length - 1,
    keys,
    restartedFrom: first.statement.prev ?? null,
  };
  if (pin) {
    if (pin.user !== user) throw new ChainError('wrong_user', 'the key chain belongs to another user');
    if (pin.genesis !== state.genesis) {
      throw new ChainError('restarted', `the key chain started again: pinned genesis ${pin.genesis}, now ${state.genesis}`, {
        pinned: pin.genesis,
        genesis: state.genesis,
        restartedFrom: state.restartedFrom,
        recovered: first.statement.recovered,
      });
    }
    if (hashes[pin.seq] !== pin.head) {
      throw new ChainError('diverged', `the key chain does not contain the pinned head (entry ${pin.seq})`);
    }
  }
  return state;
}
