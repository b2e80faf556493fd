// Account recovery in a real browser: recovery codes on the keys page, a
// recovery started from "Lost your security key?", refused before it is
// due, seen and cancelled by the account's key, then a password change on
// Settings; and (with no waiting time configured) finished, leading to a new
// first key.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addKey, launchBrowser, newPage, shot, startServer } from './harness.mjs';
import { PASSWORD, signIn, signOut, signUpWithKey } from './flows.mjs';

/** Makes recovery codes on /keys; returns them as shown. */
async function makeCodes(page, origin) {
  await page.goto(`${origin}/keys`);
  await page.getByRole('heading', { name: 'Recovery codes' }).waitFor();
  await page.getByText('You have no recovery codes yet.').waitFor();
  await page.getByRole('button', { name: 'Make recovery codes' }).click();
  const list = page.getByRole('list', { name: 'Your recovery codes' });
  await list.waitFor();
  const codes = await list.locator('code').allInnerTexts();
  assert.equal(codes.length, 10);
  return codes;
}

/** Fills and sends the "Start a recovery" form on /recover. */
async function startRecovery(page, origin, username, code) {
  await page.goto(`${origin}/signin`);
  await page.getByRole('link', { name: 'Lost your security key?' }).click();
  await page.getByRole('heading', { name: 'Lost your security keys?' }).waitFor();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).first().fill(PASSWORD);
  await page.getByLabel('Recovery code').fill(code);
  await page.getByRole('button', { name: 'Start recovery' }).click();
}

describe('account recovery', { timeout: 120_000 }, () => {
  let browser;

  before(async () => {
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
  });

  it('starts with a code, is refused before it is due, and the key cancels it', async () => {
    const server = await startServer();
    try {
      const page = await newPage(browser);
      await addKey(page);
      await signUpWithKey(page, server.origin, 'carol');
      const codes = await makeCodes(page, server.origin);
      await page.getByText('Save these codes now').waitFor();
      await shot(page, 'recovery-codes');
      await signOut(page);

      // A wrong code is refused in plain words and starts nothing.
      await startRecovery(page, server.origin, 'carol', 'AAAAA-AAAAA-AAAAA-AAAAA');
      await page.getByText('That did not match').waitFor();
      await startRecovery(page, server.origin, 'carol', codes[0]);
      await page.getByText('Recovery started').waitFor();
      await page.getByText('Save this recovery token now').waitFor();
      const token = await page.locator('#recovery-token').innerText();
      assert.match(token, /^kw_rec_/);
      await shot(page, 'recovery-started');
      // Finishing at once: not yet, and when.
      await page.getByLabel('Recovery token').fill(token);
      await page.getByLabel('Password', { exact: true }).last().fill(PASSWORD);
      await page.getByRole('button', { name: 'Finish recovery' }).click();
      await page.getByText('Not yet').waitFor();
      await shot(page, 'recovery-not-due');

      // The owner, still holding the key, signs in and sees it.
      await signIn(page, server.origin, 'carol');
      await page.waitForURL(`${server.origin}/`);
      await page.goto(`${server.origin}/keys`);
      await page.getByText('Someone started recovering your account').waitFor();
      await shot(page, 'recovery-pending-on-keys');
      await page.getByRole('button', { name: 'Cancel the recovery' }).click();
      await page.getByText('Recovery cancelled').waitFor();
      await page.getByText('9 of 10 codes left', { exact: false }).waitFor();

      // As the notice advises: a new password (current one, and a key touch).
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByRole('heading', { name: 'Password' }).waitFor();
      await page.getByLabel('Current password').fill('not my password');
      await page.getByLabel('New password', { exact: true }).fill('a whole new passphrase');
      await page.getByLabel('New password again').fill('a whole new passphrase');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByText('That is not your current password.').waitFor();
      await page.getByLabel('Current password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByText('Password changed').waitFor();
      await shot(page, 'password-changed');
      assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
    } finally {
      await server.stop();
    }
  });

  it('finishes when due: old keys gone, a new first key added', async () => {
    const server = await startServer({ KEYWARD_RECOVERY__DELAY_HOURS: '0' });
    try {
      const page = await newPage(browser);
      const lost = await addKey(page);
      await signUpWithKey(page, server.origin, 'dave');
      const codes = await makeCodes(page, server.origin);
      await signOut(page);
      await lost.remove();
      await startRecovery(page, server.origin, 'dave', codes[3]);
      await page.getByText('Recovery started').waitFor();
      await page.getByLabel('Password', { exact: true }).last().fill(PASSWORD);
      await page.getByRole('button', { name: 'Finish recovery' }).click();
      await page.waitForURL('**/enrol?recovered=**');
      await page.getByText('Account recovered').waitFor();
      await shot(page, 'recovery-finished');
      const fresh = await addKey(page);
      await page.getByLabel('Name this key').fill('New key');
      await page.getByRole('button', { name: 'Add security key' }).click();
      await page.getByRole('heading', { name: 'Add a backup key' }).waitFor();
      assert.equal((await fresh.credentials()).length, 1);
      const { keys } = await page.evaluate(() => fetch('/v1/keys').then((r) => r.json()));
      assert.deepEqual(keys.map((k) => k.label), ['New key']);
      assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
    } finally {
      await server.stop();
    }
  });
});
