// Verifying Keyward's signed tokens offline: Security Event Tokens (RFC 8417,
// `typ` secevent+jwt) and approval tokens, EdDSA only, against a key of
// Keyward's JWKS. The signature itself is jose's (algorithms ['EdDSA'],
// nothing else); around it, every check is made in the order keyward-client
// (jsonwebtoken) makes it, so a token gets the same TokenError kind here as
// in Rust: the header before the key, the key before the signature, the
// signature before any claim is read.

import type { webcrypto } from 'node:crypto';
type CryptoKey = webcrypto.CryptoKey;
import { compactVerify, errors as joseErrors, importJWK } from 'jose';
import { b64urlDecode } from './bytes.js';
import { uuid } from './wire.js';
import { TokenError } from './errors.js';
import {
  isObject,
  JsonNumber,
  members,
  optString,
  parseJsonBytes,
  reqI64,
  reqString,
  strictValue,
  wellFormed,
  type JsonObject,
  type JsonValue,
} from './json.js';

/** Longest token accepted (real ones are well under 1 KiB). */
export const MAX_TOKEN_LEN = 8 * 1024;
/** The `typ` every Keyward event token carries. */
export const SET_TYP = 'secevent+jwt';
/** The audience of every approval token. */
export const APPROVAL_AUDIENCE = 'keyward-step-up';

const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'ES256', 'ES384', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'];
const HEADER_STRINGS = ['typ', 'cty', 'jku', 'kid', 'x5u', 'x5t', 'x5t#S256', 'enc', 'zip', 'url', 'nonce'];
const HEADER_LISTS = ['x5c', 'crit'];

interface Header {
  typ: string | undefined;
  alg: string;
  kid: string | undefined;
  /** jwk, jku or x5u present: a key named or embedded in the token. */
  namesKey: boolean;
}

function parsePart(part: string): JsonValue {
  const bytes = b64urlDecode(part);
  if (!bytes) throw new TokenError('malformed');
  try {
    return parseJsonBytes(bytes);
  } catch {
    throw new TokenError('malformed');
  }
}

/** The header as jsonwebtoken's Header reads it; anything it refuses is malformed. */
function header(token: string): Header {
  if (token.length > MAX_TOKEN_LEN || token.split('.').length !== 3) throw new TokenError('malformed');
  const v = parsePart(token.split('.')[0] ?? '');
  if (!isObject(v)) throw new TokenError('malformed');
  try {
    const m = members(v, ['alg', 'jwk', ...HEADER_STRINGS, ...HEADER_LISTS]);
    // Members jsonwebtoken does not name are kept as `Value`s (flattened
    // extras), so they must read as JSON values too.
    if (!strictValue(v)) throw new TokenError('malformed');
    for (const k of HEADER_STRINGS) optString(m, k);
    for (const k of HEADER_LISTS) {
      const l = m.get(k);
      if (l !== undefined && l !== null && !(Array.isArray(l) && l.every((x) => typeof x === 'string' && wellFormed(x)))) {
        throw new TokenError('malformed');
      }
    }
    const jwk = m.get('jwk');
    if (jwk !== undefined && jwk !== null && !isObject(jwk)) throw new TokenError('malformed');
    const alg = m.get('alg');
    if (typeof alg !== 'string' || !ALGORITHMS.includes(alg)) throw new TokenError('malformed');
    const present = (k: string) => m.get(k) !== undefined && m.get(k) !== null;
    return { typ: optString(m, 'typ'), alg, kid: optString(m, 'kid'), namesKey: present('jwk') || present('jku') || present('x5u') };
  } catch {
    throw new TokenError('malformed');
  }
}

/** The `kid` of an event token, its header checked (typ, alg, no key in it). */
export function eventKid(token: string): string {
  const h = header(token);
  if (h.typ !== SET_TYP) throw new TokenError('malformed');
  if (h.alg !== 'EdDSA') throw new TokenError('algorithm');
  if (h.namesKey) throw new TokenError('malformed');
  if (!h.kid) throw new TokenError('unknown_key');
  return h.kid;
}

/** The `kid` of an approval token (typ absent or JWT: an event is not an approval). */
export function approvalKid(token: string): string {
  const h = header(token);
  if (h.alg !== 'EdDSA') throw new TokenError('algorithm');
  if (h.typ !== undefined && h.typ !== 'JWT') throw new TokenError('malformed');
  if (h.namesKey) throw new TokenError('malformed');
  if (!h.kid) throw new TokenError('unknown_key');
  return h.kid;
}

