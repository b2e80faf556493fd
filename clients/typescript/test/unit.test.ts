// Unit tests, ported from the Rust crates' own tests (keyward-proof,
// keyward-client), with keys made by WebCrypto (fixture.ts).

import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { parseAmount } from '../src/amount.js';
import { verifyApproval } from '../src/approval.js';
import { b64urlDecode, b64urlDecodeAnyPad, b64urlEncode, hex, sha256, utf8 } from '../src/bytes.js';
import { canonicalJson, compareCodePoints } from '../src/canonical.js';
import { ChainError, follow, pinOf } from '../src/chain.js';
import { stepUpChallenge } from '../src/challenge.js';
import { canonicalise, DEFAULT_ASSETS, digestOf } from '../src/details.js';
import {
  AlreadyRedeemedError,
  ApiKeyRefusedError,
  ChainRestartedError,
  fromResponse,
  HttpError,
  PolicyRefusedError,
  UnverifiedError,
  ValidationError,
} from '../src/errors.js';
import { derToRaw } from '../src/evidence.js';
import { aboutStepUp, EventOrder } from '../src/events.js';
import { ipEntry } from '../src/ip.js';
import { FilePins, MemoryPins } from '../src/pins.js';
import { verifyEventWithSet, type JwkSet } from '../src/tokens.js';
import { Verifier } from '../src/verifier.js';
import type { ApprovalEvidence } from '../src/wire.js';
import { assertionJson, assertOver, change, entryJson, genesis, key, ORIGIN, rawToDer, RP_ID, USER } from './fixture.js';

const btc = (amount: string, patch: Record<string, unknown> = {}) => ({
  asset: 'BTC',
  network: 'bitcoin',
  amount,
  destination: 'bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh',
  client_reference: 'w-1',
  ...patch,
});

async function refused(p: Promise<unknown>): Promise<ValidationError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  assert.fail('accepted');
}

describe('details', () => {
  it('canonical form is stable and sorted', async () => {
    const c = await canonicalise('withdrawal', btc('1.50'));
    assert.equal(
      c.json,
      '{"action":"withdrawal","details":{"amount":"1.5","asset":"BTC","client_reference":"w-1","destination":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh","network":"bitcoin"}}',
    );
    assert.equal(c.digestHex, (await canonicalise('withdrawal', btc('1.5'))).digestHex);
    assert.notEqual(c.digestHex, (await canonicalise('withdrawal', btc('1.51'))).digestHex);
  });

  it('bad withdrawals name the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ amount: '1e3' }, 'details.amount'],
      [{ amount: '-1' }, 'details.amount'],
      [{ amount: '0.000000001' }, 'details.amount'],
      [{ asset: 'DOGE' }, 'details.asset'],
      [{ destination: 'short' }, 'details.destination'],
      [{ destination: 'bc1q xy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh' }, 'details.destination'],
      [{ colour: 'red' }, 'details.colour'],
      [{ amount: 1.5 }, 'details.amount'],
      [{ memo: 'é' }, 'details.memo'],
      [{ network: 'Bitcoin' }, 'details.network'],
      [{ client_reference: '' }, 'details.client_reference'],
    ];
    for (const [patch, field] of cases) {
      const e = await refused(canonicalise('withdrawal', btc('1', patch), DEFAULT_ASSETS));
      assert.equal(e.field, field, JSON.stringify(patch));
      assert.equal(e.error, 'validation');
    }
    assert.equal((await refused(canonicalise('withdrawal', 'x'))).field, 'details');
    const { asset: _a, ...noAsset } = btc('1');
    assert.equal((await refused(canonicalise('withdrawal', noAsset))).field, 'details.asset');
  });

  it('api key details are normalised', async () => {
    const c = await canonicalise('api_key.create', { label: ' bot ', scopes: ['withdraw', 'read', 'read'], ip_allowlist: ['10.0.0.7/8', '2001:db8::1'] });
    assert.deepEqual(c.details, { label: 'bot', scopes: ['read', 'withdraw'], ip_allowlist: ['10.0.0.0/8', '2001:db8::1'] });
    assert.equal((await refused(canonicalise('api_key.create', { label: 'bot', scopes: ['withdraw'] }))).field, 'details.ip_allowlist');
    assert.equal((await refused(canonicalise('api_key.create', { label: 'bot', scopes: [] }))).field, 'details.scopes');
    assert.equal((await refused(canonicalise('api_key.create', { label: 'bot', scopes: [1] }))).field, 'details.scopes[0]');
    assert.equal((await refused(canonicalise('api_key.create', { label: 'bot', scopes: ['read'], expires_in_days: 0 }))).field, 'details.expires_in_days');
    const days = await canonicalise('api_key.create', { label: 'bot', scopes: ['read'], expires_in_days: 30.0 });
    assert.match(days.json, /"expires_in_days":30,/);
  });

  it('address details default the label and keep the memo only when present', async () => {
    const a = await canonicalise('address.add', { network: 'bitcoin', address: 'bc1qxy2kgdygjrsq' });
    assert.equal(a.json, '{"action":"address.add","details":{"address":"bc1qxy2kgdygjrsq","label":"bc1qxy2kgdygjrsq","network":"bitcoin"}}');
  });

  it('a verifier without the asset table gets the same digest', async () => {
    for (const amount of ['1.50', '0.00000001', '21000000', '3']) {
      assert.equal((await digestOf('withdrawal', btc(amount))).digestHex, (await canonicalise('withdrawal', btc(amount))).digestHex);
    }
    await refused(digestOf('withdrawal', btc('1e3')));
  });

  it('unknown action is refused', async () => {
    assert.equal((await refused(canonicalise('transfer', {}))).field, 'action');
  });
});

