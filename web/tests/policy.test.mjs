// Server policies seen from the browser.
//
// User verification required at sign-in: a key whose PIN/fingerprint check
// fails is refused — by Chromium itself when the request says "required"
// (NotAllowedError; nothing reaches Keyward), and by Keyward (problem
// `ceremony-refused`, reason `user_not_verified`) when a client drops the
// requirement and sends an assertion without the UV flag. Either way the page
// explains it and stays on the key step; with a working check it signs in.
//
// Attestation policy `trusted`: Chromium's virtual key attests with `packed`
// and a single x5c certificate, "C=US, O=Chromium, OU=Authenticator
// Attestation, CN=Batch Certificate", self-signed (issuer = subject, signed by
// its own key), with Basic Constraints CA:FALSE and no Key Usage; its AAGUID is
// the placeholder 01020304-0506-0708-0102-030405060708. There is no separate
// Chromium CA.
// - Only the Yubico list trusted: enrolment is refused (`untrusted_attestation`)
//   and the page says the key is not accepted.
// - The batch certificate itself as an extra CA: still refused. webauthn-rs
//   0.6 (crypto-glue's X509Store) checks the leaf against the configured root
//   as issuer → subject, and requires that root to be a CA (CA:TRUE and
//   keyCertSign): AttestationChainNotTrusted(CaNotMarkedAsSuch).
// - A CA that does chain: Chromium signs with the example attestation key of
//   the FIDO U2F specification (public, in Chromium's virtual_fido_device.cc),
//   so fixtures/chromium-virtual-authenticator-ca.pem is a self-signed
//   certificate for the same name and key with CA:TRUE, pathlen:0 and
//   keyCertSign (valid 2017–2099). As an extra CA for the placeholder AAGUID
//   it lets the virtual key enrol under `trusted`. Test-only: anybody holding
//   that published key can mint such attestations.
//   Made with: openssl req -new -key <U2F example key> -subj "/C=US/O=Chromium/
//   OU=Authenticator Attestation/CN=Batch Certificate", then openssl ca
//   -selfsign -startdate 20170101000000Z -enddate 20991231235959Z with
//   basicConstraints=critical,CA:TRUE,pathlen:0, keyUsage=critical,keyCertSign,cRLSign.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { addKey, launchBrowser, newPage, shot, startServer } from './harness.mjs';
import { PASSWORD, dialog, signIn, signOut, signUpWithKey } from './flows.mjs';

// Chromium's virtual authenticator reports this placeholder AAGUID.
const CHROMIUM_AAGUID = '01020304-0506-0708-0102-030405060708';
const MINTED_CA = fileURLToPath(new URL('./fixtures/chromium-virtual-authenticator-ca.pem', import.meta.url));

/** A minimal CBOR decoder: enough for an attestationObject (maps, arrays, bytes, text, ints). */
function decodeCbor(buf) {
  let i = 0;
  const length = (info) => {
    if (info < 24) return info;
    if (info === 24) return buf[i++];
    if (info === 25) { const v = buf.readUInt16BE(i); i += 2; return v; }
    if (info === 26) { const v = buf.readUInt32BE(i); i += 4; return v; }
    if (info === 27) { const v = Number(buf.readBigUInt64BE(i)); i += 8; return v; }
    throw new Error(`CBOR: unsupported length ${info}`);
  };
  const item = () => {
    const head = buf[i++];
    const major = head >> 5;
    const info = head & 31;
    switch (major) {
      case 0: return length(info);
      case 1: return -1 - length(info);
      case 2: { const n = length(info); const v = buf.subarray(i, i + n); i += n; return v; }
      case 3: { const n = length(info); const v = buf.subarray(i, i + n).toString('utf8'); i += n; return v; }
      case 4: return Array.from({ length: length(info) }, item);
      case 5: {
        const map = new Map();
        for (let n = length(info); n > 0; n -= 1) { const key = item(); map.set(key, item()); }
        return map;
      }
      case 7:
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        break;
      default:
    }
    throw new Error(`CBOR: unsupported item 0x${head.toString(16)}`);
  };
  return item();
}

