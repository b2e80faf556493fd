// The browser side of every ceremony: Keyward sends WebAuthn Level 3 JSON
// options, the browser parses them, the key answers, and the answer goes back
// as JSON. Each function runs options → key → verify and can be cancelled.

import { api } from './api.js';

/** Whether this browser has the Level 3 JSON helpers Keyward relies on. */
export function supported() {
  return typeof window.PublicKeyCredential === 'function'
    && typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function'
    && typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function';
}

function unsupported() {
  const err = new Error('WebAuthn Level 3 JSON helpers missing');
  err.name = 'Unsupported';
  return err;
}

/**
 * A credential protected at credProtect level 3 ("userVerificationRequired")
 * can only ever be used with the key's PIN or fingerprint, and Chromium
 * refuses to create one unless user verification is also required now
 * (NotSupportedError "protection policy is inconsistent"). Make the request
 * consistent — only ever stricter, never weaker.
 */
export function consistentCreation(publicKeyJSON) {
  const wantsUv = publicKeyJSON?.extensions?.credentialProtectionPolicy === 'userVerificationRequired';
  const selection = publicKeyJSON?.authenticatorSelection ?? {};
  if (!wantsUv || selection.userVerification === 'required') return publicKeyJSON;
  return { ...publicKeyJSON, authenticatorSelection: { ...selection, userVerification: 'required' } };
}

/** Asks a key to create a credential for these options (JSON form). */
export async function create(publicKeyJSON, signal) {
  if (!supported()) throw unsupported();
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(consistentCreation(publicKeyJSON));
  const credential = await navigator.credentials.create({ publicKey, signal });
  return credential.toJSON();
}

/** Asks a key for an assertion over these options (JSON form). */
export async function get(publicKeyJSON, signal) {
  if (!supported()) throw unsupported();
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(publicKeyJSON);
  const credential = await navigator.credentials.get({ publicKey, signal });
  return credential.toJSON();
}

/** Whether the browser can offer passkeys in the username field's autofill. */
export async function conditionalAvailable() {
  return supported()
    && typeof PublicKeyCredential.isConditionalMediationAvailable === 'function'
    && PublicKeyCredential.isConditionalMediationAvailable().catch(() => false);
}

/**
 * Asks for a passkey: in the username field's autofill (`conditional`), or
 * in the browser's own dialog. Resolves with the credential JSON.
 */
export async function getPasskey(publicKeyJSON, signal, { conditional = false } = {}) {
  if (!supported()) throw unsupported();
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(publicKeyJSON);
  const request = { publicKey, signal };
  if (conditional) request.mediation = 'conditional';
  const credential = await navigator.credentials.get(request);
  return credential.toJSON();
}

/** Sign-in, second step: the key after the password. */
export async function signInWithKey(signal) {
  const options = await api.post('/v1/signin/key/options');
  const credential = await get(options.publicKey, signal);
  return api.post('/v1/signin/key/verify', { ceremony: options.ceremony, credential });
}

/**
 * Enrols a new key. On an account that already has keys, one of them then
 * signs for the new one (Keyward answers 202 with the options for that
 * touch): `beforeEndorsing` runs first, to tell the user which key to touch.
 */
export async function enrolKey(label, signal, beforeEndorsing) {
  const options = await api.post('/v1/keys/registration/options');
  const credential = await create(options.publicKey, signal);
  const result = await api.post('/v1/keys/registration/verify', { ceremony: options.ceremony, label, credential });
  if (!result.publicKey) return result;
  beforeEndorsing?.();
  const endorsement = await get(result.publicKey, signal);
  return api.post('/v1/keys/endorsement/verify', { ceremony: result.ceremony, credential: endorsement });
}

/** Removes a key: one of the user's keys signs for its removal. */
export async function removeKey(id, signal) {
  const path = `/v1/keys/${encodeURIComponent(id)}/removal`;
  const options = await api.post(`${path}/options`);
  const credential = await get(options.publicKey, signal);
  return api.post(`${path}/verify`, { ceremony: options.ceremony, credential });
}

/** A fresh assertion that unlocks key changes for a few minutes. */
export async function reauthenticate(signal) {
  const options = await api.post('/v1/reauth/options');
  const credential = await get(options.publicKey, signal);
  return api.post('/v1/reauth/verify', { ceremony: options.ceremony, credential });
}

/** Approves a step-up (withdrawal, new address, new API key) with a key touch. */
export async function approveStepUp(id, signal) {
  const path = `/v1/step-ups/${encodeURIComponent(id)}`;
  const options = await api.post(`${path}/options`);
  const credential = await get(options.publicKey, signal);
  return api.post(`${path}/verify`, { ceremony: options.ceremony, credential });
}
