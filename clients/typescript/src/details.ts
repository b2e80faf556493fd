// What a user approves (keyward_proof::details): per-action details,
// validated field by field in the order the Rust code checks them (so the
// same `field` is reported first), written in canonical JSON and hashed.
// An exchange computes the digest of what *it* asked for here, and an
// approval verifies only if the user's key signed that digest.

import { type Amount, amountErrorText, isAmountError, parseAmount } from './amount.js';
import { canonicalJson, compareCodePoints, type Plain } from './canonical.js';
import { hex, sha256, utf8 } from './bytes.js';
import { ValidationError } from './errors.js';
import { ipEntry } from './ip.js';

export const ACTIONS = ['withdrawal', 'address.add', 'api_key.create'] as const;
export type Action = (typeof ACTIONS)[number];

/** API-key scopes a user may grant. */
export const API_KEY_SCOPES = ['read', 'trade', 'withdraw'];

/** One supported asset: its decimal places (BTC: 8). */
export interface AssetConfig {
  decimals: number;
}

/** The assets Keyward knows out of the box. */
export const DEFAULT_ASSETS: Record<string, AssetConfig> = {
  BTC: { decimals: 8 },
  ETH: { decimals: 18 },
  USDT: { decimals: 6 },
  USDC: { decimals: 6 },
};

/** Details in canonical form with their digest. */
export interface Canonical {
  action: Action;
  /** The canonical details object (what Keyward shows as `details`). */
  details: Record<string, Plain>;
  /** Canonical JSON of `{"action": .., "details": ..}`. */
  json: string;
  /** SHA-256 of `json`. */
  digest: Uint8Array;
  /** `digest` in lower-case hex, as the API shows it. */
  digestHex: string;
}

const field = (name: string) => `details.${name}`;

function check(name: string, ok: boolean, rule: string): void {
  if (!ok) throw new ValidationError(field(name), rule);
}

/** Length in Unicode scalar values (Rust's `chars().count()`), all allowed. */
function charset(s: string, min: number, max: number, allowed: (c: string) => boolean): boolean {
  const chars = [...s];
  return chars.length >= min && chars.length <= max && chars.every(allowed);
}

const asciiAlnum = (c: string) => /^[A-Za-z0-9]$/.test(c);

// ---- reading the raw details as serde reads them into Raw* structs ----

type Kind = 'string' | 'opt_string' | 'vec_string' | 'opt_whole_number';
interface FieldSpec {
  name: string;
  kind: Kind;
  /** May be absent (serde `default`, or an Option). */
  optional: boolean;
}

/** Rust's `{:?}` of a str, near enough for the messages below. */
function debugStr(s: string): string {
  const esc = s.replace(/[\\"\n\r\t\0]|[\u0001-\u001f\u007f-\u009f]/g, (c) => {
    const short: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' };
    return short[c] ?? `\\u{${c.charCodeAt(0).toString(16)}}`;
  });
  return `"${esc}"`;
}

/** serde's description of a JSON value in "invalid type" messages. */
function unexpected(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return `boolean \`${v}\``;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer \`${v}\`` : `floating point \`${v}\``;
  if (typeof v === 'string') return `string ${debugStr(v)}`;
  if (Array.isArray(v)) return 'sequence';
  return 'map';
}

/**
 * A serde error at `path` (serde_path_to_error's rendering: `.` for the
 * top, `amount`, `scopes[0]`) as Keyward names its field
 * (keyward_proof::validation::field_name): the path, or for a missing or
 * unknown member the name the message quotes (`details.colour`; Keyward
 * before issue 21 named an unknown member twice, `details.colour.colour`).
 */
function serdeError(path: string, message: string): ValidationError {
  const inner = path !== '.' && path !== '';
  let named: string | undefined;
  for (const prefix of ['missing field `', 'unknown field `']) {
    const at = message.indexOf(prefix);
    if (at < 0) continue;
    const rest = message.slice(at + prefix.length);
    const end = rest.indexOf('`');
    if (end < 0) continue;
    named = rest.slice(0, end);
    break;
  }
  // An unknown member is already the end of the path: named once.
  const unknown = message.includes('unknown field `');
  const name = inner ? (named !== undefined && !unknown ? `${path}.${named}` : path) : (named ?? 'body');
  return new ValidationError(name === 'body' ? 'details' : `details.${name}`, message);
}

/**
 * One member's value, or a ValidationError naming `path` as
 * serde_path_to_error does (`amount`, `scopes[0]`).
 */
