// The security lock in a real browser: set with a key touch on Settings; a
// shorter lock waits (shown on Settings and the overview) and a key cancels
// it; under the lock a key's removal is scheduled, shown on the key, and
// cancelled with a key; the freeze page and the API-key form say how long
// a loosening change now holds withdrawals; the activity log names it all.
// The server's clock cannot be moved from here: the waiting itself is in
// crates/keyward-server/tests/api/security_lock.rs.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addKey, launchBrowser, newPage, shot, startServer } from './harness.mjs';
import { addBackupKey, dialog, signUpWithKey } from './flows.mjs';

describe('security lock', { timeout: 120_000 }, () => {
  let browser;

  before(async () => {
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
  });

  it('delays loosening changes, and a key cancels them', async () => {
    const server = await startServer();
    try {
      const page = await newPage(browser);
      const origin = server.origin;
      const desk = await addKey(page);
      await signUpWithKey(page, origin, 'dora', { label: 'Desk key' });
      await addBackupKey(page, desk);

      await page.goto(`${origin}/settings`);
      await page.getByRole('heading', { name: 'Security lock' }).waitFor();
      await page.getByText('No lock is set.').waitFor();
      await page.getByLabel('Lock period').selectOption('7');
      await page.getByRole('button', { name: 'Set lock' }).click();
      await page.getByText('Lock set to 7 days').waitFor();
      await page.getByText('Your lock: 7 days.').waitFor();
      await shot(page, 'security-lock-set');

      // Shorter: it waits for the lock in force, and says until when.
      await page.getByLabel('Lock period').selectOption('0');
      await page.getByRole('button', { name: 'Set lock' }).click();
      await page.getByText('Shorter lock scheduled').waitFor();
      await page.getByText('Your lock will be removed on').waitFor();
      assert.match(await page.locator('#lock-state').innerText(), /Your lock: 7 days\./);
      await shot(page, 'security-lock-shortening');
      await page.goto(`${origin}/`);
      await page.getByText('Your security lock is being shortened').waitFor();
      await shot(page, 'overview-lock-shortening');
      await page.goto(`${origin}/settings`);
      await page.getByRole('button', { name: 'Cancel the shorter lock' }).click();
      await page.getByText('Shorter lock cancelled').waitFor();

      // Removing a key is scheduled first; a key cancels it.
      await page.goto(`${origin}/keys`);
      await page.getByRole('button', { name: 'Remove Backup key' }).click();
      await dialog(page).getByRole('heading', { name: 'Schedule removing "Backup key"?' }).waitFor();
      await dialog(page).getByRole('button', { name: 'Schedule removal' }).click();
      await page.getByText('Removal of "Backup key" scheduled').waitFor();
      await page.getByText(/Removal scheduled for/).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Remove Backup key' }).count(), 0);
      await shot(page, 'keys-removal-scheduled');
      await page.getByRole('button', { name: 'Cancel removing Backup key' }).click();
      await page.getByText('"Backup key" stays').waitFor();
      await page.getByRole('button', { name: 'Remove Backup key' }).waitFor();

      // Pages say how long a loosening change now holds withdrawals.
      await page.goto(`${origin}/freeze`);
      await page.getByText(/hold for 7 days \(your 7-day security lock\)/).waitFor();
      await page.goto(`${origin}/api-keys`);
      await page.getByText(/hold for 7 days, until about .* your 7-day security lock sets how long/).waitFor();

      await page.goto(`${origin}/activity`);
      await page.getByText('Security lock set to 7 days').waitFor();
      await page.getByText('Shorter security lock cancelled with a key; it stays 7 days').waitFor();
      await page.getByText(/Removal of security key "Backup key" scheduled/).waitFor();
      await shot(page, 'activity-security-lock');

      // On a phone: the lock card fits, nothing scrolls sideways.
      await page.setViewportSize({ width: 375, height: 740 });
      await page.goto(`${origin}/settings`);
      await page.getByRole('heading', { name: 'Security lock' }).waitFor();
      const sideways = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
      assert.equal(sideways, false);
      await shot(page, 'security-lock-phone');
    } finally {
      await server.stop();
    }
  });
});
