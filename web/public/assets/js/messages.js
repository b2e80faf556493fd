// Plain-language explanations of everything that can go wrong: the browser's
// WebAuthn errors and the API's problems. One place, so the words match
// everywhere. explain(err, context) → { title, text, retry }.

import { Problem } from './api.js';

const WAIT = (seconds) => {
  if (!seconds) return 'a little while';
  if (seconds < 90) return `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes < 90 ? `${minutes} minutes` : `${Math.ceil(minutes / 60)} hours`;
};

// The key's answer was refused by Keyward (problem `ceremony-refused`).
const REFUSED = {
  user_verification_required: 'This sign-in or approval looks different from usual (a new browser, place or key), so Keyward needs your key to check your PIN or fingerprint. Try again and enter your PIN (or touch the fingerprint sensor) when asked.',
  origin_mismatch: 'Your key answered for a different web address. Make sure the address bar shows Keyward\'s real address, then try again.',
  rp_id_mismatch: 'Your key answered for a different website. Make sure the address bar shows Keyward\'s real address, then try again.',
  user_not_verified: 'Keyward needs your key to check your PIN or fingerprint for this. Try again and enter your PIN (or touch the fingerprint sensor) when asked.',
  user_not_present: 'The key was not touched. Try again and touch your key when it blinks.',
  counter_regression: 'This key\'s answer looks like it came from a copy of your key, so it was refused and the key is now marked "possibly cloned". Use another key, and contact support.',
  credential_not_allowed: 'That key is not registered to this account. Use one of the keys you added to Keyward.',
  credential_exists: 'This security key is already registered. Use a different key.',
  untrusted_attestation: 'This model of security key is not accepted here. Use a supported key, such as a YubiKey 5.',
  insecure_algorithm: 'This key uses cryptography Keyward does not accept. Use a different key.',
  unsupported_algorithm: 'This key uses cryptography Keyward does not accept. Use a different key.',
  challenge_mismatch: 'The key answered an old request. Try again.',
  counter_raced: 'This key answered another request at the same moment, so this answer was not used. Try again.',
  key_possibly_cloned: 'This key is marked "possibly cloned", so it cannot approve anything until you confirm it is yours (Security keys page), or use another key.',
  user_handle_mismatch: 'That key answered for a different account. Use one of the keys you added to this account.',
  cross_origin: 'The request came from a page embedded in another website, so it was refused. Open Keyward directly and try again.',
  malformed_attestation: 'The key sent a malformed answer. Try again, or use a different key.',
  key_suspended: 'This model of security key was reported as compromised, so your key of that model cannot approve anything any more. Use another key, or add a new one on the Security keys page.',
  key_not_device_bound: 'This needs a security key whose secret never leaves the device (a hardware key such as a YubiKey), not a passkey synced between devices. Use such a key, or add one on the Security keys page.',
  key_not_attested: 'This key did not say what model it is, so it cannot sign you in on its own. Sign in with your username and password, then your key.',
  user_handle_missing: 'That passkey did not say which account it belongs to. Sign in with your username and password, then your key.',
  key_certification_too_low: 'This needs a security key model certified to a higher security level than yours. Use another key, or add a certified one on the Security keys page.',
};

// Titles for refusals a person can act on; the rest say "refused".
const REFUSED_TITLE = {
  user_not_verified: 'Your PIN or fingerprint was not checked',
  user_verification_required: 'Your PIN or fingerprint is needed this time',
  key_possibly_cloned: 'This key needs your confirmation',
  untrusted_attestation: 'This security key is not accepted',
  key_suspended: 'This key can no longer approve',
  key_not_device_bound: 'A hardware security key is needed',
  key_not_attested: 'This key did not say what model it is, so it cannot sign you in on its own. Sign in with your username and password, then your key.',
  user_handle_missing: 'That passkey did not say which account it belongs to. Sign in with your username and password, then your key.',
  key_certification_too_low: 'A more secure key is needed',
};

// Withdrawal-policy reasons (problem `policy-refused`, and step-up statuses).
export const POLICY = {
  account_frozen: 'Your account is frozen, so withdrawals are blocked. Unfreeze it first (Freeze my account page).',
  withdrawals_frozen: 'Withdrawals are paused for everyone by the exchange right now. Nothing was sent.',
  address_not_allowed: 'That destination is not on your withdrawal address list.',
  address_cooling_off: 'That address was added recently and is still in its waiting period.',
  daily_limit_exceeded: 'This would go over your daily withdrawal limit for this asset.',
  key_added: 'Withdrawals are on hold after a recent security change (a key was added).',
  key_removed: 'Withdrawals are on hold after a recent security change (a key was removed).',
  password_changed: 'Withdrawals are on hold after a recent security change (the password was changed).',
  unfrozen: 'Withdrawals are on hold because the account was unfrozen recently.',
  recovered: 'Withdrawals are on hold because the account was recovered recently (its keys were replaced).',
  security_change: 'Withdrawals are on hold after a recent security change.',
  api_key_withdraw: 'Withdrawals are on hold after an API key that can withdraw was created.',
  policy_unavailable: 'Keyward could not check the withdrawal rules just now, so nothing was approved. Try again shortly.',
  details_invalid: 'The request\'s details are no longer valid.',
  new_device: 'Withdrawals are on hold because your account was signed in to from a browser it had not been used from before.',
  new_network: 'Withdrawals are on hold because your account was signed in to from a network it had not been used from before.',
  new_country: 'Withdrawals are on hold because your account was signed in to from a country it had not been used from before.',
  new_asn: 'Withdrawals are on hold because your account was signed in to from an internet provider it had not been used from before.',
  impossible_travel: 'Withdrawals are on hold because your account was signed in to from two places too far apart to travel between in the time.',
  withdrawal_velocity: 'Withdrawals are on hold for a while because many were asked for in a short time.',
  recent_security_change: 'This is held because your account\'s security settings changed recently.',
  new_key: 'Your newest security key was added too recently to approve withdrawals yet. Use a key you have had longer, or wait.',
};

// What each risk signal noticed, in plain words (a step-up's `reasons`,
// and `risk.decided` entries of the activity log).
const SIGNAL = {
  new_device: () => 'a browser your account had not been used from before',
  new_network: (d) => `a network your account had not been used from before${d ? ` (${d})` : ''}`,
  new_country: (d) => `a country your account had not been used from before${d ? ` (${d})` : ''}`,
  new_asn: (d) => `an internet provider your account had not been used from before${d ? ` (${d})` : ''}`,
  impossible_travel: (d) => `two sign-ins too far apart to travel between in the time${d ? ` (${d})` : ''}`,
  withdrawal_velocity: (d) => `many withdrawals in a short time${d ? ` (${d})` : ''}`,
  recent_security_change: (d) => `a recent change to your account's security${d ? ` (${d})` : ''}`,
  new_key: (d) => `a security key added only recently${d ? ` (${d})` : ''}`,
};

