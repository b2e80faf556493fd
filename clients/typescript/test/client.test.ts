// KeywardClient against a fake fetch: typed errors from problem responses,
// both waits, the JWKS cache (refetched once for an unknown kid, rate
// limited), approval tokens, and the service key kept out of sight.

import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { utf8 } from '../src/bytes.js';
import {
  AlreadyRedeemedError,
  approvalMatches,
  EndedError,
  ForbiddenError,
  KeywardClient,
  NotFoundError,
  TimeoutError,
  TokenError,
  TransportError,
  UnverifiedError,
  Verifier,
  MemoryPins,
  InvalidUrlError,
} from '../src/index.js';

type Handler = (method: string, path: string, body: unknown, headers: Record<string, string>) => { status: number; body: unknown };

function fake(handler: Handler) {
  const calls: string[] = [];
  const f = (async (url: URL, init: RequestInit) => {
    const method = init.method ?? 'GET';
    calls.push(`${method} ${url.pathname}${url.search}`);
    const { status, body } = handler(method, url.pathname + url.search, init.body ? JSON.parse(String(init.body)) : undefined, init.headers as Record<string, string>);
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  }) as unknown as typeof fetch;
  return { f, calls };
}

const problem = (slug: string, status: number, extra: object = {}) => ({
  status,
  body: { type: `https://keyward.dev/problems/${slug}`, title: slug, status, ...extra },
});

const ID = '3f0b7a4e-1111-4222-8333-944445555666';
const stepUp = (status: string, reason: string | null = null) => ({ id: ID, status, reason, details: {}, digest: 'ab' });

