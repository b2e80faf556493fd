// Verifying an approval without trusting Keyward: the exchange's own digest
// of what it asked for, the user's key signature over the challenge that
// commits to it, and the key's place in the user's key chain followed from
// the pin the exchange keeps (keyward-client's Verifier).

import { verifyApproval, type VerifiedApproval } from './approval.js';
import { pinOf } from './chain.js';
import { digestOf } from './details.js';
import { UnverifiedError } from './errors.js';
import type { PinStore } from './pins.js';
import { MalformedEvidence, readEvidence, type ApprovalEvidence, type Pin } from './wire.js';

/** Reads evidence JSON (as parsed from a redeem response), or throws
 * UnverifiedError `malformed_evidence`. */
export function parseEvidence(json: unknown): ApprovalEvidence {
  try {
    return readEvidence(json);
  } catch (e) {
    if (e instanceof MalformedEvidence) throw new UnverifiedError('malformed_evidence', undefined, e.message);
    throw e;
  }
}

export interface VerifierOptions {
  /** Accept keys that did not verify the user (no PIN set). Default false. */
  allowWithoutUv?: boolean;
}

/**
 * Checks approvals' evidence against pinned key chains. `rpId` and
 * `origin` are Keyward's as the exchange configured them (not as Keyward
 * reports them), e.g. `auth.exchange.example` and
 * `https://auth.exchange.example`.
 */
export class Verifier {
  readonly rpId: string;
  readonly origin: string;
  readonly requireUv: boolean;

  constructor(
    rpId: string,
    origin: string,
    readonly pins: PinStore,
    options: VerifierOptions = {},
  ) {
    this.rpId = rpId;
    this.origin = origin.replace(/\/+$/, '');
    this.requireUv = !options.allowWithoutUv;
  }

  /**
   * Verifies that `evidence` approves `action` with exactly `details` (as
   * the exchange asked for them) by a key in `user`'s pinned chain, and
   * moves the pin forward to the chain's head. The first approval of a user
   * pins their chain (its genesis key trusted on first use). A chain that
   * started again is ChainRestartedError: accept it only after confirming
   * with the user out of band, with `acceptRestart`.
   */
  async verify(user: string, action: string, details: unknown, evidence: unknown): Promise<VerifiedApproval> {
    const ev = parseEvidence(evidence);
    const pin = await this.pins.get(user);
    const verified = await this.check(action, details, ev, pin);
    const next = pinOf(verified.chain);
    if (!pin || pin.user !== next.user || pin.genesis !== next.genesis || pin.head !== next.head || pin.seq !== next.seq) {
      await this.pins.put(user, next);
    }
    return verified;
  }

  /** Like `verify`, but pins the evidence's chain afresh, whatever was
   * pinned: for a restart the exchange confirmed with the user. */
  async acceptRestart(user: string, action: string, details: unknown, evidence: unknown): Promise<VerifiedApproval> {
    const verified = await this.check(action, details, parseEvidence(evidence), undefined);
    await this.pins.put(user, pinOf(verified.chain));
    return verified;
  }

  /** The check alone, against a given pin, storing nothing. */
  async check(action: string, details: unknown, evidence: ApprovalEvidence, pin: Pin | undefined): Promise<VerifiedApproval> {
    const { digest } = await digestOf(action, details);
    return verifyApproval(evidence, { rpId: this.rpId, origin: this.origin, digest, requireUv: this.requireUv, pin });
  }
}