function readField(spec: FieldSpec, v: unknown, path: string): unknown {
  const wrong = (expected: string, at = path, got: unknown = v) =>
    serdeError(at, `invalid type: ${unexpected(got)}, expected ${expected}`);
  switch (spec.kind) {
    case 'string':
      if (typeof v !== 'string') throw wrong('a string');
      return v;
    case 'opt_string':
      if (v === null) return undefined;
      if (typeof v !== 'string') throw wrong('a string');
      return v;
    case 'vec_string':
      if (!Array.isArray(v)) throw wrong('a sequence');
      v.forEach((item, i) => {
        if (typeof item !== 'string') throw wrong('a string', `${path}[${i}]`, item);
      });
      return v as string[];
    case 'opt_whole_number': {
      if (v === null) return undefined;
      if (typeof v !== 'number') throw wrong('f64');
      // JSON's 30 and 30.0 are both the integer 30 (whole_number in Rust).
      if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v === 0 ? 0 : v;
      throw serdeError(path, `invalid value: ${v}, expected a whole number of days`);
    }
  }
}

/** Reads `raw` into the named fields: serde's derive with deny_unknown_fields
 * over a serde_json Value (whose object members come in sorted order). */
function readStruct(raw: unknown, specs: FieldSpec[], name: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (Array.isArray(raw)) {
    // serde also reads a struct from a sequence, member by member in order.
    specs.forEach((spec, i) => {
      if (i < raw.length) out.set(spec.name, readField(spec, raw[i], `[${i}]`));
      else if (!spec.optional)
        throw serdeError('.', `invalid length ${raw.length}, expected struct ${name} with ${specs.length} elements`);
    });
    if (raw.length > specs.length)
      throw serdeError('.', `invalid length ${raw.length}, expected fewer elements in array`);
    return out;
  }
  if (typeof raw !== 'object' || raw === null) {
    throw serdeError('.', `invalid type: ${unexpected(raw)}, expected struct ${name}`);
  }
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj).sort(compareCodePoints)) {
    const spec = specs.find((s) => s.name === key);
    if (!spec) {
      // serde_path_to_error's path is the member itself.
      throw serdeError(key, `unknown field \`${key}\`, expected one of ${specs.map((x) => `\`${x.name}\``).join(', ')}`);
    }
    out.set(key, readField(spec, obj[key], key));
  }
  for (const spec of specs) {
    if (!out.has(spec.name) && !spec.optional) {
      throw serdeError('.', `missing field \`${spec.name}\``);
    }
  }
  return out;
}

const S = (name: string): FieldSpec => ({ name, kind: 'string', optional: false });
const OS = (name: string): FieldSpec => ({ name, kind: 'opt_string', optional: true });

// ---- the per-field rules ----

function network(s: string): string {
  check(
    'network',
    charset(s, 2, 32, (c) => /^[a-z0-9-]$/.test(c)),
    'must be a network name such as bitcoin: 2 to 32 lowercase letters, digits or dashes',
  );
  return s;
}

function address(name: string, s: string): string {
  check(
    name,
    charset(s, 8, 128, (c) => asciiAlnum(c) || ':._-'.includes(c)),
    "must be an address of 8 to 128 letters and digits (':', '.', '_' and '-' allowed; no spaces)",
  );
  return s;
}

function memo(m: string | undefined): string | undefined {
  if (m === undefined) return undefined;
  check(
    'memo',
    charset(m, 1, 64, (c) => c >= ' ' && c <= '~'),
    'must be 1 to 64 ordinary characters (letters, digits, punctuation, spaces)',
  );
  return m;
}

// Rust's char::is_whitespace (Unicode White_Space): unlike JS's trim(), it
// includes U+0085 and excludes U+FEFF.
const RUST_WS = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
// char::is_control: general category Cc.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function label(s: string): string {
  const t = s.replace(RUST_WS, '');
  const n = [...t].length;
  check(
    'label',
    n >= 1 && n <= 64 && !CONTROL.test(t),
    'must be 1 to 64 characters, without line breaks or other control characters',
  );
  return t;
}

function withdrawal(raw: unknown, assets: Record<string, AssetConfig>): Record<string, Plain> {
  const r = readStruct(
    raw,
    [S('asset'), S('network'), S('amount'), S('destination'), OS('memo'), S('client_reference')],
    'RawWithdrawal',
  );
  const asset = r.get('asset') as string;
  const config = Object.prototype.hasOwnProperty.call(assets, asset) ? assets[asset] : undefined;
  if (!config) throw new ValidationError(field('asset'), 'is not a supported asset');
  const amount = parseAmount(r.get('amount') as string, config.decimals);
  if (isAmountError(amount)) throw new ValidationError(field('amount'), amountErrorText(amount));
  const m = memo(r.get('memo') as string | undefined);
  const reference = r.get('client_reference') as string;
  check(
    'client_reference',
    charset(reference, 1, 64, (c) => asciiAlnum(c) || '._:-'.includes(c)),
    "must be 1 to 64 letters and digits ('.', '_', ':' and '-' allowed)",
  );
  return {
    asset,
    network: network(r.get('network') as string),
    amount: (amount as Amount).text,
    destination: address('destination', r.get('destination') as string),
    memo: m ?? null,
    client_reference: reference,
  };
}

