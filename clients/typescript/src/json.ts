// A strict JSON reader for the bytes Keyward's verifiers parse with
// serde_json (clientDataJSON, JWT headers and payloads). JSON.parse is too
// forgiving to give the same verdicts: it keeps the last of duplicate keys
// (serde refuses a duplicate field) and forgets whether a number was written
// as an integer (serde's i64 refuses `1.0`). Like serde_json, it is strict
// about keys but not about a value nobody reads: a lone surrogate or an
// out-of-range number in a member serde ignores passes, and the readers
// below check the values they take (`wellFormed`, `strictValue`).

/** A JSON number as written, so integer-ness and range can be checked. */
export class JsonNumber {
  constructor(readonly raw: string) {}
  /** Written without fraction or exponent. */
  get isInteger(): boolean {
    return /^-?\d+$/.test(this.raw);
  }
  get value(): number {
    return Number(this.raw);
  }
}

/** Objects keep every member in order, duplicates included. */
export type JsonValue =
  | null
  | boolean
  | string
  | JsonNumber
  | JsonValue[]
  | { readonly entries: Array<[string, JsonValue]> };

export type JsonObject = { readonly entries: Array<[string, JsonValue]> };

export class JsonSyntaxError extends Error {}

const MAX_DEPTH = 128; // serde_json's recursion limit

/** Parses UTF-8 bytes (invalid UTF-8 is refused, as serde_json does). */
export function parseJsonBytes(bytes: Uint8Array): JsonValue {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new JsonSyntaxError('invalid UTF-8');
  }
  return parseJsonText(text);
}

export function parseJsonText(text: string): JsonValue {
  let i = 0;
  const fail = (why: string): never => {
    throw new JsonSyntaxError(`${why} at ${i}`);
  };
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail('too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: Array<[string, JsonValue]> = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const k = str();
        // serde_json reads every key to match it to a field: lone
        // surrogates there are always an error.
        if (!wellFormed(k)) fail('lone surrogate in a key');
        ws();
        if (text[i] !== ':') fail('expected :');
        i++;
        entries.push([k, value(depth + 1)]);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { entries };
        }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const items: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return items;
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return items;
        }
        fail('expected , or ]');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 1100));
    if (!m) return fail('unexpected character');
    i += m[0].length;
    return new JsonNumber(m[0]);
  };
  const hex4 = (): number => {
    const h = text.slice(i, i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
    i += 4;
    return parseInt(h, 16);
  };
  const str = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const ch = text.charCodeAt(i);
      if (ch === 0x22) {
        i++;
        return out;
      }
      if (ch < 0x20) fail('control character in string');
      if (ch !== 0x5c) {
        out += text[i];
        i++;
        continue;
      }
      i++;
      const e = text[i];
      i++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const u = hex4();
          // Lone surrogates are kept here (JS strings hold them) and
          // refused by whoever reads the string as text (wellFormed).
          out += String.fromCharCode(u);
          break;
        }
        default:
          fail('bad escape');
      }
    }
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

/** A string serde_json would read as a Rust String: no lone surrogates. */
export function wellFormed(s: string): boolean {
  return /^(?:[^\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/.test(s);
}

/** A value serde_json would read into a `Value`: text well formed, numbers finite. */
export function strictValue(v: JsonValue): boolean {
  if (typeof v === 'string') return wellFormed(v);
  if (v instanceof JsonNumber) return Number.isFinite(v.value);
  if (Array.isArray(v)) return v.every(strictValue);
  if (isObject(v)) return v.entries.every(([, x]) => strictValue(x));
  return true;
}

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

/**
 * The members of an object as a map, refusing a duplicate of any of
 * `known` (serde refuses a duplicate field of a struct; duplicates of
 * members it ignores go unnoticed, so they are allowed here too).
 */
export function members(o: JsonObject, known: readonly string[]): Map<string, JsonValue> {
  const seen = new Map<string, JsonValue>();
  for (const [k, v] of o.entries) {
    if (seen.has(k) && known.includes(k)) throw new JsonSyntaxError(`duplicate field ${k}`);
    seen.set(k, v);
  }
  return seen;
}

/** A string member, absent or null as undefined; another type throws. */
export function optString(m: Map<string, JsonValue>, k: string): string | undefined {
  const v = m.get(k);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !wellFormed(v)) throw new JsonSyntaxError(`${k} is not a string`);
  return v;
}

/** A required string member. */
export function reqString(m: Map<string, JsonValue>, k: string): string {
  const v = m.get(k);
  if (typeof v !== 'string' || !wellFormed(v)) throw new JsonSyntaxError(`${k} is not a string`);
  return v;
}

/** A required i64 member (an integer literal within range). */
export function reqI64(m: Map<string, JsonValue>, k: string): bigint {
  const v = m.get(k);
  if (!(v instanceof JsonNumber) || !v.isInteger) throw new JsonSyntaxError(`${k} is not an integer`);
  const n = BigInt(v.raw);
  if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new JsonSyntaxError(`${k} is out of range`);
  return n;
}
