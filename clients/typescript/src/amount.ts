// Decimal amounts as exchanges write them ("0.015"), read exactly
// (keyward_proof::amount): no floats, exponents or signs, so what the user
// saw is exactly what was approved. Base units are counted in BigInt, with
// Rust's u128 as the limit, so "too large" is refused at the same point.

const U128_MAX = (1n << 128n) - 1n;

export type AmountError =
  | { kind: 'syntax' }
  | { kind: 'too_precise'; decimals: number }
  | { kind: 'zero' }
  | { kind: 'too_large' };

export function amountErrorText(e: AmountError): string {
  switch (e.kind) {
    case 'syntax':
      return 'must be a plain decimal string like "0.015" (no sign, exponent or spaces)';
    case 'too_precise':
      return `has more than ${e.decimals} decimal places`;
    case 'zero':
      return 'must be greater than zero';
    case 'too_large':
      return 'is too large';
  }
}

export interface Amount {
  /** Canonical text: "1.5" for "1.50". */
  text: string;
  /** Value in the asset's smallest unit. */
  units: bigint;
}

/** Parses `raw` for an asset with `decimals` decimal places. */
export function parseAmount(raw: string, decimals: number): Amount | AmountError {
  // Rust measures the length in UTF-8 bytes.
  if (raw.length === 0 || Buffer.byteLength(raw, 'utf8') > 48) return { kind: 'syntax' };
  let int: string;
  let frac: string;
  const dot = raw.indexOf('.');
  if (dot < 0) {
    int = raw;
    frac = '';
  } else {
    int = raw.slice(0, dot);
    frac = raw.slice(dot + 1);
    if (frac === '') return { kind: 'syntax' };
  }
  const digits = (s: string) => /^[0-9]*$/.test(s);
  if (int === '' || !digits(int) || !digits(frac) || (int.length > 1 && int.startsWith('0'))) {
    return { kind: 'syntax' };
  }
  frac = frac.replace(/0+$/, '');
  const places = frac.length;
  if (places > decimals) return { kind: 'too_precise', decimals };
  const scale = 10n ** BigInt(decimals);
  if (scale > U128_MAX) return { kind: 'too_large' };
  const intValue = BigInt(int);
  if (intValue > U128_MAX) return { kind: 'too_large' };
  const fracUnits = (frac === '' ? 0n : BigInt(frac)) * 10n ** BigInt(decimals - places);
  const units = intValue * scale + fracUnits;
  if (units > U128_MAX) return { kind: 'too_large' };
  if (units === 0n) return { kind: 'zero' };
  return { text: frac === '' ? int : `${int}.${frac}`, units };
}

export function isAmountError(a: Amount | AmountError): a is AmountError {
  return 'kind' in a;
}
