// KeywardClient: the service API over HTTP with a bearer service key
// (`kw_svc_…`), for an exchange's back end. Same surface as keyward-client.

import type { VerifiedApproval } from './approval.js';
import { fromResponse, InvalidUrlError, TimeoutError, TokenError, TransportError, UnverifiedError } from './errors.js';
import { aboutStepUp, EventOrder, settled } from './events.js';
import {
  approvalKid,
  eventKid,
  findKey,
  readJwks,
  verifyApprovalWithSet,
  verifyEventWithSet,
  type ApprovalClaims,
  type JwkSet,
  type SecurityEventClaims,
} from './tokens.js';
import type { EventPage, Redeemed, StepUp, VerifiedKey } from './types.js';
import type { Verifier } from './verifier.js';

export interface ClientOptions {
  /** `iss` tokens must carry (Keyward's `token_issuer`); default the base URL's origin. */
  issuer?: string;
  /** Clock skew tolerated on approval tokens' `exp`/`iat`, seconds. Default 0. */
  clockLeewaySeconds?: number;
  /** At most one JWKS refetch for an unknown `kid` per this long. Default 10 s. */
  jwksRefetchIntervalMs?: number;
  /** A cached JWKS older than this is fetched again. Default 10 min. */
  jwksMaxAgeMs?: number;
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
  /** Another fetch (proxies, custom TLS); default the global one. */
  fetch?: typeof fetch;
}

/** How long a waiter sleeps when it has read everything there is. */
const IDLE_MS = 250;
/** Entries read per page while catching up. */
const PAGE = 500;
/** How often a waiter looks at the step-up itself even without an event:
 * expiry is read off the clock, not written to the log. */
const RECHECK_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A client for Keyward's service API. It holds one service key (sent as
 * `Authorization: Bearer`, never printed) and a cache of the JWKS.
 */
export class KeywardClient {
  readonly issuer: string;
  private readonly base: URL;
  private readonly auth: string;
  private readonly leeway: number;
  private readonly refetchMs: number;
  private readonly maxAgeMs: number;
  private readonly timeoutMs: number;
  private readonly fetcher: typeof fetch;
  private jwks: { set: JwkSet; at: number } | undefined;
  private lastRefetch: number | undefined;

