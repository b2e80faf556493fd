// Pages a person lands on by accident: a mistyped address, an app page with
// a trailing slash, and changing their mind half-way through signing in.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addKey, launchBrowser, newPage, shot, startServer } from './harness.mjs';
import { signIn, signOut, signUpWithKey } from './flows.mjs';

describe('pages people land on', { timeout: 120_000 }, () => {
  let browser;
  let server;
  before(async () => {
    browser = await launchBrowser();
    server = await startServer({ KEYWARD_PASSKEY_SIGN_IN: 'off' });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('answers a mistyped address with a page, and a trailing slash with the page meant', async () => {
    const page = await newPage(browser);
    const response = await page.goto(`${server.origin}/no-such-page`);
    assert.equal(response.status(), 404);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    await page.getByRole('link', { name: 'Go to your overview' }).waitFor();
    await shot(page, 'not-found');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'not-found-mobile');
    await page.goto(`${server.origin}/signin/`);
    assert.equal(new URL(page.url()).pathname, '/signin');
    await page.getByRole('heading', { name: 'Sign in to Keyward' }).waitFor();
    assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
    await page.context().close();
  });

  it('really ends a half-finished sign-in when the person signs in as someone else', async () => {
    const page = await newPage(browser);
    const key = await addKey(page);
    await signUpWithKey(page, server.origin, 'uma');
    await page.goto(`${server.origin}/`);
    await signOut(page);
    // Password accepted, but the key is not touched: the key step waits.
    await key.presence(false);
    await signIn(page, server.origin, 'uma', { from: 'here' });
    await page.getByRole('heading', { name: 'Use your security key' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Sign in as someone else' }).click();
    await page.getByLabel('Username').waitFor();
    // A reload shows the start, not uma's key step.
    await page.reload();
    await page.getByLabel('Username').waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Use your security key' }).count(), 0);
    const session = await page.evaluate(() => fetch('/v1/session').then((r) => r.json()));
    assert.equal(session.stage, 'anonymous');
    await key.presence(true);
    assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
    await page.context().close();
  });
});