/** A JWK Set as fetched from `/.well-known/jwks.json`. */
export interface JwkSet {
  keys: Array<Record<string, unknown>>;
}

/** Reads a JWKS document; a document that is not one is TokenError `jwks`. */
export function readJwks(v: unknown): JwkSet {
  const keys = (v as { keys?: unknown } | null)?.keys;
  if (typeof v !== 'object' || v === null || !Array.isArray(keys)) throw new TokenError('jwks');
  if (!keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k) && typeof (k as { kty?: unknown }).kty === 'string')) {
    throw new TokenError('jwks');
  }
  return { keys: keys as Array<Record<string, unknown>> };
}

/**
 * The Ed25519 key named `kid`: exactly one with that kid (`unknown_key`
 * when none), `OKP`/`Ed25519`, `alg` absent or EdDSA, a 32-byte `x`
 * (`jwks` otherwise).
 */
export async function findKey(set: JwkSet, kid: string): Promise<CryptoKey> {
  const matching = set.keys.filter((k) => k.kid === kid);
  const jwk = matching[0];
  if (!jwk) throw new TokenError('unknown_key');
  if (matching.length > 1) throw new TokenError('jwks');
  if (jwk.alg !== undefined && jwk.alg !== null && jwk.alg !== 'EdDSA') throw new TokenError('jwks');
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TokenError('jwks');
  const raw = b64urlDecode(jwk.x);
  if (!raw || raw.length !== 32) throw new TokenError('jwks');
  try {
    // Only the public members: nothing else of the JWK reaches the key.
    return (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'EdDSA')) as CryptoKey;
  } catch {
    throw new TokenError('jwks');
  }
}

/** Checks the signature (EdDSA only) and returns the payload, strictly parsed. */
async function verifiedPayload(token: string, key: CryptoKey): Promise<JsonObject> {
  const [, payload = '', signature = ''] = token.split('.');
  // jsonwebtoken decodes the signature strictly before verifying it.
  if (!b64urlDecode(signature)) throw new TokenError('malformed');
  try {
    // jose refuses a `crit` header it does not understand (RFC 7515
    // §4.1.11), as keyward-client does (vector `header/crit`). Keyward
    // never sets `crit`.
    await compactVerify(token, key, { algorithms: ['EdDSA'] });
  } catch (e) {
    if (e instanceof joseErrors.JWSSignatureVerificationFailed) throw new TokenError('bad_signature');
    throw new TokenError('malformed');
  }
  const v = parsePart(payload);
  if (!isObject(v)) throw new TokenError('malformed');
  return v;
}

/** The claims of a Security Event Token. */
export interface SecurityEventClaims {
  iss: string;
  aud: string;
  iat: number;
  jti: string;
  toe: number;
  sub_id: { format: string; id: string };
  /** The event, keyed by type URI (Keyward's own, and a CAEP/RISC one where it fits). */
  events: Record<string, unknown>;
  /** The event's position in Keyward's log (strictly increasing). */
  keyward_seq: number;
}

const EVENT_FIELDS = ['iss', 'aud', 'iat', 'jti', 'toe', 'sub_id', 'events', 'keyward_seq'];
// jsonwebtoken reads these too (for its own checks): a duplicate is refused.
const SPEC_FIELDS = ['exp', 'nbf', 'sub'];

/** Plain JS from the strict tree (numbers as numbers). */
function plain(v: JsonValue): unknown {
  if (v instanceof JsonNumber) return v.value;
  if (Array.isArray(v)) return v.map(plain);
  if (isObject(v)) return Object.fromEntries(v.entries.map(([k, x]) => [k, plain(x)]));
  return v;
}

/**
 * Verifies an event token against a key set, offline: header, key, EdDSA
 * signature, claims, exact issuer and audience, at least one event (events
 * do not expire: they say what happened).
 */
