// Byte encodings exactly as the Rust side reads them (the `base64` crate's
// URL_SAFE_NO_PAD engine): a wrong alphabet, padding, or non-zero trailing
// bits is an error, so every byte string has one spelling and a verdict
// never depends on which spelling a relay chose.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const INDEX = new Map<string, number>([...ALPHABET].map((c, i) => [c, i]));

/** Strict base64url without padding; undefined when not canonical. */
export function b64urlDecode(s: string): Uint8Array | undefined {
  return decode(s, 0);
}

/**
 * base64url with padding optional: canonical padding or less of it (the
 * crate's `DecodePaddingMode::Indifferent`, used for the WebAuthn challenge).
 */
export function b64urlDecodeAnyPad(s: string): Uint8Array | undefined {
  const m = /=*$/.exec(s);
  const pad = m ? m[0].length : 0;
  return decode(s.slice(0, s.length - pad), pad);
}

function decode(s: string, pad: number): Uint8Array | undefined {
  const rem = s.length % 4;
  if (rem === 1) return undefined;
  const canonicalPad = rem === 0 ? 0 : 4 - rem;
  if (pad > canonicalPad) return undefined;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of s) {
    const v = INDEX.get(c);
    if (v === undefined) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0) return undefined; // non-zero trailing bits
  return out.subarray(0, o);
}

export function b64urlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return d === 0;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data));
}
