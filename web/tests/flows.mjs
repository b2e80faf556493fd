// Steps several tests share, done the way a person does them in the pages.

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
