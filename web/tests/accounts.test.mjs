// Accounts in a real browser: sign up, the first key (cannot be skipped), a
// backup key on a second authenticator, sign out, a wrong password, sign in
// with password and key, an already-registered key, a key that never
// answers, removing a key with a fresh key touch, and the last-key rule.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addKey, launchBrowser, newPage, shot, startServer } from './harness.mjs';
import { PASSWORD, addBackupKey, dialog, signIn, signOut, signUpWithKey } from './flows.mjs';

// Key changes need a key touch at most this old; short, so the re-auth
// prompt is exercised without waiting five minutes.
const REAUTH_WINDOW_SECONDS = 8;

describe('accounts', { timeout: 240_000 }, () => {
  let server;
  let browser;
  let page;
  let desk;
  let backup;
  const username = 'alice';

  before(async () => {
    server = await startServer({ KEYWARD_REAUTH_WINDOW_SECONDS: String(REAUTH_WINDOW_SECONDS) });
    browser = await launchBrowser();
    page = await newPage(browser);
    desk = await addKey(page);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('serves the pages with a strict policy and the assets with their types', async () => {
    const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
    for (const path of ['/', '/signin', '/keys', '/confirm/00000000-0000-0000-0000-000000000000']) {
      const r = await fetch(`${server.origin.replace('localhost', '127.0.0.1')}${path}`);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get('content-type'), /^text\/html/);
      assert.equal(r.headers.get('content-security-policy'), csp);
      assert.equal(r.headers.get('x-frame-options'), 'DENY');
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(r.headers.get('cache-control'), 'no-cache');
      assert.doesNotMatch(await r.text(), /<script>|\son[a-z]+=|style="/i, `${path}: nothing inline`);
    }
    const js = await fetch(`http://127.0.0.1:${server.port}/assets/js/app.js`);
    assert.match(js.headers.get('content-type'), /^text\/javascript/);
    const etag = js.headers.get('etag');
    const again = await fetch(`http://127.0.0.1:${server.port}/assets/js/app.js`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    const css = await fetch(`http://127.0.0.1:${server.port}/assets/keyward.css`);
    assert.match(css.headers.get('content-type'), /^text\/css/);
    const missing = await fetch(`http://127.0.0.1:${server.port}/assets/nope.js`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
    const api = await fetch(`http://127.0.0.1:${server.port}/v1/session`);
    assert.match(api.headers.get('content-type'), /json/);
  });

  it('explains a page opened on the wrong address (Origin refused)', async () => {
    const stray = await newPage(browser);
    await stray.goto(`http://127.0.0.1:${server.port}/signin`);
    await stray.getByLabel('Username').fill('someone');
    await stray.getByLabel('Password').fill(PASSWORD);
    await stray.getByRole('button', { name: 'Continue' }).click();
    await stray.getByRole('alert').getByText('This page is not on Keyward\'s configured address.').waitFor();
    await stray.context().close();
  });

  it('sends a visitor to sign in, and a new account to enrol a key it cannot skip', async () => {
    await page.goto(`${server.origin}/keys`);
    await page.waitForURL(/\/signin\?next=%2Fkeys$/);
    await page.getByRole('heading', { name: 'Sign in to Keyward' }).waitFor();
    await shot(page, 'signin');

    await page.goto(`${server.origin}/signup`);
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await shot(page, 'signup');
    // A too-short password is caught before anything is sent.
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Use at least 12 characters.').waitFor();
    // A common one is refused by the server, next to the field, in words.
    await page.getByLabel('Password').fill('password1234');
    await page.getByRole('button', { name: 'Create account' }).click();
    const refused = 'This password is too common or easy to guess. Try a longer phrase of unrelated words.';
    await page.getByText(refused, { exact: true }).waitFor();
    assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
    assert.match(await page.getByLabel('Password').getAttribute('aria-describedby'), /error/);
    await shot(page, 'signup-common-password');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL('**/enrol');
    await page.getByRole('heading', { name: 'Add your security key' }).waitFor();
    await shot(page, 'enrol-first-key');

    // No way around it: every other page comes back here.
    await page.goto(`${server.origin}/keys`);
    await page.waitForURL('**/enrol');

    await page.getByLabel('Name this key').fill('Desk key');
    await page.getByRole('button', { name: 'Add security key' }).click();
    await page.getByRole('heading', { name: 'Add a backup key' }).waitFor();
    await page.getByText('"Desk key" now protects your account.').waitFor();
    await shot(page, 'enrol-backup-prompt');
    assert.equal((await desk.credentials()).length, 1);
  });

  it('enrols a backup key on a second authenticator, vouched for by the first', async () => {
    // One key plugged in at a time, as with one USB port: the desk key is
    // unplugged while the new one registers, then swapped back in to vouch
    // for it (step 2).
    let plugBackupBackIn;
    ({ desk, plugBackupBackIn } = await addBackupKey(page, desk, 'Backup key'));
    backup = await plugBackupBackIn();
    await page.getByText('Backup key added').waitFor();
    await page.getByRole('heading', { name: 'Your keys (2)' }).waitFor();
    assert.equal((await backup.credentials()).length, 1);
    await shot(page, 'keys');

    // Rename, by keyboard: the form opens with the old name selected; Enter saves.
    await page.locator('.items > li', { hasText: 'Desk key' }).getByRole('button', { name: 'Rename' }).click();
    await page.keyboard.type('Desk key (blue)');
    await page.keyboard.press('Enter');
    await page.getByText('It is now called "Desk key (blue)".').waitFor();
  });

  it('signs out, refuses a wrong password in plain words, and signs in with password and key', async () => {
    await signOut(page);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Continue' }).click();
    const alert = page.getByRole('alert');
    await alert.getByText('That username and password do not match.').waitFor();
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'the wrong password is cleared');
    await shot(page, 'signin-wrong-password');

    // `next` may only name a page of this origin: this one is ignored.
    await page.goto(`${server.origin}/signin?next=${encodeURIComponent('//evil.example/')}`);
    await signIn(page, server.origin, username, { from: 'here' });
    await page.waitForURL(`${server.origin}/`);
    await page.getByRole('heading', { name: `Hello, ${username}` }).waitFor();
    await shot(page, 'overview');
  });

  it('says so when the key is already registered (InvalidStateError)', async () => {
    await page.getByRole('link', { name: 'Security keys' }).click();
    await page.getByRole('heading', { name: 'Security keys' }).waitFor();
    // Only the desk key answers: it already holds a credential for this account.
    await backup.presence(false);
    await page.getByLabel('Name for the new key').fill('Desk key again');
    await page.getByRole('button', { name: 'Add a key' }).click();
    await dialog(page).getByText('This key is already registered').waitFor();
    await shot(page, 'key-already-registered');
    await dialog(page).getByRole('button', { name: 'Close' }).click();
    await dialog(page).waitFor({ state: 'detached' });
    await backup.presence(true);
  });

  it('says so when no key answers in time (NotAllowedError), with a retry', async () => {
    // A short timeout for this test only (the browser waits at least 10 s).
    const shorten = async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      json.publicKey.timeout = 1000;
      await route.fulfill({ response, json });
    };
    await page.route('**/v1/keys/registration/options', shorten);
    await page.route('**/v1/reauth/options', shorten);
    await desk.presence(false);
    await backup.presence(false);
    await page.getByLabel('Name for the new key').fill('Never touched');
    await page.getByRole('button', { name: 'Add a key' }).click();
    await dialog(page).getByText('Touch', { exact: false }).first().waitFor();
    await dialog(page).getByText('Your security key did not respond').waitFor({ timeout: 45_000 });
    await dialog(page).getByRole('button', { name: 'Try again' }).waitFor();
    await shot(page, 'key-timeout');
    await dialog(page).getByRole('button', { name: 'Close' }).click();
    await page.unroute('**/v1/keys/registration/options');
    await page.unroute('**/v1/reauth/options');
    await desk.presence(true);
    await backup.presence(true);
  });

  it('removes a key with a touch of one of the keys, and never the last key', async () => {
    await page.reload();
    const item = page.locator('.items > li', { hasText: 'Backup key' });
    await item.getByRole('button', { name: 'Remove' }).click();
    await dialog(page).getByRole('heading', { name: 'Remove "Backup key"?' }).waitFor();
    await dialog(page).getByRole('button', { name: 'Remove key' }).click();
    // One of the user's keys signs for the removal; a virtual key answers.
    await page.getByText('Removed "Backup key"').waitFor();
    await page.getByRole('heading', { name: 'Your keys (1)' }).waitFor();
    const only = page.locator('.items > li', { hasText: 'Desk key' }).getByRole('button', { name: 'Remove' });
    assert.equal(await only.isDisabled(), true, 'the last key cannot be removed');
    await page.getByText('Your last key can never be removed').waitFor();
    await page.getByText('You have only one key').waitFor();
    await shot(page, 'keys-last-key');
    // Unplug it: a key the account no longer knows makes the browser fail
    // any request it is touched for.
    await backup.remove();
  });

  it('lists sessions, the security activity and the anti-phishing phrase', async () => {
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByText('This session').waitFor();
    await shot(page, 'sessions');

    await page.getByRole('link', { name: 'Security activity' }).click();
    await page.getByText('Security key removed').waitFor();
    await page.getByText('Failed sign-in: wrong password').first().waitFor();
    await page.getByText('Security key added: "Backup key"').first().waitFor();
    await shot(page, 'activity');

    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('textbox', { name: 'Anti-phishing phrase' }).fill('x');
    await page.getByRole('button', { name: 'Set phrase' }).click();
    await page.getByText('Use at least 4 characters.').waitFor();
    await page.getByRole('textbox', { name: 'Anti-phishing phrase' }).fill('green lantern 7');
    await page.getByRole('button', { name: 'Set phrase' }).click();
    await page.getByText('Phrase saved').waitFor();
    await shot(page, 'settings');
  });

  it('ends another session, and flags a cloned key "possibly cloned"', async () => {
    // Someone with a copy of the desk key (same private key and counter)
    // signs in on another device.
    const other = await newPage(browser);
    const copy = await addKey(other);
    await desk.cloneInto(copy);
    await signIn(other, server.origin, username);
    await other.waitForURL(`${server.origin}/`);

    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByRole('heading', { name: 'Signed in on 2 devices' }).waitFor();
    await shot(page, 'sessions-two');
    await page.getByRole('button', { name: /^End session/ }).click();
    await page.getByText('Session ended').waitFor();
    await other.reload();
    await other.waitForURL(/\/signin/);
    await other.context().close();

    // The real key now answers with a counter the copy already used: refused,
    // flagged, explained; its next answer (a higher counter) is accepted.
    await signOut(page);
    await signIn(page, server.origin, username, { from: 'here' });
    await dialog(page).getByText('This key\'s answer looks like it came from a copy of your key').waitFor();
    await shot(page, 'key-possibly-cloned');
    await dialog(page).getByRole('button', { name: 'Try again' }).click();
    await page.waitForURL(`${server.origin}/`);
    await page.getByText('A key may have been copied').waitFor();
    await page.getByRole('link', { name: 'Review keys' }).click();
    await page.locator('.items > li', { hasText: 'Desk key' }).getByText('Possibly cloned').waitFor();
    await shot(page, 'keys-possibly-cloned');
    assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
  });
});
