// Against a real Keyward (set up by test/live.sh): a withdrawal step-up
// approved by alice's software key, waited for by polling and by events,
// redeemed once, verified end to end with pins; an invalid API key and a
// wrong service key refused with their typed errors; the events verified.
// Without KEYWARD_URL and KEYWARD_SERVICE_KEY (and the rest, see
// README.md) it reports itself skipped.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { it } from 'node:test';
import {
  AlreadyRedeemedError,
  ApiKeyRefusedError,
  approvalMatches,
  digestOf,
  EventOrder,
  KeywardClient,
  MemoryPins,
  UnauthorizedError,
  UnverifiedError,
  Verifier,
  type SecurityEventClaims,
} from '../src/index.js';

const env = process.env;
const NEEDED = ['KEYWARD_URL', 'KEYWARD_SERVICE_KEY', 'KEYWARD_APPROVE', 'KEYWARD_ADDRESS'];
const missing = NEEDED.filter((k) => !env[k]);
const skip = missing.length > 0 ? `live Keyward not configured (${missing.join(', ')} unset; run test/live.sh)` : false;

it('withdrawal end to end against a running Keyward', { skip, timeout: 120_000 }, async () => {
  const url = env.KEYWARD_URL!;
  const user = env.KEYWARD_USER ?? 'alice';
  const audience = env.KEYWARD_AUDIENCE ?? 'payouts';
  const keyward = new KeywardClient(url, env.KEYWARD_SERVICE_KEY!);
  const pins = new MemoryPins();
  const verifier = new Verifier(env.KEYWARD_RP_ID ?? new URL(url).hostname, new URL(url).origin, pins);
  const approve = async (id: string) => {
    const { stdout } = await promisify(execFile)(env.KEYWARD_APPROVE!, [id], { env });
    return JSON.parse(stdout) as { approval?: string };
  };
  const details = {
    asset: 'BTC',
    network: 'bitcoin',
    amount: '0.2500',
    destination: env.KEYWARD_ADDRESS!,
    client_reference: `ts-live-${Date.now()}`,
  };
  const mine = await digestOf('withdrawal', details);

  // 1. Ask, taking the event cursor first so nothing slips between.
  const cursor = await keyward.eventCursor();
  const stepUp = await keyward.createStepUp(user, 'withdrawal', details);
  assert.equal(stepUp.status, 'pending', `held or denied: ${stepUp.reason}`);
  assert.equal(stepUp.digest, mine.digestHex, 'Keyward hashed what we hash');

  // 2. Wait by events while alice approves; then by polling (already approved).
  const byEvents = keyward.waitForApprovalByEvents(stepUp.id, audience, cursor, 60_000);
  const approved = await approve(stepUp.id);
  assert.equal((await byEvents).status, 'approved');
  assert.equal((await keyward.waitForApproval(stepUp.id, 200, 10_000)).status, 'approved');

  // The approval token alice's page got checks out too (trusting Keyward's key).
  assert.ok(approved.approval, 'the verify response carries the approval token');
  const claims = await keyward.verifyApproval(approved.approval!);
  assert.ok(approvalMatches(claims, mine.digestHex, stepUp.id));

  // 3. Redeem once, verified end to end; a second redeem is refused.
  const { redeemed, verified } = await keyward.redeemVerified(stepUp.id, user, 'withdrawal', details, verifier);
  assert.equal(redeemed.status, 'redeemed');
  assert.deepEqual(redeemed.details, mine.details);
  assert.equal(verified.facts.userVerified, true);
  const pin = await pins.get(user);
  assert.ok(pin && pin.head === verified.chain.head && pin.genesis === verified.chain.genesis);
  await assert.rejects(keyward.redeem(stepUp.id), AlreadyRedeemedError);
  // The same evidence does not approve another amount.
  await assert.rejects(
    verifier.verify(user, 'withdrawal', { ...details, amount: '2.5' }, redeemed.evidence),
    (e: UnverifiedError) => e.error === 'details_differ',
  );

  // 4. API keys and service keys refused with their typed errors.
  await assert.rejects(keyward.verifyApiKey('kw_api_not-a-real-key', 'read', '203.0.113.7'), (e: ApiKeyRefusedError) => {
    assert.ok(e instanceof ApiKeyRefusedError);
    assert.equal(e.reason, 'malformed');
    return true;
  });
  await assert.rejects(new KeywardClient(url, 'kw_svc_wrong').stepUp(stepUp.id), UnauthorizedError);

  // 5. The events: every one verifies, in order, and tells this step-up's story.
  const order = new EventOrder(cursor);
  const seen: SecurityEventClaims[] = [];
  for (let after = cursor; ; ) {
    const page = await keyward.events(after, 100);
    for (const e of page.events) {
      const c = await keyward.verifyEvent(e.set, audience);
      assert.equal(c.keyward_seq, e.seq);
      if (order.accept(c)) seen.push(c);
    }
    if (page.next <= after || page.events.length === 0) break;
    after = page.next;
  }
  const names = seen
    .flatMap((c) => Object.entries(c.events))
    .filter(([, d]) => (d as { step_up_id?: string }).step_up_id === stepUp.id)
    .map(([uri]) => uri.replace('https://keyward.dev/secevent/', ''));
  for (const name of ['stepup.approved', 'stepup.redeemed']) assert.ok(names.includes(name), `${name} in ${names}`);
  const first = (await keyward.events(cursor, 1)).events[0]!;
  await assert.rejects(keyward.verifyEvent(first.set, 'someone-else'), (e: { kind: string }) => e.kind === 'wrong_audience');

  // 6. A second withdrawal, waited for by polling while alice approves,
  //    verified against the pin the first one left.
  const again = { ...details, client_reference: `${details.client_reference}-2` };
  const second = await keyward.createStepUp(user, 'withdrawal', again);
  const polling = keyward.waitForApproval(second.id, 100, 60_000);
  await approve(second.id);
  assert.equal((await polling).status, 'approved');
  const { redeemed: r2, verified: v2 } = await keyward.redeemVerified(second.id, user, 'withdrawal', again, verifier);
  assert.equal(v2.chain.genesis, pin.genesis);
  assert.deepEqual(await pins.get(user), pin, 'an unchanged chain keeps its pin');

  // 7. examples/check-approval.mjs on that redeem response: PAY, and DO NOT
  //    PAY for other details.
  const dir = await mkdtemp(join(tmpdir(), 'kw-example-'));
  const example = async (d: object) => {
    const child = spawn(process.execPath, [
      fileURLToPath(new URL('../../examples/check-approval.mjs', import.meta.url)),
      '--rp-id', verifier.rpId, '--origin', verifier.origin, '--pins', join(dir, 'pins.json'),
      '--user', user, '--details', JSON.stringify(d),
    ]);
    child.stdin.end(JSON.stringify(r2));
    let out = '';
    for await (const chunk of child.stdout) out += chunk;
    const code = await new Promise((r) => child.on('close', r));
    return { code, out: out.trim() };
  };
  const pay = await example(again);
  assert.equal(pay.code, 0, pay.out);
  assert.match(pay.out, /^PAY: alice's key [0-9a-f]{16} signed exactly these details; key chain followed to entry 0/);
  const dont = await example({ ...again, amount: '25' });
  assert.equal(dont.code, 1);
  assert.match(dont.out, /^DO NOT PAY: .*details_differ/);
});