const EFFECT = {
  none: '',
  notify: 'the exchange was told',
  require_uv: 'your key must check your PIN or fingerprint',
  hold: (r) => `withdrawals are held for ${r.hold_hours} hour${r.hold_hours === 1 ? '' : 's'}`,
  deny: 'refused',
};

/** One risk reason as a sentence fragment: what was noticed, and what it did. */
export function riskReason(r) {
  const noticed = (SIGNAL[r.signal] ?? (() => `a risk signal (${r.signal})`))(r.detail);
  const effect = typeof EFFECT[r.effect] === 'function' ? EFFECT[r.effect](r) : (EFFECT[r.effect] ?? '');
  return effect ? `${noticed}: ${effect}` : noticed;
}

function fromDomException(err, context) {
  switch (err.name) {
    case 'NotAllowedError':
      return {
        title: 'Your security key did not respond',
        // Browsers report a failed PIN or fingerprint check the same way as
        // a timeout (they may not tell the page which), so mention both.
        text: 'The request timed out or was cancelled, or the key could not check your PIN or fingerprint. Make sure your key is plugged in (or near your phone), then try again: touch it when it blinks, and enter your PIN (or use the fingerprint sensor) if asked.',
        retry: true,
      };
    case 'AbortError':
      return { title: 'Cancelled', text: 'Nothing was changed.', retry: true };
    case 'InvalidStateError':
      return context === 'create'
        ? { title: 'This key is already registered', text: 'This security key is already added (to your account or another one). Use a different key — a backup key should be a second, separate key.', retry: true }
        : { title: 'Your security key could not be used', text: 'Try again, or use another key.', retry: true };
    case 'SecurityError':
      return { title: 'Your browser refused to use the key here', text: 'Security keys only work on Keyward\'s own address. Check the address bar, open Keyward at its usual address, and try again.', retry: false };
    case 'NotSupportedError':
      return { title: 'This key or browser is not supported', text: 'Your key or browser does not support the kind of security key Keyward needs. Try another key or an up-to-date browser.', retry: true };
    case 'ConstraintError':
      return { title: 'Your key cannot verify you', text: 'Keyward needs a key that checks a PIN or fingerprint. Set a PIN on your key, or use another key.', retry: true };
    default:
      return { title: 'Your security key reported a problem', text: 'Try again. If it keeps happening, unplug the key, plug it back in, or use another key.', retry: true };
  }
}