describe('amounts', () => {
  it('parse exactly and refuse what is not a plain decimal', () => {
    assert.deepEqual(parseAmount('1.5', 8), { text: '1.5', units: 150_000_000n });
    assert.deepEqual(parseAmount('1.50000000', 8), { text: '1.5', units: 150_000_000n });
    assert.deepEqual(parseAmount('0.00000001', 8), { text: '0.00000001', units: 1n });
    for (const bad of ['', '1e3', '-1', '+1', ' 1', '1 ', '1.', '.5', '01', '0x10', '1,5', 'NaN', '1.2.3', '١']) {
      assert.deepEqual(parseAmount(bad, 8), { kind: 'syntax' }, bad);
    }
    assert.deepEqual(parseAmount('0.000', 8), { kind: 'zero' });
    assert.deepEqual(parseAmount('0.000000001', 8), { kind: 'too_precise', decimals: 8 });
    assert.deepEqual(parseAmount('9'.repeat(40), 18), { kind: 'too_large' });
  });
});

describe('ip entries (Rust std / ipnet semantics)', () => {
  it('writes addresses and ranges as Rust does', () => {
    const cases: Array<[string, string | undefined]> = [
      ['10.0.0.7', '10.0.0.7'],
      ['10.0.0.7/8', '10.0.0.0/8'],
      ['010.0.0.7', undefined], // a leading zero in an address is refused...
      ['010.0.0.7/8', undefined], // ...in a range's too (ipnet 2.12.3)
      ['::1:2:3:4:5:6:7:8/64', undefined], // `::` stands for at least one group
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
      ['::1.2.3.4', '::102:304'],
      ['::', '::'],
      ['2001:db8::1/32', '2001:db8::/32'],
      ['1.2.3.4/33', undefined],
      ['1.2.3.4/08', '1.0.0.0/8'],
      ['256.1.1.1', undefined],
      ['1.2.3', undefined],
      ['[::1]', undefined],
      ['fe80::1%eth0', undefined],
    ];
    for (const [raw, want] of cases) assert.equal(ipEntry(raw), want, raw);
  });
});

