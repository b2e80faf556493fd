// Keeping security events in order and recognising the ones about a
// step-up. Delivery is at least once: the same event may come twice (same
// `jti`, same `keyward_seq`).

import { EndedError } from './errors.js';
import type { SecurityEventClaims } from './tokens.js';
import type { StepUp } from './types.js';

/** The prefix of Keyward's own event types. */
export const KEYWARD_EVENT = 'https://keyward.dev/secevent/';

/**
 * A receiver's place in Keyward's event order. Keyward sends each endpoint
 * its events in order, so an event at or before the last one accepted was
 * seen already: a repeat. Keep `last` durably, as you keep pins.
 */
export class EventOrder {
  constructor(private lastSeq = 0) {}

  /** Whether `event` is new (act on it); false for a repeat. */
  accept(event: Pick<SecurityEventClaims, 'keyward_seq'>): boolean {
    if (event.keyward_seq <= this.lastSeq) return false;
    this.lastSeq = event.keyward_seq;
    return true;
  }

  /** The last position accepted. */
  get last(): number {
    return this.lastSeq;
  }
}

/** Whether `event` is one of Keyward's `stepup.*` events about step-up `id`. */
export function aboutStepUp(event: SecurityEventClaims, id: string): boolean {
  return Object.entries(event.events).some(([uri, detail]) => {
    if (!uri.startsWith(KEYWARD_EVENT) || !uri.slice(KEYWARD_EVENT.length).startsWith('stepup.')) return false;
    const sid = (detail as { step_up_id?: unknown } | null)?.step_up_id;
    return typeof sid === 'string' && sid.toLowerCase() === id.toLowerCase();
  });
}

/** What both waits make of a step-up: approved is done, pending waits on
 * (undefined), anything else ended it (throws EndedError). */
export function settled(stepUp: StepUp): StepUp | undefined {
  if (stepUp.status === 'approved') return stepUp;
  if (stepUp.status === 'pending') return undefined;
  throw new EndedError(stepUp.status, stepUp.reason ?? null);
}
