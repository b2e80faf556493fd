// Reading an approval's evidence (keyward_proof::ApprovalEvidence JSON) as
// strictly as serde does on the Rust side: unknown fields refused where the
// Rust types refuse them, byte strings strict base64url, the key's `alg`
// exactly ES256. Whatever does not read is `malformed_evidence`: it is not
// evidence of anything.

import { b64urlDecode } from './bytes.js';
import type { AssertionEvidence, PublicKeyBytes } from './evidence.js';

export class MalformedEvidence extends Error {}

export type ChainAction = 'genesis' | 'add' | 'remove';

/** One key as the chain records it. */
export interface ChainKey {
  credentialId: Uint8Array;
  publicKey: PublicKeyBytes;
  /** Lower-case hyphenated UUID, when attested. */
  aaguid: string | undefined;
  attestationDigest: Uint8Array;
}

/** The signed-over part of a chain entry. */
export interface Statement {
  /** Lower-case hyphenated UUID. */
  user: string;
  seq: number;
  prev: string | undefined;
  action: ChainAction;
  key: ChainKey;
  at: number;
  nonce: Uint8Array;
  recovered: boolean;
}

export interface ChainEntry {
  statement: Statement;
  hash: string;
  endorsement: AssertionEvidence | undefined;
  attestation: Uint8Array | undefined;
}

/** What the user's key signed, raw, with the key chain at approval. */
export interface ApprovalEvidence {
  details: string;
  nonce: string;
  assertion: AssertionEvidence;
  keyChain: ChainEntry[];
}

const bad = (why: string): never => {
  throw new MalformedEvidence(why);
};

function object(v: unknown, what: string, known: readonly string[] | null): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(`${what} is not an object`);
  const o = v as Record<string, unknown>;
  if (known) for (const k of Object.keys(o)) if (!known.includes(k)) bad(`unknown field ${k} in ${what}`);
  return o;
}

const present = (o: Record<string, unknown>, k: string) => o[k] !== undefined && o[k] !== null;

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  return typeof v === 'string' ? v : bad(`${k} is not a string`);
}

function bytes(o: Record<string, unknown>, k: string): Uint8Array {
  return b64urlDecode(str(o, k)) ?? bad(`${k} is not base64url`);
}

function uint(o: Record<string, unknown>, k: string, signed: boolean): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || (!signed && v < 0)) return bad(`${k} is not an integer`);
  return v;
}

const UUID_HEX = /^[0-9a-fA-F]{32}$/;

/** A UUID in any form the uuid crate parses, as it prints it. */
export function uuid(s: string): string | undefined {
  let h: string;
  if (s.length === 36 || s.length === 38 || s.length === 45) {
    let body = s;
    if (s.length === 38) {
      if (!(s.startsWith('{') && s.endsWith('}'))) return undefined;
      body = s.slice(1, -1);
    } else if (s.length === 45) {
      if (!s.startsWith('urn:uuid:')) return undefined;
      body = s.slice(9);
    }
    if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(body)) return undefined;
    h = body.replace(/-/g, '');
  } else if (s.length === 32) {
    h = s;
  } else return undefined;
  if (!UUID_HEX.test(h)) return undefined;
  h = h.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function publicKey(v: unknown): PublicKeyBytes {
  const o = object(v, 'public_key', ['alg', 'key']);
  if (o.alg !== 'ES256') bad('public_key alg is not ES256');
  return { alg: 'ES256', key: bytes(o, 'key') };
}

export function readAssertion(v: unknown): AssertionEvidence {
  const o = object(v, 'assertion', ['credential_id', 'authenticator_data', 'client_data_json', 'signature', 'public_key']);
  return {
    credentialId: bytes(o, 'credential_id'),
    authenticatorData: bytes(o, 'authenticator_data'),
    clientDataJson: bytes(o, 'client_data_json'),
    signature: bytes(o, 'signature'),
    publicKey: publicKey(o.public_key),
  };
}

function chainKey(v: unknown): ChainKey {
  const o = object(v, 'key', ['credential_id', 'public_key', 'aaguid', 'attestation_digest']);
  const credentialId = bytes(o, 'credential_id');
  const pk = publicKey(o.public_key);
  const aaguid = present(o, 'aaguid') ? (uuid(str(o, 'aaguid')) ?? bad('aaguid is not a UUID')) : undefined;
  return { credentialId, publicKey: pk, aaguid, attestationDigest: bytes(o, 'attestation_digest') };
}

function statement(v: unknown): Statement {
  const o = object(v, 'statement', ['user', 'seq', 'prev', 'action', 'key', 'at', 'nonce', 'recovered']);
  const user = uuid(str(o, 'user')) ?? bad('user is not a UUID');
  const seq = uint(o, 'seq', false);
  const prev = present(o, 'prev') ? str(o, 'prev') : undefined;
  const action = o.action;
  if (action !== 'genesis' && action !== 'add' && action !== 'remove') return bad('unknown action');
  const key = chainKey(o.key);
  const at = uint(o, 'at', true);
  const nonce = bytes(o, 'nonce');
  let recovered = false;
  if (o.recovered !== undefined) {
    if (typeof o.recovered !== 'boolean') bad('recovered is not a boolean');
    recovered = o.recovered as boolean;
  }
  return { user, seq, prev, action, key, at, nonce, recovered };
}

function entry(v: unknown): ChainEntry {
  const o = object(v, 'key_chain entry', ['statement', 'hash', 'endorsement', 'attestation']);
  return {
    statement: statement(o.statement),
    hash: str(o, 'hash'),
    endorsement: present(o, 'endorsement') ? readAssertion(o.endorsement) : undefined,
    attestation: present(o, 'attestation') ? bytes(o, 'attestation') : undefined,
  };
}

/** Reads ApprovalEvidence JSON (parsed); throws MalformedEvidence. */
export function readEvidence(v: unknown): ApprovalEvidence {
  // The top level is open (no deny_unknown_fields in Rust): later servers
  // may add to it without breaking older verifiers.
  const o = object(v, 'evidence', null);
  const details = str(o, 'details');
  const nonce = str(o, 'nonce');
  const assertion = readAssertion(o.assertion);
  let keyChain: ChainEntry[] = [];
  if (o.key_chain !== undefined) {
    if (!Array.isArray(o.key_chain)) bad('key_chain is not an array');
    keyChain = (o.key_chain as unknown[]).map(entry);
  }
  return { details, nonce, assertion, keyChain };
}

/** The pin an exchange keeps of a user's chain. */
export interface Pin {
  user: string;
  genesis: string;
  head: string;
  seq: number;
}

/** Reads a stored pin (`{user, genesis, head, seq}`); undefined if not one. */
export function readPin(v: unknown): Pin | undefined {
  try {
    const o = object(v, 'pin', ['user', 'genesis', 'head', 'seq']);
    const user = uuid(str(o, 'user'));
    if (!user) return undefined;
    return { user, genesis: str(o, 'genesis'), head: str(o, 'head'), seq: uint(o, 'seq', false) };
  } catch {
    return undefined;
  }
}