describe('canonical JSON and encodings', () => {
  it('sorts keys by code point and drops nulls', () => {
    assert.equal(canonicalJson({ b: 1, a: null, 'é': 'x\u0001"', '\uffff': 1, '\u{1f600}': 2 }), '{"b":1,"é":"x\\u0001\\"","\uffff":1,"\u{1f600}":2}');
    assert.ok(compareCodePoints('\uffff', '\u{1f600}') < 0);
  });
  it('base64url is strict', () => {
    assert.deepEqual(b64urlDecode('AQ'), new Uint8Array([1]));
    assert.equal(b64urlDecode('AR'), undefined); // non-zero trailing bits
    assert.equal(b64urlDecode('AQ=='), undefined);
    assert.equal(b64urlDecode('A+'), undefined);
    assert.deepEqual(b64urlDecodeAnyPad('AQ=='), new Uint8Array([1]));
    assert.deepEqual(b64urlDecodeAnyPad('AQ='), new Uint8Array([1]));
    assert.equal(b64urlDecodeAnyPad('AQ==='), undefined);
  });
  it('DER signatures convert strictly', async () => {
    const raw = new Uint8Array(64).fill(1);
    assert.deepEqual(derToRaw(rawToDer(raw)), raw);
    const der = rawToDer(raw);
    assert.equal(derToRaw(new Uint8Array([...der, 0])), undefined); // trailing byte
    const padded = new Uint8Array([0x30, der.length + 1, 0x02, 33, 0, ...raw.subarray(0, 32), ...der.subarray(2 + 34)]);
    assert.equal(derToRaw(padded), undefined); // non-minimal integer
    const long = new Uint8Array([0x30, 0x81, der.length - 2, ...der.subarray(2)]);
    assert.equal(derToRaw(long), undefined); // non-minimal length
    const zero = rawToDer(new Uint8Array(64));
    assert.equal(derToRaw(zero), undefined);
  });
});

const DETAILS = '{"action":"withdrawal","details":{"amount":"1"}}';

async function evidence(signer: number, edit: (o: { flags?: number; clientData?: string; rpId?: string }) => void = () => {}) {
  const [a, b] = [await key(1), await key(2)];
  const chain = [await genesis(a)];
  chain.push(await change(chain, 'add', b, a));
  const nonce = new Uint8Array(32).fill(5);
  const digest = await sha256(utf8(DETAILS));
  const o: { flags?: number; clientData?: string; rpId?: string } = {};
  edit(o);
  const ev: ApprovalEvidence = {
    details: DETAILS,
    nonce: b64urlEncode(nonce),
    assertion: await assertOver(await key(signer), await stepUpChallenge(nonce, digest), o),
    keyChain: chain,
  };
  return { ev, digest };
}

async function verdict(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof UnverifiedError) return e.reason ? `${e.error}/${e.reason}` : e.error;
    if (e instanceof ChainRestartedError) return e.error;
    throw e;
  }
}

const check = (ev: ApprovalEvidence, digest: Uint8Array, requireUv = true) =>
  verifyApproval(ev, { rpId: RP_ID, origin: ORIGIN, digest, requireUv, pin: undefined });

