// Passkeys and FIDO metadata in the browser, with Chromium's virtual
// security key (CTAP2, resident keys, user verification, device-bound).
//
// Passkey sign-in: enrolment asks the key to keep the credential (it does:
// a resident credential), and the sign-in page offers it in the username
// field's autofill (conditional mediation) and with a button. Headless
// Chromium has no autofill pop-up and reports conditional mediation as
// unavailable; the autofill test stands in for a browser that has one by
// reporting it available, and Chromium's virtual environment then answers
// the conditional request with the key's passkey, as a person picking it
// from the list would.
//
// Metadata: a BLOB signed under a test root (`mds-blob`) lists the virtual
// key's model with the fixture CA as its attestation root; under `trusted`
// (no extra CA files) that is what admits the key. A second BLOB reports the
// model's attestation key compromised: the key is suspended, the keys page
// says why, approvals are refused, sign-in still works.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { addKey, launchBrowser, metadataBlobs, newPage, shot, startServer } from './harness.mjs';
import { PASSWORD, dialog, signIn, signOut, signUpWithKey } from './flows.mjs';

const CHROMIUM_AAGUID = '01020304-0506-0708-0102-030405060708';
const MINTED_CA = fileURLToPath(new URL('./fixtures/chromium-virtual-authenticator-ca.pem', import.meta.url));
const ADDRESS = 'bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh';

/** Signs out from anywhere in the app (the overview has the button). */
async function fromOverviewSignOut(page, origin) {
  await page.goto(`${origin}/`);
  await signOut(page);
}

async function activity(page) {
  const { events } = await page.evaluate(() => fetch('/v1/audit').then((r) => r.json()));
  return events;
}

describe('passkeys and metadata', { timeout: 200_000 }, () => {
  let browser;
  let workDir;
  before(async () => {
    browser = await launchBrowser();
    workDir = await mkdtemp(path.join(tmpdir(), 'keyward-passkeys-'));
  });
  after(async () => {
    await browser?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('signs in with a passkey picked in the username field (standalone)', async () => {
    const server = await startServer({ KEYWARD_PASSKEY_SIGN_IN: 'standalone' });
    try {
      const page = await newPage(browser);
      // A browser with passkey autofill (see the file's comment).
      await page.addInitScript(() => {
        PublicKeyCredential.isConditionalMediationAvailable = async () => true;
      });
      const key = await addKey(page);
      await signUpWithKey(page, server.origin, 'pia');
      const [credential] = await key.credentials();
      assert.equal(credential.isResidentCredential, true, 'the key keeps the credential');
      await fromOverviewSignOut(page, server.origin);
      const field = page.getByLabel('Username');
      assert.equal(await field.getAttribute('autocomplete'), 'username webauthn');
      // No username, no password: the passkey answers and the session opens.
      await page.waitForURL(`${server.origin}/`);
      await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
      const events = await activity(page);
      const signIn0 = events.find((e) => e.event === 'signin.succeeded');
      assert.equal(signIn0.detail.method, 'passkey');
      await page.goto(`${server.origin}/activity`);
      await page.getByText('Signed in with a passkey').first().waitFor();
      assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  it('asks for the password after the passkey where the deployment wants both', async () => {
    const server = await startServer(); // passkey_sign_in = "with_password" (default)
    try {
      const page = await newPage(browser);
      await addKey(page);
      await signUpWithKey(page, server.origin, 'quinn');
      await fromOverviewSignOut(page, server.origin);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.getByText('Passkey accepted').waitFor();
      await shot(page, 'signin-passkey-then-password');
      // The username is not asked any more; a wrong password is refused.
      assert.equal(await page.getByLabel('Username').isVisible(), false);
      await page.getByLabel('Password').fill('not the right password');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByText('Wrong password').waitFor();
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(`${server.origin}/`);
      const events = await activity(page);
      assert.equal(events.find((e) => e.event === 'signin.succeeded').detail.method, 'passkey_and_password');
      assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  it('trusts the key by its metadata, then suspends it when the model is reported compromised', async () => {
    const blobs = await metadataBlobs(path.join(workDir, 'mds'), CHROMIUM_AAGUID, 'Chromium Virtual Key', MINTED_CA);
    const configFile = path.join(workDir, 'keyward-metadata.toml');
    // No extra CA files: only the metadata vouches for the virtual key.
    await writeFile(configFile, [
      'passkey_sign_in = "off"',
      '[attestation]',
      'policy = "trusted"',
      `metadata_roots = [${JSON.stringify(blobs.root)}]`,
      '',
    ].join('\n'));
    const server = await startServer({ KEYWARD_CONFIG: configFile }, {
      before: async (cli) => {
        const said = await cli('attestation', 'import-mds', blobs.certified);
        assert.match(said, /FIDO metadata no 1 in use: 1 models \(0 compromised\)/);
      },
    });
    try {
      const page = await newPage(browser);
      const key = await addKey(page);
      await signUpWithKey(page, server.origin, 'rey');
      assert.equal((await key.credentials()).length, 1);
      await page.goto(`${server.origin}/keys`);
      await page.getByText('Chromium Virtual Key').first().waitFor();
      await page.getByText('FIDO level L1').first().waitFor();
      await page.getByText('Hardware-bound: its secret cannot leave the key').first().waitFor();

      const said = await server.cli('attestation', 'import-mds', blobs.compromised);
      assert.match(said, /keys suspended: 1/);
      assert.match(await server.cli('keys', 'suspended'), /rey .*ATTESTATION_KEY_COMPROMISE/s);
      await page.reload();
      await page.locator('.items .badge', { hasText: 'Suspended' }).waitFor();
      await page.getByText('This key can no longer approve anything').waitFor();
      await page.getByText(/proves it is genuine|prove it is genuine/).waitFor();
      await shot(page, 'keys-suspended');
      await page.setViewportSize({ width: 390, height: 844 });
      await shot(page, 'keys-suspended-mobile');
      await page.setViewportSize({ width: 1180, height: 860 });

      // Approving anything is refused, in plain words.
      await page.getByRole('link', { name: 'Withdrawal addresses' }).click();
      await page.getByLabel('Network').fill('bitcoin');
      await page.getByLabel('Address', { exact: true }).fill(ADDRESS);
      await page.getByRole('button', { name: 'Add address' }).click();
      await dialog(page).getByText('This key can no longer approve').waitFor();
      await shot(page, 'approval-refused-key-suspended');
      await page.keyboard.press('Escape');

      // Signing in still works, so the owner can enrol another key.
      await fromOverviewSignOut(page, server.origin);
      await signIn(page, server.origin, 'rey', { from: 'signin' });
      await page.waitForURL(`${server.origin}/`);
      assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
      await page.context().close();
    } finally {
      await server.stop();
    }
  });
});
