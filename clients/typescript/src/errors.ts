// Everything a Keyward call or check can fail with, as classes a caller can
// `instanceof`, each carrying the stable strings the shared test vectors
// record (/spec/vectors.md): `error` (and `reason`, `field`, `kind`), so the
// verdicts of the Rust, TypeScript and other clients compare mechanically.

/** The base of every error this package throws. `error` is a stable slug. */
export class KeywardError extends Error {
  constructor(
    readonly error: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** `already-redeemed`: the approval was redeemed before. Do not pay again. */
export class AlreadyRedeemedError extends KeywardError {
  constructor() {
    super('already_redeemed', 'the approval was already redeemed');
  }
}

/** `approval-expired`: the approval was not redeemed in time. */
export class ApprovalExpiredError extends KeywardError {
  constructor() {
    super('approval_expired', 'the approval expired');
  }
}

/** `not-approved`: the step-up has not been approved (yet). */
export class NotApprovedError extends KeywardError {
  constructor() {
    super('not_approved', 'the step-up has not been approved');
  }
}

/** `policy-refused`: the withdrawal policy said no at redeem (`reason`). */
export class PolicyRefusedError extends KeywardError {
  constructor(readonly reason: string) {
    super('policy_refused', `refused by withdrawal policy (${reason})`);
  }
}

/** `invalid-service-key`: the service key is missing, unknown or revoked. */
export class UnauthorizedError extends KeywardError {
  constructor() {
    super('unauthorized', 'the service key was not accepted');
  }
}

/** `insufficient-scope` or `forbidden`: the service key lacks a scope. */
export class ForbiddenError extends KeywardError {
  constructor() {
    super('forbidden', 'the service key is not allowed to do this');
  }
}

/** `not-found`: no such step-up (or user). */
export class NotFoundError extends KeywardError {
  constructor() {
    super('not_found', 'not found');
  }
}

/**
 * A field was refused: by Keyward (`validation` problem) or by this
 * package's own reading of the details (the same rules, the same `field`,
 * e.g. `details.amount`).
 */
export class ValidationError extends KeywardError {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super('validation', `invalid ${field}: ${detail}`);
  }
}

/** `api-key-refused`: the presented user API key may not be used (`reason`). */
export class ApiKeyRefusedError extends KeywardError {
  constructor(readonly reason: string) {
    super('api_key_refused', `API key refused (${reason})`);
  }
}

/** Any other error response. */
export class HttpError extends KeywardError {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly detail: string | undefined,
  ) {
    super('http', `HTTP ${status} (${type})`);
  }
}

/** The request did not complete, or the response could not be read. */
export class TransportError extends KeywardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('transport', `transport error: ${message}`);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** The base URL (or service key) cannot be used. */
export class InvalidUrlError extends KeywardError {
  constructor(why: string) {
    super('invalid_url', `invalid base URL: ${why}`);
  }
}

/** A wait ended with the step-up still pending. */
export class TimeoutError extends KeywardError {
  constructor() {
    super('timeout', 'timed out waiting for the approval');
  }
}

/** A wait ended because the step-up left `pending` without approval. */
export class EndedError extends KeywardError {
  constructor(
    readonly status: string,
    readonly reason: string | null,
  ) {
    super('ended', `the step-up ended without approval (status: ${status})`);
  }
}

/** Why a token (approval or security event) was refused. */
export type TokenErrorKind =
  | 'malformed'
  | 'algorithm'
  | 'unknown_key'
  | 'jwks'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience';

const TOKEN_TEXT: Record<TokenErrorKind, string> = {
  malformed: 'malformed token',
  algorithm: 'algorithm not allowed',
  unknown_key: 'signed by an unknown key',
  jwks: 'invalid JWKS',
  bad_signature: 'bad signature',
  expired: 'expired',
  not_yet_valid: 'not yet valid',
  wrong_issuer: 'wrong issuer',
  wrong_audience: 'wrong audience',
};

/** A token was refused by offline verification; `kind` (= `error`) says why. */
export class TokenError extends KeywardError {
  constructor(readonly kind: TokenErrorKind) {
    super(kind, `token refused: ${TOKEN_TEXT[kind]}`);
  }
}