describe('approvals', () => {
  it('an approval by a key in the chain verifies', async () => {
    const { ev, digest } = await evidence(2);
    const v = await check(ev, digest);
    assert.deepEqual(v.key.credentialId, (await key(2)).record.credentialId);
    assert.equal(v.facts.userVerified, true);
    assert.equal(v.facts.counter, 1);
    assert.equal(v.chain.seq, 1);
  });

  it('each broken part is refused with its slug', async () => {
    const { ev, digest } = await evidence(2);
    assert.equal(await verdict(check(ev, new Uint8Array(32))), 'details_differ');
    assert.equal(await verdict(check({ ...ev, details: DETAILS.replace('1', '9') }, digest)), 'details_differ');
    assert.equal(await verdict(check((await evidence(9)).ev, digest)), 'key_not_in_chain');
    assert.equal(await verdict(check({ ...ev, nonce: b64urlEncode(new Uint8Array(32).fill(6)) }, digest)), 'assertion_invalid/challenge_mismatch');
    assert.equal(await verdict(check({ ...ev, nonce: 'AAAA' }, digest)), 'malformed_nonce');
    assert.equal(await verdict(check({ ...ev, keyChain: [] }, digest)), 'chain_invalid/length');
    const sig = new Uint8Array(ev.assertion.signature);
    sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 1;
    assert.equal(await verdict(check({ ...ev, assertion: { ...ev.assertion, signature: sig } }, digest)), 'assertion_invalid/bad_signature');
    assert.equal(await verdict(check((await evidence(2, (o) => (o.flags = 0x01))).ev, digest)), 'user_not_verified');
    assert.equal(await verdict(check((await evidence(2, (o) => (o.flags = 0x01))).ev, digest, false)), 'ok');
    assert.equal(await verdict(check((await evidence(2, (o) => (o.flags = 0x04))).ev, digest)), 'assertion_invalid/user_not_present');
    assert.equal(await verdict(check((await evidence(2, (o) => (o.rpId = 'evil.example'))).ev, digest)), 'assertion_invalid/rp_id_mismatch');
    const cross = await evidence(2, (o) => (o.clientData = `{"type":"webauthn.get","challenge":"x","origin":"${ORIGIN}"}`));
    assert.equal(await verdict(check(cross.ev, digest)), 'assertion_invalid/challenge_mismatch');
    const dup = await evidence(2, (o) => (o.clientData = `{"type":"webauthn.get","type":"webauthn.get","challenge":"x","origin":"${ORIGIN}"}`));
    assert.equal(await verdict(check(dup.ev, digest)), 'assertion_invalid/malformed_response');
  });
});

describe('key chains', () => {
  it('follows endorsed changes, and against a pin reports restarts, truncations and other users', async () => {
    const [a, b, c] = [await key(1), await key(2), await key(3)];
    const chain = [await genesis(a)];
    chain.push(await change(chain, 'add', b, a));
    chain.push(await change(chain, 'add', c, b));
    chain.push(await change(chain, 'remove', a, c));
    const state = await follow(chain, RP_ID, ORIGIN, undefined);
    assert.equal(state.keys.length, 2);
    assert.equal(state.seq, 3);
    const pin = pinOf(await follow(chain.slice(0, 2), RP_ID, ORIGIN, undefined));
    assert.equal((await follow(chain, RP_ID, ORIGIN, pin)).head, state.head);
    const kind = async (p: Promise<unknown>) => p.then(() => 'ok', (e: ChainError) => e.kind);
    assert.equal(await kind(follow(chain.slice(0, 1), RP_ID, ORIGIN, pin)), 'diverged');
    assert.equal(await kind(follow([await genesis(b)], RP_ID, ORIGIN, pin)), 'restarted');
    assert.equal(await kind(follow(chain, RP_ID, ORIGIN, { ...pin, user: '00000000-0000-0000-0000-000000000008' })), 'wrong_user');
    // An addition endorsed by a key not in the chain.
    const forged = [chain[0]!, await change(chain.slice(0, 1), 'add', b, c)];
    assert.equal(await kind(follow(forged, RP_ID, ORIGIN, undefined)), 'unendorsed');
    // A rewritten entry.
    const rewritten = [chain[0]!, { ...chain[1]!, statement: { ...chain[1]!.statement, at: 99 } }];
    assert.equal(await kind(follow(rewritten, RP_ID, ORIGIN, undefined)), 'broken_link');
    assert.equal(await kind(follow([], RP_ID, ORIGIN, undefined)), 'length');
    assert.equal(await kind(follow([chain[0]!, chain[2]!], RP_ID, ORIGIN, undefined)), 'malformed');
  });
});