describe('KeywardClient', () => {
  it('sends the service key, maps problems to typed errors, never shows the key', async () => {
    const { f, calls } = fake((method, path, body, headers) => {
      assert.equal(headers.authorization, 'Bearer kw_svc_secret');
      if (path === '/base/v1/step-ups' && method === 'POST') {
        assert.deepEqual(body, { user: 'alice', action: 'withdrawal', details: { amount: '1' } });
        return { status: 201, body: stepUp('pending') };
      }
      if (path.endsWith('/redeem')) return problem('already-redeemed', 409);
      if (path.endsWith('/verify')) return problem('insufficient-scope', 403);
      if (path.includes('nope')) return problem('not-found', 404);
      return { status: 502, body: '<html>' };
    });
    const k = new KeywardClient('http://kw.example/base/', 'kw_svc_secret', { fetch: f });
    assert.equal((await k.createStepUp('alice', 'withdrawal', { amount: '1' })).status, 'pending');
    await assert.rejects(k.redeem(ID), AlreadyRedeemedError);
    await assert.rejects(k.verifyApiKey('kw_api_x', 'read', '1.2.3.4'), ForbiddenError);
    await assert.rejects(k.stepUp('nope/..'), NotFoundError);
    await assert.rejects(k.events(0, 1), (e: { status: number }) => e.status === 502);
    assert.ok(calls.includes('GET /base/v1/step-ups/nope%2F..'), 'segments are percent-encoded');
    assert.ok(!inspect(k).includes('secret') && !JSON.stringify(k).includes('secret'));
    assert.equal(k.issuer, 'http://kw.example');
    assert.throws(() => new KeywardClient('ftp://x', 'k'), InvalidUrlError);
    const down = new KeywardClient('http://kw.example', 'k', { fetch: (async () => { throw new Error('refused'); }) as unknown as typeof fetch });
    await assert.rejects(down.stepUp(ID), TransportError);
  });

  it('waits by polling until approved, ended or timed out', async () => {
    let n = 0;
    const states = ['pending', 'pending', 'approved'];
    const k = new KeywardClient('http://kw.example', 'k', { fetch: fake(() => ({ status: 200, body: stepUp(states[Math.min(n++, 2)]!) })).f });
    assert.equal((await k.waitForApproval(ID, 10, 5_000)).status, 'approved');
    const declined = new KeywardClient('http://kw.example', 'k', { fetch: fake(() => ({ status: 200, body: stepUp('held', 'key_added') })).f });
    await assert.rejects(declined.waitForApproval(ID, 10, 1_000), (e: EndedError) => e instanceof EndedError && e.status === 'held' && e.reason === 'key_added');
    const pending = new KeywardClient('http://kw.example', 'k', { fetch: fake(() => ({ status: 200, body: stepUp('pending') })).f });
    const t0 = Date.now();
    await assert.rejects(pending.waitForApproval(ID, 10, 100), TimeoutError);
    assert.ok(Date.now() - t0 < 1_000);
  });

  it('waits by events, verifying each, and refetches the JWKS once for an unknown kid', async () => {
    const one = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const two = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwk = async (k: typeof one, kid: string) => ({ ...(await exportJWK(k.publicKey)), kid, alg: 'EdDSA' });
    let published = [await jwk(one, 'k1')];
    const claims = (seq: number, name: string) => ({
      iss: 'http://kw.example', aud: 'payouts', iat: 1, jti: `j${seq}`, toe: 1, sub_id: { format: 'opaque', id: 'u' },
      events: { [`https://keyward.dev/secevent/${name}`]: { step_up_id: ID } }, keyward_seq: seq,
    });
    const sign = (k: typeof one, kid: string, c: object) =>
      new CompactSign(utf8(JSON.stringify(c))).setProtectedHeader({ alg: 'EdDSA', typ: 'secevent+jwt', kid }).sign(k.privateKey);
    const events = [
      { seq: 11, jti: 'j11', set: await sign(one, 'k1', claims(11, 'stepup.created')) },
      { seq: 12, jti: 'j12', set: await sign(two, 'k2', claims(12, 'stepup.approved')) },
    ];
    let status = 'pending';
    const { f, calls } = fake((_m, path) => {
      if (path === '/.well-known/jwks.json') return { status: 200, body: { keys: published } };
      if (path.startsWith('/v1/events')) {
        const after = Number(new URL(path, 'http://x').searchParams.get('after'));
        const page = events.filter((e) => e.seq > after);
        if (page.some((e) => e.seq === 12)) status = 'approved';
        return { status: 200, body: { events: page, next: Math.max(after, ...page.map((e) => e.seq)), head: 12 } };
      }
      return { status: 200, body: stepUp(status) };
    });
    const k = new KeywardClient('http://kw.example', 'k', { fetch: f });
    // The key rotated after the first fetch: k2 is published on the refetch.
    await k.verifyEvent(events[0]!.set, 'payouts');
    published = [await jwk(one, 'k1'), await jwk(two, 'k2')];
    assert.equal((await k.waitForApprovalByEvents(ID, 'payouts', 10, 5_000)).status, 'approved');
    assert.equal(calls.filter((c) => c.includes('jwks')).length, 2);
    // A third unknown kid within the refetch interval: refused without fetching.
    await assert.rejects(k.verifyEvent(await sign(two, 'k3', claims(13, 'x')), 'payouts'), (e: TokenError) => e.kind === 'unknown_key');
    assert.equal(calls.filter((c) => c.includes('jwks')).length, 2);
    // An event that does not verify ends the wait.
    status = 'pending';
    events.push({ seq: 13, jti: 'j13', set: await sign(one, 'k1', { ...claims(13, 'stepup.approved'), aud: 'other' }) });
    await assert.rejects(k.waitForApprovalByEvents(ID, 'payouts', 12, 2_000), (e: TokenError) => e.kind === 'wrong_audience');
  });

  it('verifies approval tokens and refuses a redeem without evidence', async () => {
    const key = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const now = Math.floor(Date.now() / 1000);
    const claims = { sid: ID.toUpperCase(), sub: 'u', action: 'withdrawal', details_digest: 'AB', cred_id: 'c', uv: true, iat: now - 10, exp: now + 300, jti: ID, iss: 'http://kw.example', aud: 'keyward-step-up' };
    const sign = (c: object, typ = 'JWT') => new CompactSign(utf8(JSON.stringify(c))).setProtectedHeader({ alg: 'EdDSA', typ, kid: 'k1' }).sign(key.privateKey);
    const jwks = { keys: [{ ...(await exportJWK(key.publicKey)), kid: 'k1' }] };
    const k = new KeywardClient('http://kw.example', 'k', {
      fetch: fake((_m, path) => (path === '/.well-known/jwks.json' ? { status: 200, body: jwks } : { status: 200, body: { ...stepUp('redeemed'), evidence: null } })).f,
    });
    const c = await k.verifyApproval(await sign(claims));
    assert.ok(approvalMatches(c, 'ab', ID));
    assert.ok(!approvalMatches(c, 'ac', ID));
    const kind = (p: Promise<unknown>) => p.then(() => 'ok', (e: TokenError) => e.kind);
    assert.equal(await kind(k.verifyApproval(await sign({ ...claims, exp: now - 100 }))), 'expired');
    assert.equal(await kind(k.verifyApproval(await sign({ ...claims, iat: now + 100 }))), 'not_yet_valid');
    assert.equal(await kind(k.verifyApproval(await sign({ ...claims, aud: 'x' }))), 'wrong_audience');
    assert.equal(await kind(k.verifyApproval(await sign(claims, 'secevent+jwt'))), 'malformed');
    await assert.rejects(
      k.redeemVerified(ID, 'alice', 'withdrawal', {}, new Verifier('kw.example', 'http://kw.example', new MemoryPins())),
      (e: UnverifiedError) => e.error === 'missing_evidence',
    );
  });
});