export async function verifyEventWithSet(token: string, set: JwkSet, issuer: string, audience: string): Promise<SecurityEventClaims> {
  const key = await findKey(set, eventKid(token));
  const payload = await verifiedPayload(token, key);
  let claims: SecurityEventClaims;
  try {
    const m = members(payload, [...EVENT_FIELDS, ...SPEC_FIELDS]);
    const sub = m.get('sub_id');
    // serde reads a struct from an object, or from a sequence in field order.
    const s = Array.isArray(sub) && sub.length === 2
      ? new Map<string, JsonValue>([['format', sub[0] ?? null], ['id', sub[1] ?? null]])
      : isObject(sub) ? members(sub, ['format', 'id']) : undefined;
    if (!s) throw new TokenError('malformed');
    const events = m.get('events');
    if (!isObject(events) || !strictValue(events)) throw new TokenError('malformed');
    const small = (n: bigint) => {
      if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) throw new TokenError('malformed');
      return Number(n);
    };
    claims = {
      iss: reqString(m, 'iss'),
      aud: reqString(m, 'aud'),
      iat: small(reqI64(m, 'iat')),
      jti: reqString(m, 'jti'),
      toe: small(reqI64(m, 'toe')),
      sub_id: { format: reqString(s, 'format'), id: reqString(s, 'id') },
      events: plain(events) as Record<string, unknown>,
      keyward_seq: small(reqI64(m, 'keyward_seq')),
    };
  } catch {
    throw new TokenError('malformed');
  }
  if (claims.iss !== issuer) throw new TokenError('wrong_issuer');
  if (claims.aud !== audience) throw new TokenError('wrong_audience');
  if (Object.keys(claims.events).length === 0) throw new TokenError('malformed');
  return claims;
}

/** What an approval token asserts (keyward_api::ApprovalClaims). */
export interface ApprovalClaims {
  sid: string;
  sub: string;
  action: string;
  details_digest: string;
  cred_id: string;
  aaguid?: string;
  uv: boolean;
  iat: number;
  exp: number;
  jti: string;
  iss: string;
  aud: string;
  chain_head?: string;
}


/**
 * Verifies an approval token against a key set: EdDSA, exact issuer,
 * audience `keyward-step-up`, `exp` in the future and `iat` not (within
 * `leeway` seconds), at time `now` (Unix seconds).
 */
export async function verifyApprovalWithSet(
  token: string,
  set: JwkSet,
  issuer: string,
  leeway = 0,
  now = Math.floor(Date.now() / 1000),
): Promise<ApprovalClaims> {
  const key = await findKey(set, approvalKid(token));
  const payload = await verifiedPayload(token, key);
  let c: ApprovalClaims;
  try {
    const m = members(payload, ['sid', 'sub', 'action', 'details_digest', 'cred_id', 'aaguid', 'uv', 'iat', 'exp', 'jti', 'iss', 'aud', 'chain_head', 'nbf']);
    const id = (s: string | undefined) => {
      const u = s === undefined ? undefined : uuid(s);
      if (u === undefined) throw new TokenError('malformed');
      return u;
    };
    const uuidOf = (k: string) => id(reqString(m, k));
    const uv = m.get('uv');
    if (typeof uv !== 'boolean') throw new TokenError('malformed');
    const rawAaguid = optString(m, 'aaguid');
    const aaguid = rawAaguid === undefined ? undefined : id(rawAaguid);
    const chainHead = optString(m, 'chain_head');
    c = {
      sid: uuidOf('sid'),
      sub: reqString(m, 'sub'),
      action: reqString(m, 'action'),
      details_digest: reqString(m, 'details_digest'),
      cred_id: reqString(m, 'cred_id'),
      ...(aaguid !== undefined ? { aaguid } : {}),
      uv,
      iat: Number(reqI64(m, 'iat')),
      exp: Number(reqI64(m, 'exp')),
      jti: uuidOf('jti'),
      iss: reqString(m, 'iss'),
      aud: reqString(m, 'aud'),
      ...(chainHead !== undefined ? { chain_head: chainHead } : {}),
    };
  } catch {
    throw new TokenError('malformed');
  }
  // jsonwebtoken reads `exp` as an unsigned number: a negative one is malformed.
  if (c.exp < 0) throw new TokenError('malformed');
  if (c.exp < now - leeway) throw new TokenError('expired');
  if (c.iss !== issuer) throw new TokenError('wrong_issuer');
  if (c.aud !== APPROVAL_AUDIENCE) throw new TokenError('wrong_audience');
  if (now >= c.exp + leeway) throw new TokenError('expired');
  if (c.iat > now + leeway) throw new TokenError('not_yet_valid');
  return c;
}

/**
 * True when `claims` approve exactly this step-up with exactly these
 * details: call it with the digest of what you are about to pay.
 */
export function approvalMatches(claims: ApprovalClaims, expectedDigest: string, stepUpId: string): boolean {
  return (
    expectedDigest !== '' &&
    claims.sid.toLowerCase() === stepUpId.toLowerCase() &&
    claims.details_digest.toLowerCase() === expectedDigest.toLowerCase()
  );
}