function uuid(bytes) {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Signs up through /signup and presses "Add security key"; resolves with the verify response. */
async function signUpAndOfferKey(page, origin, username) {
  await page.goto(`${origin}/signup`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/enrol');
  await page.getByLabel('Name this key').fill('Desk key');
  const verified = page.waitForResponse('**/v1/keys/registration/verify');
  await page.getByRole('button', { name: 'Add security key' }).click();
  const response = await verified;
  return { status: response.status(), body: await response.json() };
}

/** Asserts the page refused the key as "not accepted" and is still on the first-key step. */
async function assertKeyNotAccepted(page, outcome, screenshot) {
  assert.equal(outcome.status, 400);
  assert.match(outcome.body.type, /\/ceremony-refused$/);
  assert.equal(outcome.body.reason, 'untrusted_attestation');
  await dialog(page).getByText('This security key is not accepted').waitFor();
  await dialog(page).getByText('This model of security key is not accepted here. Use a supported key, such as a YubiKey 5.').waitFor();
  await shot(page, screenshot);
  await dialog(page).getByRole('button', { name: 'Close' }).click();
  await dialog(page).waitFor({ state: 'detached' });
  assert.match(page.url(), /\/enrol$/);
  await page.getByRole('heading', { name: 'Add your security key' }).waitFor();
}

describe('user verification required at sign-in', { timeout: 80_000 }, () => {
  let server;
  let browser;
  let page;
  let key;
  const username = 'verified-user';

  before(async () => {
    server = await startServer({ KEYWARD_USER_VERIFICATION__SIGN_IN: 'required' });
    browser = await launchBrowser();
    page = await newPage(browser);
    key = await addKey(page);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('is refused by Chromium itself when the key cannot verify the user', async () => {
    await signUpWithKey(page, server.origin, username);
    await page.goto(`${server.origin}/`);
    await signOut(page);

    await key.verified(false);
    const sent = [];
    const onRequest = (request) => { if (request.url().endsWith('/v1/signin/key/verify')) sent.push(request); };
    page.on('request', onRequest);
    const options = page.waitForResponse('**/v1/signin/key/options');
    await signIn(page, server.origin, username, { from: 'here' });
    assert.equal((await (await options).json()).publicKey.userVerification, 'required');

    // Chromium answers NotAllowedError at once (it does not say why), so no
    // assertion is ever sent to Keyward.
    await dialog(page).getByText('Your security key did not respond').waitFor();
    await dialog(page).getByText('or the key could not check your PIN or fingerprint', { exact: false }).waitFor();
    await dialog(page).getByRole('button', { name: 'Try again' }).waitFor();
    await shot(page, 'signin-uv-failed-browser');
    assert.deepEqual(sent, [], 'no assertion reached Keyward');
    page.off('request', onRequest);

    await dialog(page).getByRole('button', { name: 'Close' }).click();
    await dialog(page).waitFor({ state: 'detached' });
    assert.match(page.url(), /\/signin$/);
    await page.getByRole('heading', { name: 'Use your security key' }).waitFor();
  });

  it('is refused by Keyward (user_not_verified) when a client drops the requirement', async () => {
    // A client that asks for no verification: the key then answers with
    // "user present" only, and Keyward enforces its own rule.
    await page.route('**/v1/signin/key/options', async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      json.publicKey.userVerification = 'discouraged';
      await route.fulfill({ response, json });
    });
    const verified = page.waitForResponse('**/v1/signin/key/verify');
    await page.getByRole('button', { name: 'Use my security key' }).click();
    const response = await verified;
    assert.equal(response.status(), 400);
    const problem = await response.json();
    assert.match(problem.type, /\/ceremony-refused$/);
    assert.equal(problem.reason, 'user_not_verified');

    await dialog(page).getByText('Your PIN or fingerprint was not checked').waitFor();
    await dialog(page).getByText('Keyward needs your key to check your PIN or fingerprint for this.', { exact: false }).waitFor();
    await shot(page, 'signin-uv-refused-server');
    await page.unroute('**/v1/signin/key/options');
    assert.match(page.url(), /\/signin$/);
  });

  it('signs in once the key verifies the user again', async () => {
    await key.verified(true);
    await dialog(page).getByRole('button', { name: 'Try again' }).click();
    await page.waitForURL(`${server.origin}/`);
    await page.getByRole('heading', { name: `Hello, ${username}` }).waitFor();
    assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
  });
});

describe('attestation policy "trusted" and Chromium\'s virtual key', { timeout: 85_000 }, () => {
  let browser;
  let workDir;
  let batchPem;
  let aaguid;

  before(async () => {
    browser = await launchBrowser();
    workDir = await mkdtemp(path.join(tmpdir(), 'keyward-policy-'));
  });

  after(async () => {
    await browser?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('attests with "packed" and a self-signed Chromium batch certificate (policy "any")', async () => {
    const server = await startServer();
    try {
      const page = await newPage(browser);
      await addKey(page);
      let sent;
      page.on('request', (request) => {
        if (request.url().endsWith('/v1/keys/registration/verify')) sent = request.postDataJSON();
      });
      await signUpWithKey(page, server.origin, 'attested');
      const { keys } = await page.evaluate(() => fetch('/v1/keys').then((r) => r.json()));
      assert.equal(keys.length, 1);
      assert.equal(keys[0].attestation_format, 'packed');
      aaguid = keys[0].aaguid;
      assert.equal(aaguid, CHROMIUM_AAGUID);

      const attestation = decodeCbor(Buffer.from(sent.credential.response.attestationObject, 'base64url'));
      assert.equal(attestation.get('fmt'), 'packed');
      assert.equal(uuid(attestation.get('authData').subarray(37, 53)), CHROMIUM_AAGUID);
      const x5c = attestation.get('attStmt').get('x5c');
      assert.equal(x5c.length, 1, 'one certificate, no intermediates');
      const cert = new X509Certificate(x5c[0]);
      const name = 'C=US\nO=Chromium\nOU=Authenticator Attestation\nCN=Batch Certificate';
      assert.equal(cert.subject, name);
      assert.equal(cert.issuer, name);
      assert.ok(cert.checkIssued(cert) && cert.verify(cert.publicKey), 'self-signed');
      assert.equal(cert.ca, false, 'Basic Constraints CA:FALSE');
      batchPem = cert.toString();
      // The fixture CA holds the same (published) key, so it can vouch for it.
      const minted = new X509Certificate(await readFile(MINTED_CA));
      assert.ok(minted.publicKey.equals(cert.publicKey), 'fixture CA has the batch key');
      assert.equal(minted.subject, name);
      assert.ok(minted.ca);
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  it('refuses the virtual key when only Yubico keys are trusted', async () => {
    const server = await startServer({ KEYWARD_ATTESTATION__POLICY: 'trusted', KEYWARD_ATTESTATION__YUBICO: 'true' });
    try {
      const page = await newPage(browser);
      await addKey(page);
      const outcome = await signUpAndOfferKey(page, server.origin, 'untrusted');
      await assertKeyNotAccepted(page, outcome, 'enrol-untrusted-attestation');
      assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  it('still refuses it with the batch certificate as an extra CA (not a CA: CaNotMarkedAsSuch)', async () => {
    assert.ok(batchPem && aaguid, 'the first test read the certificate');
    const pemFile = path.join(workDir, 'chromium-batch.pem');
    await writeFile(pemFile, batchPem);
    const configFile = path.join(workDir, 'keyward.toml');
    await writeFile(configFile, [
      '[attestation]',
      'policy = "trusted"',
      'yubico = false',
      `extra_cas = [{ pem_file = ${JSON.stringify(pemFile)}, aaguids = [${JSON.stringify(aaguid)}] }]`,
      '',
    ].join('\n'));
    // Debug logs from keyward_fido show webauthn-rs's reason for the refusal.
    const server = await startServer({ KEYWARD_CONFIG: configFile, KEYWARD_LOG: 'info,keyward_fido=debug' });
    try {
      const page = await newPage(browser);
      await addKey(page);
      const outcome = await signUpAndOfferKey(page, server.origin, 'pinned');
      await assertKeyNotAccepted(page, outcome, 'enrol-untrusted-attestation-pinned');
      assert.match(server.log(), /AttestationChainNotTrusted\(CaNotMarkedAsSuch\)/);
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  it('accepts it under "trusted" with a CA-flagged certificate for the same key', async () => {
    const configFile = path.join(workDir, 'keyward-minted.toml');
    await writeFile(configFile, [
      '[attestation]',
      'policy = "trusted"',
      'yubico = true',
      `extra_cas = [{ pem_file = ${JSON.stringify(MINTED_CA)}, aaguids = [${JSON.stringify(CHROMIUM_AAGUID)}] }]`,
      '',
    ].join('\n'));
    const server = await startServer({ KEYWARD_CONFIG: configFile });
    try {
      const page = await newPage(browser);
      const key = await addKey(page);
      const verified = page.waitForResponse('**/v1/keys/registration/verify');
      await signUpWithKey(page, server.origin, 'trusted');
      assert.equal((await verified).status(), 201);
      await page.getByText('"Desk key" now protects your account.').waitFor();
      assert.equal((await key.credentials()).length, 1);
      const { keys } = await page.evaluate(() => fetch('/v1/keys').then((r) => r.json()));
      assert.equal(keys.length, 1);
      assert.equal(keys[0].aaguid, CHROMIUM_AAGUID);
      assert.equal(keys[0].attestation_format, 'packed');
      await shot(page, 'enrol-trusted-attestation-accepted');
      assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
      await page.context().close();
    } finally {
      await server.stop();
    }
  });
});
