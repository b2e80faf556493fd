// The canonical JSON Keyward hashes (keyward_proof::details::canonical_json):
// object keys sorted, no whitespace, `null` members dropped (so an absent
// optional field has one spelling), strings escaped as serde_json does,
// which for the values allowed here is RFC 8785's escaping too.

/** Compares by Unicode code point, as Rust orders `String`s (UTF-8 bytes). */
export function compareCodePoints(a: string, b: string): number {
  // Plain `<` compares UTF-16 code units, which orders U+E000..U+FFFF after
  // astral characters; walk code points instead so the order is Rust's.
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

export type Plain = null | boolean | number | string | Plain[] | { [k: string]: Plain | undefined };

export function canonicalJson(v: Plain | undefined): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    // Only integers reach the canonical form (amounts are strings).
    if (!Number.isSafeInteger(v)) throw new Error('canonical JSON holds integers only');
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v)
    .filter((k) => v[k] !== null && v[k] !== undefined)
    .sort(compareCodePoints);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
}