  constructor(baseUrl: string, serviceKey: string, options: ClientOptions = {}) {
    let base: URL;
    try {
      base = new URL(baseUrl);
    } catch (e) {
      throw new InvalidUrlError((e as Error).message);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new InvalidUrlError('must be an http(s) URL');
    if (!/^[\x21-\x7e]*$/.test(serviceKey)) throw new InvalidUrlError('service key is not a valid header value');
    this.base = base;
    this.auth = `Bearer ${serviceKey}`;
    this.issuer = options.issuer ?? base.origin;
    this.leeway = options.clockLeewaySeconds ?? 0;
    this.refetchMs = options.jwksRefetchIntervalMs ?? 10_000;
    this.maxAgeMs = options.jwksMaxAgeMs ?? 600_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetcher = options.fetch ?? globalThis.fetch;
  }

  /** Keeps the key out of logs and inspection. */
  toJSON() {
    return { base: this.base.href, issuer: this.issuer };
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `KeywardClient { base: ${this.base.href}, issuer: ${this.issuer} }`;
  }

  /**
   * Asks `user` (id or username) to approve `action` (`withdrawal`) with
   * these `details`. The answer is decided at once: `pending` (send the user
   * to `confirm_url`), `held` or `denied` (see `reason`). A repeated
   * `client_reference` returns the same step-up.
   */
  createStepUp(user: string, action: string, details: unknown): Promise<StepUp> {
    return this.call('POST', ['v1', 'step-ups'], { user, action, details });
  }

  /** The step-up's current state. */
  stepUp(id: string): Promise<StepUp> {
    return this.call('GET', ['v1', 'step-ups', id]);
  }

  /**
   * Polls the step-up every `pollIntervalMs` until it is approved
   * (returned), leaves `pending` otherwise (EndedError) or `timeoutMs`
   * passes (TimeoutError). The approval still has to be redeemed.
   */
  async waitForApproval(id: string, pollIntervalMs: number, timeoutMs: number): Promise<StepUp> {
    const deadline = Date.now() + timeoutMs;
    const interval = Math.max(pollIntervalMs, 10);
    for (;;) {
      const done = settled(await this.stepUp(id));
      if (done) return done;
      const now = Date.now();
      if (now >= deadline) throw new TimeoutError();
      await sleep(Math.min(interval, deadline - now));
    }
  }

  /**
   * Redeems the approval once, atomically, after Keyward's policy agrees
   * again. A second call fails with AlreadyRedeemedError.
   */
  redeem(id: string): Promise<Redeemed> {
    return this.call('POST', ['v1', 'step-ups', id, 'redeem']);
  }

  /**
   * Redeems the approval once and verifies it without trusting Keyward:
   * `verifier` checks that `user`'s own key, one in the chain the exchange
   * pinned, signed exactly `action` with `details` — the ones you asked
   * for, hashed here — and moves the pin forward. Pay only when it
   * resolves; a redeemed approval whose evidence does not verify is
   * UnverifiedError (or ChainRestartedError) and must not be paid.
   */
  async redeemVerified(
    id: string,
    user: string,
    action: string,
    details: unknown,
    verifier: Verifier,
  ): Promise<{ redeemed: Redeemed; verified: VerifiedApproval }> {
    const redeemed = await this.redeem(id);
    if (redeemed.evidence === undefined || redeemed.evidence === null) {
      throw new UnverifiedError('missing_evidence', undefined, 'the redeemed approval carries no evidence');
    }
    const verified = await verifier.verify(user, action, details, redeemed.evidence);
    return { redeemed, verified };
  }

  /** Checks a user API key for `scope` from `clientIp`; a refusal is ApiKeyRefusedError. */
  verifyApiKey(key: string, scope: string, clientIp: string): Promise<VerifiedKey> {
    return this.call('POST', ['v1', 'api-keys', 'verify'], { key, scope, client_ip: clientIp });
  }

  /**
   * Verifies an approval token offline: EdDSA by a key of Keyward's JWKS,
   * issuer, audience `keyward-step-up`, expiry. Then check it with
   * approvalMatches.
   */
  async verifyApproval(token: string): Promise<ApprovalClaims> {
    const set = await this.setFor(approvalKid(token));
    return verifyApprovalWithSet(token, set, this.issuer, this.leeway);
  }

  /**
   * Verifies a Security Event Token (pushed to your webhook, or from
   * `events`): typ secevent+jwt, EdDSA by a key of Keyward's JWKS, this
   * Keyward's issuer, and `audience` (your webhook's, or your service key's
   * name when polling). Keep order and drop repeats with EventOrder.
   */
  async verifyEvent(set: string, audience: string): Promise<SecurityEventClaims> {
    const keys = await this.setFor(eventKid(set));
    return verifyEventWithSet(set, keys, this.issuer, audience);
  }

  /** Security events after position `after` (0: the start), scope `events:read`. */
  async events(after: number, limit: number): Promise<EventPage> {
    const page = await this.call<Partial<EventPage>>('GET', ['v1', 'events'], undefined, { after: String(after), limit: String(limit) });
    if (!Array.isArray(page.events) || typeof page.next !== 'number') {
      throw new TransportError('unreadable event page');
    }
    return { events: page.events, next: page.next, head: typeof page.head === 'number' ? page.head : 0 };
  }

  /**
   * The position of the newest entry in the event log. Take it *before*
   * creating a step-up and pass it to waitForApprovalByEvents, so nothing
   * can slip between creating and starting to wait.
   */
  async eventCursor(): Promise<number> {
    const page = await this.events(0, 1);
    return Math.max(page.head, page.next);
  }

  /**
   * Waits for step-up `id` to be approved by reading Keyward's security
   * events from `after` (from eventCursor) rather than polling the step-up.
   * `audience` is the service key's name. Resolves like waitForApproval,
   * with the step-up as fetched after its event. Every event read is
   * verified; one that does not verify ends the wait (TokenError), as it
   * means the stream is not Keyward's. Expiry writes no event, so the
   * step-up is also looked at every 30 s and at the deadline.
   */
  async waitForApprovalByEvents(id: string, audience: string, after: number, timeoutMs: number): Promise<StepUp> {
    const deadline = Date.now() + timeoutMs;
    const first = settled(await this.stepUp(id));
    if (first) return first;
    const order = new EventOrder(after);
    let cursor = after;
    let checked = Date.now();
    for (;;) {
      const page = await this.events(cursor, PAGE);
      let seen = false;
      for (const polled of page.events) {
        const event = await this.verifyEvent(polled.set, audience);
        if (order.accept(event) && aboutStepUp(event, id)) seen = true;
      }
      // A page never moves the cursor back, whatever it says.
      const moved = page.next > cursor;
      cursor = Math.max(cursor, page.next);
      const now = Date.now();
      if (seen || now >= deadline || now - checked >= RECHECK_MS) {
        checked = now;
        const done = settled(await this.stepUp(id));
        if (done) return done;
        if (now >= deadline) throw new TimeoutError();
      }
      if (!moved) await sleep(Math.min(IDLE_MS, deadline - now));
    }
  }

  /** The JWKS holding `kid`: cached for at most the max age, refetched
   * once (rate-limited) when the cache lacks it, as after a rotation. */
  private async setFor(kid: string): Promise<JwkSet> {
    const cached = this.jwks && Date.now() - this.jwks.at < this.maxAgeMs ? this.jwks.set : undefined;
    const set = cached ?? (await this.fetchJwks());
    if (!cached) return set;
    try {
      await findKey(set, kid);
      return set;
    } catch (e) {
      const now = Date.now();
      if (e instanceof TokenError && e.kind === 'unknown_key' && (this.lastRefetch === undefined || now - this.lastRefetch >= this.refetchMs)) {
        this.lastRefetch = now;
        return this.fetchJwks();
      }
      throw e;
    }
  }

  private async fetchJwks(): Promise<JwkSet> {
    const { status, text } = await this.send('GET', this.url(['.well-known', 'jwks.json']), undefined, false);
    if (status < 200 || status >= 300) throw fromResponse(status, text);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new TokenError('jwks');
    }
    const set = readJwks(json);
    this.jwks = { set, at: Date.now() };
    return set;
  }

  /** `base` joined with percent-encoded path segments. */
  private url(segments: string[], query?: Record<string, string>): URL {
    const url = new URL(this.base.href);
    url.pathname = url.pathname.replace(/\/$/, '') + '/' + segments.map(encodeURIComponent).join('/');
    url.search = query ? new URLSearchParams(query).toString() : '';
    return url;
  }

  private async send(method: string, url: URL, body: unknown, auth: boolean): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = {};
    if (auth) headers.authorization = this.auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const resp = await this.fetcher(url, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      return { status: resp.status, text: await resp.text() };
    } catch (e) {
      throw new TransportError((e as Error).message, { cause: e });
    }
  }

  /** One authenticated JSON call; error responses become typed errors. */
  private async call<T>(method: string, segments: string[], body?: unknown, query?: Record<string, string>): Promise<T> {
    const { status, text } = await this.send(method, this.url(segments, query), body, true);
    if (status < 200 || status >= 300) throw fromResponse(status, text);
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new TransportError(`unreadable response: ${(e as Error).message}`);
    }
  }
}

