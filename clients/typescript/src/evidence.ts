// Re-checking one WebAuthn assertion offline (keyward_proof::evidence), with
// WebCrypto alone, in the same order and with the same refusal slugs as the
// Rust code. It proves what a key signed; whether the key is the user's is
// the key chain's business (chain.ts).

import type { webcrypto } from 'node:crypto';
type CryptoKey = webcrypto.CryptoKey;
import { concat, equalBytes, sha256, utf8, b64urlDecodeAnyPad } from './bytes.js';
import { isObject, JsonSyntaxError, members, parseJsonBytes, wellFormed, type JsonValue } from './json.js';

/** A credential public key: ES256, the SEC1 point 0x04 ‖ x ‖ y. */
export interface PublicKeyBytes {
  alg: 'ES256';
  key: Uint8Array;
}

/** Everything needed to re-verify one assertion. */
export interface AssertionEvidence {
  credentialId: Uint8Array;
  authenticatorData: Uint8Array;
  clientDataJson: Uint8Array;
  /** ASN.1 DER ECDSA signature. */
  signature: Uint8Array;
  publicKey: PublicKeyBytes;
}

/** What verified evidence proves, read from the signed authenticatorData. */
export interface EvidenceFacts {
  userVerified: boolean;
  counter: number;
}

/** Why a check refused its input: a stable slug. */
export class Refusal extends Error {
  constructor(readonly slug: string) {
    super(`refused: ${slug}`);
  }
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
// P-256's group order: DER integers must be in [1, n-1], as p256 requires.
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/**
 * ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }` to the raw 64-byte r‖s
 * WebCrypto wants, as strictly as the `der` crate reads it: minimal
 * lengths, minimal positive integers, nothing left over; undefined otherwise.
 */
export function derToRaw(der: Uint8Array): Uint8Array | undefined {
  let i = 0;
  const length = (): number | undefined => {
    const first = der[i++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    const n = first & 0x7f;
    if (n === 0 || n > 2) return undefined; // indefinite, or absurd for a signature
    let len = 0;
    for (let k = 0; k < n; k++) {
      const b = der[i++];
      if (b === undefined) return undefined;
      len = (len << 8) | b;
    }
    // Long form only when short would not do, and without leading zeros.
    if (len < 0x80 || (n === 2 && len < 0x100)) return undefined;
    return len;
  };
  if (der[i++] !== 0x30) return undefined;
  const seqLen = length();
  if (seqLen === undefined || i + seqLen !== der.length) return undefined;
  const integer = (): Uint8Array | undefined => {
    if (der[i++] !== 0x02) return undefined;
    const len = length();
    if (len === undefined || len === 0 || i + len > der.length) return undefined;
    let v = der.subarray(i, i + len);
    i += len;
    if ((v[0] ?? 0) >= 0x80) return undefined; // negative
    if (v[0] === 0 && v.length > 1) {
      if ((v[1] ?? 0) < 0x80) return undefined; // non-minimal
      v = v.subarray(1);
    }
    if (v.length > 32) return undefined;
    const out = new Uint8Array(32);
    out.set(v, 32 - v.length);
    const n = BigInt('0x' + Buffer.from(out).toString('hex'));
    if (n === 0n || n >= P256_N) return undefined;
    return out;
  };
  const r = integer();
  const s = r && integer();
  if (!r || !s || i !== der.length) return undefined;
  return concat(r, s);
}

interface ClientData {
  type: string;
  challenge: string;
  origin: string;
  crossOrigin: boolean | undefined;
}

/** clientDataJSON as serde reads it into Rust's ClientData struct. */
function clientData(bytes: Uint8Array): ClientData {
  const v: JsonValue = parseJsonBytes(bytes);
  const str = (x: JsonValue | undefined) => {
    if (typeof x !== 'string' || !wellFormed(x)) throw new JsonSyntaxError('not a string');
    return x;
  };
  const bool = (x: JsonValue | undefined) => {
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'boolean') throw new JsonSyntaxError('not a boolean');
    return x;
  };
  if (Array.isArray(v)) {
    // serde reads a struct from a sequence too, member by member.
    if (v.length < 3 || v.length > 4) throw new JsonSyntaxError('wrong length');
    return { type: str(v[0]), challenge: str(v[1]), origin: str(v[2]), crossOrigin: bool(v[3]) };
  }
  if (!isObject(v)) throw new JsonSyntaxError('not an object');
  const m = members(v, ['type', 'challenge', 'origin', 'crossOrigin']);
  return { type: str(m.get('type')), challenge: str(m.get('challenge')), origin: str(m.get('origin')), crossOrigin: bool(m.get('crossOrigin')) };
}

async function importP256(point: Uint8Array): Promise<CryptoKey | undefined> {
  if (point.length !== 65 || point[0] !== 0x04) return undefined;
  try {
    return await globalThis.crypto.subtle.importKey('raw', point, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  } catch {
    return undefined; // not a point on the curve
  }
}

/**
 * Re-verifies evidence against what the caller trusts: the expected
 * challenge, rp id and origin (keyward_proof::evidence::verify_evidence).
 * Checks, in order: the public key (`malformed_response`); the signature
 * over authenticatorData ‖ SHA-256(clientDataJSON) (`bad_signature`), so
 * every later check reads authenticated bytes; clientDataJSON
 * (`malformed_response`, `wrong_client_data_type`, `challenge_mismatch`,
 * `origin_mismatch` also for crossOrigin); authenticatorData
 * (`malformed_response`, `rp_id_mismatch`, `user_not_present`).
 */
export async function verifyEvidence(
  evidence: AssertionEvidence,
  expectedChallenge: Uint8Array,
  rpId: string,
  origin: string,
): Promise<EvidenceFacts> {
  const key = await importP256(evidence.publicKey.key);
  if (!key) throw new Refusal('malformed_response');
  const raw = derToRaw(evidence.signature);
  if (!raw) throw new Refusal('bad_signature');
  const signed = concat(evidence.authenticatorData, await sha256(evidence.clientDataJson));
  const ok = await globalThis.crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, raw, signed);
  if (!ok) throw new Refusal('bad_signature');

  let client: ClientData;
  try {
    client = clientData(evidence.clientDataJson);
  } catch {
    throw new Refusal('malformed_response');
  }
  if (client.type !== 'webauthn.get') throw new Refusal('wrong_client_data_type');
  const challenge = b64urlDecodeAnyPad(client.challenge);
  if (!challenge || !equalBytes(challenge, expectedChallenge)) throw new Refusal('challenge_mismatch');
  if (client.origin !== origin || client.crossOrigin === true) throw new Refusal('origin_mismatch');

  const auth = evidence.authenticatorData;
  if (auth.length < 37) throw new Refusal('malformed_response');
  if (!equalBytes(auth.subarray(0, 32), await sha256(utf8(rpId)))) throw new Refusal('rp_id_mismatch');
  const flags = auth[32] ?? 0;
  if ((flags & FLAG_UP) === 0) throw new Refusal('user_not_present');
  const counter = new DataView(auth.buffer, auth.byteOffset + 33, 4).getUint32(0, false);
  return { userVerified: (flags & FLAG_UV) !== 0, counter };
}