function addressAdd(raw: unknown): Record<string, Plain> {
  const r = readStruct(raw, [S('network'), S('address'), OS('memo'), OS('label')], 'RawAddress');
  const net = network(r.get('network') as string);
  const addr = address('address', r.get('address') as string);
  const m = memo(r.get('memo') as string | undefined);
  const l = label((r.get('label') as string | undefined) ?? addr);
  const d: Record<string, Plain> = { network: net, address: addr, label: l };
  // Only when present: entries without a memo keep the digest they had.
  if (m !== undefined) d.memo = m;
  return d;
}

/** Rust's sort + dedup of strings (byte order, adjacent duplicates). */
function sortedUnique(xs: string[]): string[] {
  return [...xs].sort(compareCodePoints).filter((x, i, a) => i === 0 || a[i - 1] !== x);
}

function apiKey(raw: unknown): Record<string, Plain> {
  const r = readStruct(
    raw,
    [S('label'), { name: 'scopes', kind: 'vec_string', optional: false },
      { name: 'ip_allowlist', kind: 'vec_string', optional: true },
      { name: 'expires_in_days', kind: 'opt_whole_number', optional: true }],
    'RawApiKey',
  );
  const scopes = sortedUnique(r.get('scopes') as string[]);
  check(
    'scopes',
    scopes.length > 0 && scopes.every((s) => API_KEY_SCOPES.includes(s)),
    'must be one or more of read, trade and withdraw',
  );
  const rawIps = (r.get('ip_allowlist') as string[] | undefined) ?? [];
  check('ip_allowlist', rawIps.length <= 32, 'at most 32 entries');
  const ips: string[] = [];
  for (const entry of rawIps) {
    const ip = ipEntry(entry);
    if (ip === undefined) throw new ValidationError(field('ip_allowlist'), `\`${entry}\` is not an IP address or CIDR range`);
    ips.push(ip);
  }
  const allow = sortedUnique(ips);
  check('ip_allowlist', !scopes.includes('withdraw') || allow.length > 0, 'the withdraw scope requires an IP allow-list');
  const days = r.get('expires_in_days') as number | undefined;
  if (days !== undefined) check('expires_in_days', days >= 1 && days <= 3650, 'must be between 1 and 3650');
  return {
    label: label(r.get('label') as string),
    scopes,
    ip_allowlist: allow,
    expires_in_days: days ?? null,
  };
}

/**
 * Validates `raw` for `action` against an asset table and returns its
 * canonical form and digest (keyward_proof::details::canonicalise).
 * Throws ValidationError naming the first field refused.
 */
export async function canonicalise(
  action: string,
  raw: unknown,
  assets: Record<string, AssetConfig> = DEFAULT_ASSETS,
): Promise<Canonical> {
  if (!(ACTIONS as readonly string[]).includes(action)) {
    throw new ValidationError('action', 'must be one of withdrawal, address.add, api_key.create');
  }
  const a = action as Action;
  const details =
    a === 'withdrawal' ? withdrawal(raw, assets) : a === 'address.add' ? addressAdd(raw) : apiKey(raw);
  const json = canonicalJson({ action: a, details });
  const digest = await sha256(utf8(json));
  return { action: a, details: JSON.parse(json).details, json, digest, digestHex: hex(digest) };
}

/**
 * The canonical form and digest for a verifier without Keyward's asset
 * table (an exchange's back end; keyward_proof::details::digest_of): the
 * asset is taken as having exactly the decimal places the amount shows.
 * Whether the asset is supported is Keyward's check at creation.
 */
export async function digestOf(action: string, raw: unknown): Promise<Canonical> {
  const assets: Record<string, AssetConfig> = {};
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const { asset, amount } = raw as Record<string, unknown>;
    if (typeof asset === 'string' && typeof amount === 'string') {
      const dot = amount.indexOf('.');
      const places = dot < 0 ? 0 : amount.slice(dot + 1).replace(/0+$/, '').length;
      assets[asset] = { decimals: places };
    }
  }
  return canonicalise(action, raw, assets);
}