describe('Verifier with pins', () => {
  it('pins on first use, moves the pin forward, reports a restart and accepts it only when asked', async () => {
    const details = { asset: 'BTC', network: 'bitcoin', amount: '1.50', destination: 'bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh', client_reference: 'p-1' };
    const canonical = await digestOf('withdrawal', details);
    const nonce = new Uint8Array(32).fill(9);
    const [a, b] = [await key(1), await key(2)];
    const make = async (chain: Awaited<ReturnType<typeof genesis>>[], signer = a) => ({
      details: canonical.json,
      nonce: b64urlEncode(nonce),
      assertion: assertionJson(await assertOver(signer, await stepUpChallenge(nonce, canonical.digest))),
      key_chain: chain.map(entryJson),
    });
    const dir = await mkdtemp(join(tmpdir(), 'kw-pins-'));
    for (const pins of [new MemoryPins(), new FilePins(join(dir, 'pins.json'))]) {
      const verifier = new Verifier(RP_ID, `${ORIGIN}/`, pins);
      const chain = [await genesis(a)];
      await verifier.verify('alice', 'withdrawal', details, await make(chain));
      assert.equal((await pins.get('alice'))?.seq, 0);
      chain.push(await change(chain, 'add', b, a));
      await verifier.verify('alice', 'withdrawal', details, await make(chain, b));
      assert.equal((await pins.get('alice'))?.seq, 1);
      const restarted = [await genesis(b)];
      await assert.rejects(verifier.verify('alice', 'withdrawal', details, await make(restarted, b)), ChainRestartedError);
      await verifier.acceptRestart('alice', 'withdrawal', details, await make(restarted, b));
      assert.equal((await pins.get('alice'))?.genesis, restarted[0]!.hash);
      const bad = await make(restarted, b);
      await assert.rejects(verifier.verify('alice', 'withdrawal', details, { ...bad, assertion: { ...bad.assertion, extra: 1 } }), (e: UnverifiedError) => e.error === 'malformed_evidence');
      await assert.rejects(verifier.verify('alice', 'withdrawal', { ...details, amount: '2' }, bad), (e: UnverifiedError) => e.error === 'details_differ');
    }
    assert.equal((await new FilePins(join(dir, 'pins.json')).get('alice'))?.user, USER);
  });
});

describe('problems map to typed errors', () => {
  it('maps slugs, reasons and fields', () => {
    const p = (slug: string, extra: object = {}) => JSON.stringify({ type: `https://keyward.dev/problems/${slug}`, title: 't', status: 409, ...extra });
    assert.ok(fromResponse(409, p('already-redeemed')) instanceof AlreadyRedeemedError);
    const policy = fromResponse(409, p('policy-refused', { reason: 'key_added' }));
    assert.ok(policy instanceof PolicyRefusedError && policy.reason === 'key_added');
    const v = fromResponse(422, p('validation', { field: 'details.amount', detail: 'bad' }));
    assert.ok(v instanceof ValidationError && v.field === 'details.amount');
    const k = fromResponse(403, p('api-key-refused', { reason: 'ip_not_allowed' }));
    assert.ok(k instanceof ApiKeyRefusedError && k.reason === 'ip_not_allowed');
    assert.equal((fromResponse(403, p('api-key-refused', { reason: 'new_thing' })) as ApiKeyRefusedError).reason, 'other');
    const h = fromResponse(502, '<html>bad gateway</html>');
    assert.ok(h instanceof HttpError && h.status === 502 && h.type === 'about:blank');
  });
});

