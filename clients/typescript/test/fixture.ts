// Test support, as keyward_proof::testing: P-256 keys and assertions made the
// way an authenticator makes them (DER signatures), and key chains built
// from them. WebCrypto signs raw r‖s; rawToDer turns that into DER.

import { webcrypto } from 'node:crypto';
import { b64urlEncode, concat, sha256, utf8 } from '../src/bytes.js';
import { chainChallenge } from '../src/challenge.js';
import { statementHash } from '../src/chain.js';
import { hex } from '../src/bytes.js';
import type { AssertionEvidence } from '../src/evidence.js';
import type { ChainAction, ChainEntry, ChainKey, Statement } from '../src/wire.js';

export const RP_ID = 'auth.exchange.example';
export const ORIGIN = 'https://auth.exchange.example';
export const USER = '00000000-0000-0000-0000-000000000007';

export interface Key {
  privateKey: webcrypto.CryptoKey;
  record: ChainKey;
}

/** A minimal DER INTEGER of a 32-byte big-endian value. */
function derInt(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  let body = v.subarray(i);
  if ((body[0] ?? 0) >= 0x80) body = concat(new Uint8Array([0]), body);
  return concat(new Uint8Array([0x02, body.length]), body);
}

export function rawToDer(raw: Uint8Array): Uint8Array {
  const seq = concat(derInt(raw.subarray(0, 32)), derInt(raw.subarray(32)));
  return concat(new Uint8Array([0x30, seq.length]), seq);
}

const keys = new Map<number, Key>();

/** Key number `n`: a fresh P-256 key (stable within a run) and its record. */
export async function key(n: number): Promise<Key> {
  const known = keys.get(n);
  if (known) return known;
  const pair = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const point = new Uint8Array(await webcrypto.subtle.exportKey('raw', pair.publicKey));
  const k: Key = {
    privateKey: pair.privateKey,
    record: {
      credentialId: new Uint8Array(16).fill(n),
      publicKey: { alg: 'ES256', key: point },
      aaguid: undefined,
      attestationDigest: await sha256(new Uint8Array()),
    },
  };
  keys.set(n, k);
  return k;
}

export interface AssertOptions {
  flags?: number;
  clientData?: string;
  rpId?: string;
}

/** An assertion by `k` over `challenge`, as a browser and key make it. */
export async function assertOver(k: Key, challenge: Uint8Array, o: AssertOptions = {}): Promise<AssertionEvidence> {
  const auth = concat(await sha256(utf8(o.rpId ?? RP_ID)), new Uint8Array([o.flags ?? 0x05, 0, 0, 0, 1]));
  const client = utf8(o.clientData ?? `{"type":"webauthn.get","challenge":"${b64urlEncode(challenge)}","origin":"${ORIGIN}"}`);
  const signed = concat(auth, await sha256(client));
  const raw = new Uint8Array(await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, k.privateKey, signed));
  return {
    credentialId: k.record.credentialId,
    authenticatorData: auth,
    clientDataJson: client,
    signature: rawToDer(raw),
    publicKey: k.record.publicKey,
  };
}

async function entry(s: Statement, endorsement?: AssertionEvidence): Promise<ChainEntry> {
  return { statement: s, hash: hex(await statementHash(s)), endorsement, attestation: undefined };
}

export function genesis(k: Key, user = USER): Promise<ChainEntry> {
  return entry({ user, seq: 0, prev: undefined, action: 'genesis', key: k.record, at: 1, nonce: new Uint8Array(32), recovered: false });
}

export async function change(chain: ChainEntry[], action: ChainAction, subject: Key, by: Key): Promise<ChainEntry> {
  const last = chain[chain.length - 1]!;
  const s: Statement = {
    user: last.statement.user,
    seq: last.statement.seq + 1,
    prev: last.hash,
    action,
    key: subject.record,
    at: 2,
    nonce: new Uint8Array(32).fill(1),
    recovered: false,
  };
  return entry(s, await assertOver(by, await chainChallenge(await statementHash(s))));
}

/** The JSON of an assertion, as Keyward sends it. */
export function assertionJson(a: AssertionEvidence) {
  return {
    credential_id: b64urlEncode(a.credentialId),
    authenticator_data: b64urlEncode(a.authenticatorData),
    client_data_json: b64urlEncode(a.clientDataJson),
    signature: b64urlEncode(a.signature),
    public_key: { alg: 'ES256', key: b64urlEncode(a.publicKey.key) },
  };
}

export function entryJson(e: ChainEntry) {
  const k = e.statement.key;
  return {
    statement: {
      user: e.statement.user,
      seq: e.statement.seq,
      ...(e.statement.prev ? { prev: e.statement.prev } : {}),
      action: e.statement.action,
      key: {
        credential_id: b64urlEncode(k.credentialId),
        public_key: { alg: 'ES256', key: b64urlEncode(k.publicKey.key) },
        attestation_digest: b64urlEncode(k.attestationDigest),
      },
      at: e.statement.at,
      nonce: b64urlEncode(e.statement.nonce),
    },
    hash: e.hash,
    ...(e.endorsement ? { endorsement: assertionJson(e.endorsement) } : {}),
  };
}
