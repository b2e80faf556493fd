// Test support: a real Keyward server (the built binary, its own SQLite in a
// temporary directory, a free port), headless Chromium driven by
// playwright-core, and virtual security keys through the DevTools protocol.

import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../..');
export const BIN = process.env.KEYWARD_BIN ?? path.join(ROOT, 'target/debug/keyward');
/** The test BLOB writer (`crates/keyward-testkit/src/bin/mds-blob.rs`). */
export const MDS_BLOB = process.env.KEYWARD_MDS_BLOB ?? path.join(ROOT, 'target/debug/mds-blob');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = process.env.KEYWARD_SCREENSHOTS ?? path.join(ROOT, 'build-output/screenshots');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `keyward serve` on a free port with its own data directory; `env`
 * adds settings (e.g. KEYWARD_WITHDRAWALS__ADDRESS_COOLING_HOURS). `before`
 * runs first with a `cli(...args)` on the same database (e.g. to import
 * metadata the server should start with). Resolves once /readyz answers.
 */
export async function startServer(env = {}, { before } = {}) {
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'keyward-web-'));
  const origin = `http://localhost:${port}`;
  const fullEnv = {
    ...process.env,
    KEYWARD_DATA_DIR: dataDir,
    KEYWARD_LISTEN: `127.0.0.1:${port}`,
    KEYWARD_ORIGIN: origin,
    // Every page test signs up from 127.0.0.1: lift the per-address limit.
    KEYWARD_THROTTLE__SIGNUPS_PER_IP: '100000',
    ...env,
  };
  if (before) await before(async (...args) => (await run(BIN, args, { env: fullEnv })).stdout.trim());
  const child = spawn(BIN, ['serve'], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (chunk) => { log += chunk; });
  child.stderr.on('data', (chunk) => { log += chunk; });
  const exited = new Promise((resolve) => child.on('exit', resolve));

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await rm(dataDir, { recursive: true, force: true });
      throw new Error(`keyward exited at start-up:\n${log}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
      throw new Error(`keyward did not become ready in 20 s:\n${log}`);
    }
    await sleep(100);
  }

  return {
    origin,
    port,
    dataDir,
    log: () => log,
    /** Runs a `keyward` CLI command against the same database. */
    async cli(...args) {
      const { stdout } = await run(BIN, args, { env: fullEnv });
      return stdout.trim();
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium (Debian's), a fresh profile per launch. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/**
 * A new page (own cookies) that records Content-Security-Policy violations
 * and page errors in `page.problems` — a test can assert there are none.
 */
export async function newPage(browser, viewport = { width: 1180, height: 860 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) page.problems.push(msg.text());
  });
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  return page;
}

const cdpSessions = new WeakMap();

async function cdpFor(page) {
  let cdp = cdpSessions.get(page);
  if (!cdp) {
    cdp = await page.context().newCDPSession(page);
    // Must come first: without it create() waits forever.
    await cdp.send('WebAuthn.enable');
    cdpSessions.set(page, cdp);
  }
  return cdp;
}

/**
 * Plugs a virtual security key (CTAP2, USB, with PIN/biometric verification)
 * into `page`. It answers at once unless `presence` is turned off.
 */
export async function addKey(page) {
  const cdp = await cdpFor(page);
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'usb', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  return {
    id: authenticatorId,
    async credentials() {
      return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    },
    /** Whether the key "gets touched" (off: it never answers, like an idle key). */
    async presence(enabled) {
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
    },
    /** Whether the key's PIN/fingerprint check succeeds (off: every check fails). */
    async verified(isUserVerified) {
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified });
    },
    async remove() {
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    },
    /**
     * Unplugs the key; the function returned plugs it back in (the same
     * credentials, private keys and counters) and resolves with the key.
     */
    async unplug() {
      const held = await this.credentials();
      await this.remove();
      return async () => {
        const key = await addKey(page);
        for (const credential of held) {
          await cdp.send('WebAuthn.addCredential', { authenticatorId: key.id, credential });
        }
        return key;
      };
    },
    /** Copies every credential (private key and counter too) into `other` — a cloned key. */
    async cloneInto(other) {
      const otherCdp = await cdpFor(other.page);
      for (const credential of await this.credentials()) {
        await otherCdp.send('WebAuthn.addCredential', { authenticatorId: other.id, credential });
      }
    },
    page,
  };
}

/** Saves a full-page screenshot as build-output/screenshots/<name>.png. */
export async function shot(page, name) {
  await mkdir(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A JSON request as an exchange service makes it (bearer key, no cookies). */
export async function serviceCall(server, token, method, urlPath, body) {
  const response = await fetch(`http://127.0.0.1:${server.port}${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Whether the binary knows a CLI command (another team may still be adding it). */
export async function hasCommand(...words) {
  try {
    await run(BIN, [...words, '--help']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes test FIDO metadata BLOBs for one model into `dir` (root.pem,
 * blob-1.jwt certified, blob-2.jwt compromised); returns their paths.
 */
export async function metadataBlobs(dir, aaguid, description, vendorPem) {
  await run(MDS_BLOB, [dir, aaguid, description, vendorPem]);
  return {
    root: path.join(dir, 'root.pem'),
    certified: path.join(dir, 'blob-1.jwt'),
    compromised: path.join(dir, 'blob-2.jwt'),
  };
}

export { readFile, sleep };
