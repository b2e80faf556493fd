// Approvals in a real browser: an allow-listed address added with a key
// touch, a withdrawal step-up created by "the exchange" (a service key), the
// hosted confirmation page (sign in and back, exact details, phrase, time
// left, approve), the service redeeming exactly once; then freeze/unfreeze
// and API keys.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addKey, hasCommand, launchBrowser, newPage, serviceCall, shot, startServer } from './harness.mjs';
import { dialog, signIn, signOut, signUpWithKey } from './flows.mjs';

const ADDRESS = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';
const PHRASE = 'blue harbour 42';

describe('approvals', { timeout: 240_000 }, () => {
  let server;
  let browser;
  let page;
  let key;
  let token = null;
  let stepUp;
  const username = 'bob';

  before(async () => {
    // New addresses usable at once, so a withdrawal can follow in the test.
    server = await startServer({ KEYWARD_WITHDRAWALS__ADDRESS_COOLING_HOURS: '0' });
    browser = await launchBrowser();
    page = await newPage(browser);
    key = await addKey(page);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('sets up an account with a key and an anti-phishing phrase', async () => {
    await signUpWithKey(page, server.origin, username);
    await page.getByRole('link', { name: 'Not now' }).click();
    await page.getByRole('heading', { name: `Hello, ${username}` }).waitFor();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('textbox', { name: 'Anti-phishing phrase' }).fill(PHRASE);
    await page.getByRole('button', { name: 'Set phrase' }).click();
    await page.getByText('Phrase saved').waitFor();
  });

  it('adds a withdrawal address only with a key touch, and says when it is usable', async () => {
    await page.getByRole('link', { name: 'Withdrawal addresses' }).click();
    await page.getByText('No addresses yet.').waitFor();
    await page.getByLabel('Network').fill('bitcoin');
    await page.getByLabel('Address', { exact: true }).fill(ADDRESS);
    await page.getByLabel('Label (optional)').fill('Cold wallet');

    // First the key is not touched: the prompt shows what is being approved; cancel.
    await key.presence(false);
    await page.getByRole('button', { name: 'Add address' }).click();
    await dialog(page).getByText('Touch your security key to add this address').waitFor();
    const shown = await dialog(page).locator('.addr').textContent();
    assert.equal(shown, ADDRESS, 'the prompt shows the full address');
    await shot(page, 'address-touch-prompt');
    // Keyboard: focus is on Cancel inside the prompt; Escape cancels too.
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel');
    await page.keyboard.press('Escape');
    await page.getByText('Address not added').waitFor();
    await key.presence(true);

    await page.getByRole('button', { name: 'Add address' }).click();
    await page.getByText('Address added').waitFor();
    await page.getByText('You can withdraw to it now.').waitFor();
    await page.locator('.items .badge', { hasText: 'Ready' }).waitFor();
    await shot(page, 'addresses');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'addresses-mobile');
    await page.setViewportSize({ width: 1180, height: 860 });
  });

  it('creates a withdrawal step-up as the exchange would (service key)', async (t) => {
    if (!(await hasCommand('service-key', 'create'))) {
      t.skip('`keyward service-key create` is not in this build yet');
      return;
    }
    token = await server.cli('service-key', 'create', '--name', 'test', '--scopes', 'stepup:create,stepup:read,stepup:redeem');
    assert.match(token, /^kw_svc_/);
    const created = await serviceCall(server, token, 'POST', '/v1/step-ups', {
      user: username,
      action: 'withdrawal',
      details: { asset: 'BTC', network: 'bitcoin', amount: '0.25', destination: ADDRESS, client_reference: 'wd-1001' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.status, 'pending');
    stepUp = created.body;
    assert.equal(stepUp.confirm_url, `${server.origin}/confirm/${stepUp.id}`);
  });

  it('confirms on the hosted page: sign in and back, exact details, phrase, time left, approve', async (t) => {
    if (!stepUp) { t.skip('no step-up (service key command missing)'); return; }
    // Signed out, the link goes to sign-in and comes back.
    await signOut(page);
    await page.goto(stepUp.confirm_url);
    await page.waitForURL(`**/signin?next=${encodeURIComponent(`/confirm/${stepUp.id}`)}`);
    await signIn(page, server.origin, username, { from: 'here' });
    await page.waitForURL(stepUp.confirm_url);

    await page.getByRole('heading', { name: 'Approve this withdrawal' }).waitFor();
    await page.getByText('0.25 BTC').waitFor();
    assert.equal(await page.locator('.details .addr').textContent(), ADDRESS, 'the full address, exactly');
    await page.locator('.phrase').getByText(PHRASE).waitFor();
    await page.getByText('wd-1001').waitFor();
    const before = await page.locator('.timer').textContent();
    assert.match(before, /^[0-4]:[0-5]\d$/);
    await page.waitForFunction((b) => document.querySelector('.timer').textContent !== b, before);
    await shot(page, 'confirm');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'confirm-mobile');
    await page.setViewportSize({ width: 1180, height: 860 });

    await page.getByRole('button', { name: 'Approve with security key' }).click();
    // The page's heading says where the request now stands.
    await page.getByRole('heading', { name: 'Withdrawal approved', exact: true }).waitFor();
    await page.getByText('Your security key approved this withdrawal.').waitFor();
    await shot(page, 'confirm-approved');
  });

  it('lets the service redeem the approval exactly once', async (t) => {
    if (!stepUp) { t.skip('no step-up (service key command missing)'); return; }
    const first = await serviceCall(server, token, 'POST', `/v1/step-ups/${stepUp.id}/redeem`);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.details.destination, ADDRESS);
    assert.equal(first.body.details.amount, '0.25');
    const second = await serviceCall(server, token, 'POST', `/v1/step-ups/${stepUp.id}/redeem`);
    assert.equal(second.status, 409, JSON.stringify(second.body));
    // The page, opened again, says it is done.
    await page.reload();
    await page.getByRole('heading', { name: 'Withdrawal approved and carried out', exact: true }).waitFor();
  });

  it('says what is left of the daily limit when a withdrawal would go over it', async (t) => {
    if (!token) { t.skip('no service key'); return; }
    // 0.25 BTC was sent above; the limit is 10 BTC over any 24 hours.
    const created = await serviceCall(server, token, 'POST', '/v1/step-ups', {
      user: username,
      action: 'withdrawal',
      details: { asset: 'BTC', network: 'bitcoin', amount: '9.9', destination: ADDRESS, client_reference: 'wd-limit' },
    });
    assert.equal(created.body.status, 'denied', JSON.stringify(created.body));
    assert.equal(created.body.reason, 'daily_limit_exceeded');
    await page.goto(created.body.confirm_url);
    await page.getByRole('heading', { name: 'Withdrawal refused', exact: true }).waitFor();
    await page.getByText('This would go over your daily withdrawal limit for this asset.').waitFor();
    assert.equal(await page.locator('.limit-left').textContent(),
      'Left of your daily limit now: 9.75 BTC of 10 BTC (0.25 BTC sent in the last 24 hours).');
    // When it fits: 24 hours after the 0.25 was sent, with the time zone.
    await page.getByText(/^9\.9 BTC can be sent from .+ \(.+ time\), when earlier withdrawals stop counting \(each counts for 24 hours\)\. Ask the exchange for a new withdrawal then, or for at most 9\.75 BTC now\.$/).waitFor();
    await shot(page, 'confirm-daily-limit');
    await page.setViewportSize({ width: 375, height: 740 });
    await shot(page, 'confirm-daily-limit-mobile');
    await page.setViewportSize({ width: 1180, height: 860 });
  });

  it('declines on the hosted page: the request can no longer be approved', async (t) => {
    if (!token) { t.skip('no service key'); return; }
    const created = await serviceCall(server, token, 'POST', '/v1/step-ups', {
      user: username,
      action: 'withdrawal',
      details: { asset: 'BTC', network: 'bitcoin', amount: '0.3', destination: ADDRESS, client_reference: 'wd-1002' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await page.goto(created.body.confirm_url);
    await page.getByRole('heading', { name: 'Approve this withdrawal' }).waitFor();
    await page.getByRole('button', { name: 'Decline — I did not ask for this' }).click();
    await page.getByRole('heading', { name: 'Withdrawal declined', exact: true }).waitFor();
    await shot(page, 'confirm-declined');
    const seen = await serviceCall(server, token, 'GET', `/v1/step-ups/${created.body.id}`);
    assert.equal(seen.body.status, 'declined');
    await page.reload();
    await page.getByRole('heading', { name: 'Withdrawal declined', exact: true }).waitFor();
  });

  it('shows an unknown confirmation link plainly', async () => {
    await page.goto(`${server.origin}/confirm/00000000-0000-0000-0000-000000000000`);
    await page.getByRole('heading', { name: 'No such request' }).waitFor();
    await shot(page, 'confirm-not-found');
  });

  it('removes an address at once, without a key touch', async () => {
    await page.goto(`${server.origin}/addresses`);
    await page.getByRole('button', { name: 'Remove Cold wallet' }).click();
    await dialog(page).getByRole('button', { name: 'Remove address' }).click();
    await page.getByText('Address removed').waitFor();
    await page.getByText('No addresses yet.').waitFor();
  });

  it('freezes the account with one button, and unfreezes with a key touch', async () => {
    await page.goto(`${server.origin}/`);
    await page.getByRole('link', { name: 'Freeze my account' }).first().click();
    await page.waitForURL('**/freeze');
    await shot(page, 'freeze');
    await page.getByRole('button', { name: 'Freeze my account' }).click();
    await page.getByText('Your account is frozen').waitFor();
    await shot(page, 'frozen');
    if (token) {
      const refused = await serviceCall(server, token, 'POST', '/v1/step-ups', {
        user: username, action: 'withdrawal',
        // A reference of its own: reusing one would be refused as an
        // idempotency conflict whatever the freeze did.
        details: { asset: 'BTC', network: 'bitcoin', amount: '0.1', destination: ADDRESS, client_reference: 'wd-frozen' },
      });
      assert.equal(refused.status, 201, JSON.stringify(refused.body));
      assert.deepEqual([refused.body.status, refused.body.reason], ['denied', 'account_frozen'],
        'a frozen account gets no pending withdrawal');
    }
    await page.getByRole('button', { name: 'Unfreeze…' }).click();
    await page.getByRole('button', { name: 'Freeze my account' }).waitFor();
    await page.goto(`${server.origin}/`);
    await page.locator('.badge', { hasText: 'On hold' }).waitFor();
  });

  it('creates an API key with a key touch and shows the secret once', async (t) => {
    await page.goto(`${server.origin}/api-keys`);
    await page.getByRole('heading', { name: 'API keys', exact: true }).waitFor();
    const missing = await fetch(`http://127.0.0.1:${server.port}/v1/api-keys`).then((r) => r.status === 404);
    if (missing) {
      await page.getByText('This Keyward server does not offer API keys yet.').waitFor();
      await shot(page, 'api-keys');
      t.skip('the API-key endpoints are not in this build yet');
      return;
    }
    await page.getByLabel('Name').fill('Grid bot');
    await page.getByLabel('Read').check();
    await page.getByLabel('Withdraw').check();
    await page.getByRole('button', { name: 'Create API key' }).click();
    await page.getByText('A key that can withdraw must be limited to IP addresses you control.').waitFor();
    await page.getByRole('textbox', { name: 'IP allow-list' }).fill('203.0.113.7\n198.51.100.0/24');
    await page.getByRole('button', { name: 'Create API key' }).click();
    await page.getByRole('heading', { name: 'API key "Grid bot" created' }).waitFor();
    const secret = await page.locator('output.secret').textContent();
    assert.match(secret, /^kw_/);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy secret' }).click();
    await page.getByText('Copied to the clipboard.').waitFor();
    await shot(page, 'api-key-secret');
    await page.getByRole('button', { name: 'I have stored it safely' }).click();
    assert.equal(await page.locator('output.secret').count(), 0, 'the secret is gone from the page');
    await page.locator('.items > li', { hasText: 'Grid bot' }).waitFor();
    await shot(page, 'api-keys');
    await page.getByRole('button', { name: 'Revoke Grid bot' }).click();
    await dialog(page).getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText('"Grid bot" no longer works.').waitFor();
    await page.locator('.items > li', { hasText: 'Grid bot' }).locator('.badge', { hasText: 'Revoked' }).waitFor();
    assert.deepEqual(page.problems, [], 'no CSP violations or page errors');
  });

  it('fits the activity log on a phone: long addresses and names wrap, nothing scrolls sideways', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${server.origin}/activity`);
    await page.getByText(`Withdrawal address added (bitcoin ${ADDRESS})`).waitFor();
    // The log names the API key it speaks of.
    await page.getByText('API key created: "Grid bot"').waitFor();
    await page.getByText(/API key revoked: "Grid bot"/).waitFor();
    const width = await page.evaluate(() => {
      const client = document.documentElement.clientWidth;
      // What sticks out, to name in a failure.
      const wide = [...document.querySelectorAll('main *')]
        .filter((el) => el.getBoundingClientRect().right > client + 0.5)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}: ${el.textContent.slice(0, 60)}`);
      return { scroll: document.documentElement.scrollWidth, client, wide: wide.slice(0, 5) };
    });
    assert.ok(width.scroll <= width.client,
      `the page is ${width.scroll}px wide in a ${width.client}px window: ${width.wide.join(' | ')}`);
    await shot(page, 'activity-mobile');
    await page.setViewportSize({ width: 1180, height: 860 });
  });
});