describe('security events', () => {
  it('verify strictly and keep order', async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwks: JwkSet = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' }] };
    const id = '3f0b7a4e-1111-4222-8333-944445555666';
    const claims = {
      iss: 'http://localhost:8080', aud: 'payouts', iat: 1, jti: 'j', toe: 1,
      sub_id: { format: 'opaque', id: 'u' },
      events: { 'https://keyward.dev/secevent/stepup.approved': { step_up_id: id } },
      keyward_seq: 7,
    };
    const sign = (header: object, payload: object | string = claims) =>
      new CompactSign(utf8(typeof payload === 'string' ? payload : JSON.stringify(payload))).setProtectedHeader(header as { alg: string }).sign(privateKey);
    const ok = await sign({ alg: 'EdDSA', typ: 'secevent+jwt', kid: 'k1' });
    const c = await verifyEventWithSet(ok, jwks, 'http://localhost:8080', 'payouts');
    assert.equal(c.keyward_seq, 7);
    assert.ok(aboutStepUp(c, id));
    const kind = (p: Promise<unknown>) => p.then(() => 'ok', (e: { kind: string }) => e.kind);
    assert.equal(await kind(verifyEventWithSet(ok, jwks, 'http://localhost:8080', 'other')), 'wrong_audience');
    assert.equal(await kind(verifyEventWithSet(ok, jwks, 'https://evil', 'payouts')), 'wrong_issuer');
    assert.equal(await kind(verifyEventWithSet(await sign({ alg: 'EdDSA', typ: 'JWT', kid: 'k1' }), jwks, 'http://localhost:8080', 'payouts')), 'malformed');
    assert.equal(await kind(verifyEventWithSet(await sign({ alg: 'EdDSA', typ: 'secevent+jwt', kid: 'k2' }), jwks, 'http://localhost:8080', 'payouts')), 'unknown_key');
    assert.equal(await kind(verifyEventWithSet(await sign({ alg: 'EdDSA', typ: 'secevent+jwt', kid: 'k1', jku: 'https://x' }), jwks, 'http://localhost:8080', 'payouts')), 'malformed');
    assert.equal(await kind(verifyEventWithSet(await sign({ alg: 'EdDSA', typ: 'secevent+jwt', kid: 'k1' }, { ...claims, events: {} }), jwks, 'http://localhost:8080', 'payouts')), 'malformed');
    assert.equal(await kind(verifyEventWithSet(await sign({ alg: 'EdDSA', typ: 'secevent+jwt', kid: 'k1' }, { ...claims, iat: 1.5 }), jwks, 'http://localhost:8080', 'payouts')), 'malformed');
    const [h, , s] = ok.split('.');
    const other = b64urlEncode(utf8(JSON.stringify({ ...claims, aud: 'x' })));
    assert.equal(await kind(verifyEventWithSet(`${h}.${other}.${s}`, jwks, 'http://localhost:8080', 'payouts')), 'bad_signature');
    const hs = `${b64urlEncode(utf8('{"alg":"HS256","typ":"secevent+jwt","kid":"k1"}'))}.${other}.${s}`;
    assert.equal(await kind(verifyEventWithSet(hs, jwks, 'http://localhost:8080', 'payouts')), 'algorithm');
    assert.equal(await kind(verifyEventWithSet('a.b', jwks, 'http://localhost:8080', 'payouts')), 'malformed');
    // Stricter than keyward-client (jsonwebtoken ignores crit): RFC 7515 §4.1.11.
    const crit = `${b64urlEncode(utf8('{"alg":"EdDSA","typ":"secevent+jwt","kid":"k1","crit":["exp"],"exp":1}'))}.${other}.${s}`;
    assert.equal(await kind(verifyEventWithSet(crit, jwks, 'http://localhost:8080', 'payouts')), 'malformed');
    // A struct may come as a sequence in serde: sub_id ["opaque", "u"] reads.
    const seqSub = await sign({ alg: 'EdDSA', typ: 'secevent+jwt', kid: 'k1' }, { ...claims, sub_id: ['opaque', 'u'] });
    assert.deepEqual((await verifyEventWithSet(seqSub, jwks, 'http://localhost:8080', 'payouts')).sub_id, { format: 'opaque', id: 'u' });
    const order = new EventOrder(5);
    assert.ok(order.accept(c));
    assert.ok(!order.accept(c));
    assert.equal(order.last, 7);
    assert.equal(hex(new Uint8Array([1, 2])), '0102');
  });
});
