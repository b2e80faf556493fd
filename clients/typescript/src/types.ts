// The wire types the client receives (keyward-api), as plain JSON objects.

/** Where a step-up stands. */
export type StepUpStatus =
  | 'pending' | 'held' | 'denied' | 'approved' | 'redeemed' | 'expired' | 'refused' | 'declined' | (string & {});

/** A risk signal that fired for a step-up, with its effect. */
export interface RiskReason {
  signal: string;
  effect: string;
  hold_hours?: number;
  detail?: string;
}

/** A step-up: a sensitive action waiting for (or past) a key approval. */
export interface StepUp {
  id: string;
  user_id: string;
  action: string;
  /** The canonical details the key approves. */
  details: Record<string, unknown>;
  /** Lower-case hex SHA-256 of the canonical `{"action", "details"}`. */
  digest: string;
  status: StepUpStatus;
  /** Why held, denied or refused. */
  reason: string | null;
  held_until: string | null;
  reasons: RiskReason[];
  created_at: string;
  expires_at: string;
  approved_at: string | null;
  approval_expires_at: string | null;
  redeemed_at: string | null;
  /** The hosted confirmation page to send the user to. */
  confirm_url: string;
}

/** A redeemed approval: the step-up with what the key proved. */
export interface Redeemed extends StepUp {
  user_verified: boolean | null;
  credential_key_id: string | null;
  /** The raw evidence of the approval (verify it with a Verifier). */
  evidence: unknown;
}

/** A verified user API key. */
export interface VerifiedKey {
  user_id: string;
  key_id: string;
  scopes: string[];
  expires_at: string | null;
}

/** One event, as polled. */
export interface PolledEvent {
  seq: number;
  jti: string;
  /** The signed Security Event Token. */
  set: string;
}

/** Events after a cursor (`GET /v1/events`). */
export interface EventPage {
  events: PolledEvent[];
  /** Pass as `after` to read on. */
  next: number;
  /** The log's last position when the page was read (0 from older servers). */
  head: number;
}