function fromProblem(p) {
  switch (p.slug) {
    case 'network':
      return { title: 'Keyward could not be reached', text: 'Check your connection and try again.', retry: true };
    case 'invalid-credentials':
      return { title: 'Sign-in failed', text: 'That username and password do not match. Check both and try again.', retry: true };
    case 'throttled':
      return { title: 'Too many attempts', text: `For your safety, wait ${WAIT(p.retryAfter)} before trying again.`, retry: true };
    case 'account-locked':
      return { title: 'Account locked', text: 'Support has locked this account to protect it. Contact support to unlock it.', retry: false };
    case 'busy':
      return { title: 'Keyward is busy', text: `Many people are signing in right now. Wait ${WAIT(p.retryAfter)} and try again.`, retry: true };
    case 'username-taken':
      return { title: 'Username taken', text: 'Someone already uses that username. Choose another.', retry: true };
    case 'validation':
      return { title: 'Check your entry', text: p.field ? fieldMessage(p) : sentence(p.detail), retry: true };
    case 'credential-exists':
      return { title: 'This key is already registered', text: 'This security key is already added (to your account or another one). Use a different key.', retry: true };
    case 'recovery-pending':
      return { title: 'A recovery is already under way', text: sentence(p.detail), retry: false };
    case 'recovery-not-due':
      return { title: 'Not yet', text: sentence(p.detail), retry: false };
    case 'security-locked':
      return { title: 'Your security lock delays this', text: sentence(p.detail), retry: false };
    case 'last-key':
      return { title: 'This is your only key', text: 'Your last security key cannot be removed — without it you could not sign in. Add another key first, then remove this one.', retry: false };
    case 'reauth-required':
      return { title: 'Confirm it is you', text: 'Touch a security key you already use, then try again.', retry: true };
    case 'ceremony-unknown':
    case 'ceremony-expired':
      return { title: 'The request expired', text: 'It took too long, or was already used. Try again.', retry: true };
    case 'ceremony-refused':
      return { title: REFUSED_TITLE[p.reason] ?? 'Your key\'s answer was refused', text: REFUSED[p.reason] ?? 'Keyward could not verify your key\'s answer. Try again, or use another key.', retry: true };
    case 'step-up-not-pending':
      return { title: 'Nothing to approve', text: 'This request was already approved, or is no longer waiting for approval.', retry: false };
    case 'step-up-expired':
      return { title: 'This request expired', text: 'It was not approved in time, so nothing will happen. If you still want to go ahead, start again from the exchange.', retry: false };
    case 'policy-refused':
      return { title: 'Not allowed right now', text: POLICY[p.reason] ?? p.detail, retry: false };
    case 'unauthenticated':
      return { title: 'You are signed out', text: 'Your session ended. Sign in again to continue.', retry: false, signIn: true };
    case 'origin-mismatch':
      return { title: 'Wrong address', text: 'This page is not on Keyward\'s configured address. Open Keyward at its usual address.', retry: false };
    case 'not-found':
      return { title: 'Not found', text: 'It may have been removed already, or the link is wrong.', retry: false };
    case 'route-not-found':
      return { title: 'Not available', text: 'This server does not offer that yet.', retry: false };
    case 'forbidden':
      return { title: 'Not allowed', text: sentence(p.detail), retry: false };
    case 'unavailable':
    case 'internal':
      return { title: 'Something went wrong on our side', text: 'Nothing was changed. Try again in a moment.', retry: true };
    default:
      return { title: p.title || 'Something went wrong', text: sentence(p.detail) || 'Try again.', retry: true };
  }
}

/**
 * A validation problem as a sentence naming the field: "Username must be …".
 * A detail that already names it ("This password is too common …" for
 * new_password) is a whole sentence and is shown as it is.
 */
export function fieldMessage(p) {
  const name = fieldName(p.field ?? '');
  let text = (p.detail ?? '').replace(/^[\w.]+: /, '');
  const noun = name.split(' ').pop().toLowerCase();
  if (name && !text.toLowerCase().split(/\W+/).includes(noun)) text = `${name} ${text}`;
  return sentence(text);
}

function fieldName(field) {
  const name = field.split('.').pop().replaceAll('_', ' ');
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function sentence(text) {
  if (!text) return '';
  const t = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/**
 * Explains an error for people. `context` is 'create' (registering a key),
 * 'get' (using one) or undefined.
 */
export function explain(err, context) {
  if (err instanceof Problem) return fromProblem(err);
  if (err && typeof err === 'object' && 'name' in err && typeof err.name === 'string' && err instanceof Error) {
    if (err.name === 'TypeError' && /parse|JSON/i.test(err.message)) {
      return { title: 'The request could not be read', text: 'Reload the page and try again.', retry: true };
    }
    if (err.name === 'Unsupported') {
      return { title: 'Your browser cannot use security keys here', text: 'Update your browser (a current Chrome, Edge, Firefox or Safari) and try again.', retry: false };
    }
    return fromDomException(err, context);
  }
  return { title: 'Something went wrong', text: 'Try again.', retry: true };
}
