// Risk signals seen by the user: the operator refuses withdrawals approved
// with a key added only recently (`new_key = "deny"`). The hosted page
// explains the refusal when the key is touched, and the request then shows
// what Keyward noticed, in plain words.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addKey, launchBrowser, newPage, serviceCall, shot, startServer } from './harness.mjs';
import { signUpWithKey } from './flows.mjs';

const ADDRESS = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';

describe('risk signals on the confirmation page', () => {
  let server;
  let browser;
  let page;
  const username = 'rita';

  before(async () => {
    server = await startServer({
      KEYWARD_WITHDRAWALS__ADDRESS_COOLING_HOURS: '0',
      KEYWARD_RISK__EFFECTS__NEW_KEY: 'deny',
    });
    browser = await launchBrowser();
    page = await newPage(browser);
    await addKey(page);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('refuses a withdrawal approved with a new key, and says why', async () => {
    await signUpWithKey(page, server.origin, username);
    await page.getByRole('link', { name: 'Not now' }).click();
    await page.getByRole('link', { name: 'Withdrawal addresses' }).click();
    await page.getByLabel('Network').fill('bitcoin');
    await page.getByLabel('Address', { exact: true }).fill(ADDRESS);
    await page.getByRole('button', { name: 'Add address' }).click();
    await page.getByText('Address added').waitFor();

    const token = await server.cli('service-key', 'create', '--name', 'exchange', '--scopes', 'stepup:create,stepup:read');
    const created = await serviceCall(server, token, 'POST', '/v1/step-ups', {
      user: username,
      action: 'withdrawal',
      details: { asset: 'BTC', network: 'bitcoin', amount: '0.1', destination: ADDRESS, client_reference: 'risk-1' },
    });
    assert.equal(created.body.status, 'pending', JSON.stringify(created.body));
    await page.goto(created.body.confirm_url);
    await page.getByRole('button', { name: 'Approve with security key' }).click();
    await page.getByText('Your newest security key was added too recently to approve withdrawals yet.').waitFor();
    await shot(page, 'confirm-risk-refused');

    const after = await serviceCall(server, token, 'GET', `/v1/step-ups/${created.body.id}`);
    assert.equal(after.body.status, 'denied');
    assert.equal(after.body.reason, 'new_key');
    await page.goto(created.body.confirm_url);
    await page.getByRole('heading', { name: 'Withdrawal refused', exact: true }).waitFor();
    const noticed = page.locator('.noticed');
    await noticed.getByRole('heading', { name: 'What Keyward noticed' }).waitFor();
    assert.match(await noticed.locator('li').first().textContent(),
      /^A security key added only recently \(enrolled 0 hours ago\): refused$/);
    await page.setViewportSize({ width: 375, height: 740 });
    await shot(page, 'confirm-risk-refused-mobile');
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 375, `no sideways scroll (${wide}px)`);
  });
});
