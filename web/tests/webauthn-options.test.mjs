// Chromium accepts Keyward's registration options exactly as the server
// sends them. webauthn-rs asks for credProtect "userVerificationRequired";
// Chromium refuses that unless userVerification is "required" too
// (NotSupportedError, "protection policy is inconsistent"), so keyward-fido
// sends "required". This test guards that.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addKey, launchBrowser, newPage, startServer } from './harness.mjs';

describe('registration options as sent', { timeout: 60_000 }, () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('are accepted by Chromium without the page adjusting them', async () => {
    const page = await newPage(browser);
    await addKey(page);
    await page.goto(`${server.origin}/signin`);
    const outcome = await page.evaluate(async () => {
      const post = (path, body = {}) => fetch(path, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      }).then((r) => r.json());
      await post('/v1/signup', { username: 'raw-options', password: 'correct horse battery staple' });
      const options = await post('/v1/keys/registration/options');
      try {
        const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey);
        await navigator.credentials.create({ publicKey });
        return 'created';
      } catch (err) {
        return `${err.name}: ${err.message}`;
      }
    });
    assert.equal(outcome, 'created');
  });
});