/**
 * An approval's evidence did not verify: do not pay. `error` is the slug of
 * keyward_proof's ApprovalError (`details_differ`, `malformed_nonce`,
 * `assertion_invalid`, `user_not_verified`, `chain_invalid`,
 * `key_not_in_chain`) or `malformed_evidence` / `missing_evidence`;
 * `reason` refines `assertion_invalid` (`bad_signature`, …) and
 * `chain_invalid` (`broken_link`, …).
 */
export class UnverifiedError extends KeywardError {
  constructor(
    error: string,
    readonly reason: string | undefined,
    readonly detail: string,
  ) {
    super(error, `approval not verified (${error}${reason ? `: ${reason}` : ''}): ${detail}`);
  }
}

/**
 * The user's key chain has another genesis than the one pinned: it started
 * again (recovery, an operator reset) or Keyward's data was replaced. Not
 * paid; confirm with the user out of band, then `Verifier.acceptRestart`.
 */
export class ChainRestartedError extends KeywardError {
  constructor(
    readonly pinned: string,
    readonly genesis: string,
    readonly restartedFrom: string | null,
    readonly recovered: boolean,
  ) {
    super('chain_restarted', `the user's key chain started again (pinned genesis ${pinned}, now ${genesis})`);
  }
}

/** The pin store failed. */
export class PinStoreError extends KeywardError {
  constructor(why: string) {
    super('pin_store', `pin store: ${why}`);
  }
}

/** Prefix of every problem `type` URI (keyward_api::PROBLEM_BASE). */
export const PROBLEM_BASE = 'https://keyward.dev/problems/';

/**
 * An error response as a typed error: the problem's slug (the end of its
 * `type`) picks the class; a body that is not a problem, or a slug this
 * version does not map, is an HttpError.
 */
export function fromResponse(status: number, body: string): KeywardError {
  let p: unknown;
  try {
    p = JSON.parse(body);
  } catch {
    return new HttpError(status, 'about:blank', undefined);
  }
  // serde's Problem needs type, title and status; anything else is not one.
  if (
    typeof p !== 'object' || p === null ||
    typeof (p as { type?: unknown }).type !== 'string' ||
    typeof (p as { title?: unknown }).title !== 'string' ||
    typeof (p as { status?: unknown }).status !== 'number'
  ) {
    return new HttpError(status, 'about:blank', undefined);
  }
  const problem = p as { type: string; detail?: unknown; field?: unknown; reason?: unknown };
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const slug = problem.type.startsWith(PROBLEM_BASE) ? problem.type.slice(PROBLEM_BASE.length) : problem.type;
  switch (slug) {
    case 'already-redeemed':
      return new AlreadyRedeemedError();
    case 'approval-expired':
      return new ApprovalExpiredError();
    case 'not-approved':
      return new NotApprovedError();
    case 'policy-refused':
      return new PolicyRefusedError(known(POLICY_REASONS, text(problem.reason), 'unknown'));
    case 'invalid-service-key':
      return new UnauthorizedError();
    case 'insufficient-scope':
    case 'forbidden':
      return new ForbiddenError();
    case 'not-found':
      return new NotFoundError();
    case 'validation':
      return new ValidationError(text(problem.field), text(problem.detail));
    case 'api-key-refused':
      return new ApiKeyRefusedError(known(API_KEY_REFUSALS, text(problem.reason), 'other'));
    default:
      return new HttpError(status, problem.type, text(problem.detail) || undefined);
  }
}

/** keyward_api::PolicyReason wire names; another is `unknown`. */
export const POLICY_REASONS = [
  'account_frozen', 'withdrawals_frozen', 'policy_unavailable', 'address_not_allowed',
  'address_cooling_off', 'daily_limit_exceeded', 'details_invalid', 'key_added', 'key_removed',
  'password_changed', 'api_key_withdraw', 'unfrozen', 'recovered', 'security_change', 'new_device',
  'new_network', 'new_country', 'new_asn', 'impossible_travel', 'withdrawal_velocity',
  'recent_security_change', 'new_key',
] as const;

/** keyward_api::ApiKeyRefusal wire names; another is `other`. */
export const API_KEY_REFUSALS = [
  'malformed', 'unknown', 'revoked', 'expired', 'scope_not_granted', 'ip_not_allowed',
  'user_frozen', 'withdrawals_frozen', 'held',
] as const;

// Forward compatible, as the Rust enums' catch-all variants are.
function known(names: readonly string[], s: string, fallback: string): string {
  return names.includes(s) ? s : fallback;
}
