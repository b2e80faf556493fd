// Steps several tests share, done the way a person does them in the pages.

import { addKey } from './harness.mjs';

export const PASSWORD = 'correct horse battery staple';

/** Creates an account through /signup and enrols its first key. */
export async function signUpWithKey(page, origin, username, { label = 'Desk key' } = {}) {
  await page.goto(`${origin}/signup`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/enrol');
  await page.getByLabel('Name this key').fill(label);
  await page.getByRole('button', { name: 'Add security key' }).click();
  await page.getByRole('heading', { name: 'Add a backup key' }).waitFor();
}

/** Signs in through /signin: password, then the key (answered by a virtual key). */
export async function signIn(page, origin, username, { from } = {}) {
  if (!from) await page.goto(`${origin}/signin`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** Signs out with the top bar's button. */
export async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL('**/signin');
}

/** The open key prompt / dialog. */
export function dialog(page) {
  return page.locator('dialog[open]');
}

/**
 * On /enrol (right after sign-up), adds a backup key on a second virtual
 * authenticator, vouched for by `desk`. One key is plugged in at a time, as
 * with one USB port (with two present Chrome's request sometimes hangs): the
 * desk key is unplugged while the new one registers, then swapped back in
 * to vouch. Ends on /keys with the desk key plugged in; returns it, and a
 * function that plugs the backup key back in.
 */
export async function addBackupKey(page, desk, label = 'Backup key') {
  const plugDeskBackIn = await desk.unplug();
  const backup = await addKey(page);
  let plugBackupBackIn;
  await page.route('**/v1/keys/registration/verify', async (route) => {
    const response = await route.fetch();
    plugBackupBackIn = await backup.unplug();
    desk = await plugDeskBackIn();
    await route.fulfill({ response });
  });
  await page.getByLabel('Name this key').fill(label);
  await page.getByRole('button', { name: 'Add backup key' }).click();
  await page.waitForURL('**/keys');
  await page.unroute('**/v1/keys/registration/verify');
  return { desk, plugBackupBackIn };
}
