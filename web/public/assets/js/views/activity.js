// Security activity: the account's audit log, newest first, in sentences.

import { api } from '../api.js';
import { busy, h, pageHead, replace } from '../dom.js';
import { POLICY, riskReason } from '../messages.js';
import { formatExact, timeEl } from '../time.js';

export default { title: 'Security activity', render };

const ACTIONS = { withdrawal: 'a withdrawal', 'address.add': 'adding a withdrawal address', 'api_key.create': 'creating an API key' };
const action = (d) => (ACTIONS[d?.action] ?? 'a request') + (d?.what ? ` (${d.what})` : '');
const why = (reason) => POLICY[String(reason ?? '').replace(/^held:/, '')] ?? (reason ? `(${reason})` : '');

const SIGN_IN = {
  password_and_key: 'Signed in with password and security key',
  passkey: 'Signed in with a passkey',
  passkey_and_password: 'Signed in with a passkey and password',
};

const SESSION_END = {
  signed_out: 'Signed out',
  ended_by_user: 'A session was ended from the Sessions page',
  key_removed: 'A session was signed out because a key was removed',
};

/** An instant of an event's detail (ms) as people read it. */
const when = (ms) => (ms ? formatExact(new Date(ms).toISOString()) : 'later');
const lockDays = (days) => (days ? `${days} day${days === 1 ? '' : 's'}` : 'no lock');

const RISK_STAGE = {
  sign_in: 'a sign-in',
  'step_up.created': 'a request',
  'step_up.approved': 'an approval',
  'step_up.redeemed': 'a withdrawal being carried out',
};
const RISK_OUTCOME = {
  allowed: '',
  held: (d) => ` Withdrawals held${d.held_until ? ` until ${when(d.held_until)}` : ''}.`,
  denied: () => ' It was refused.',
};
const risk = (d) => {
  const noticed = (d.reasons ?? []).map(riskReason).join('; ');
  const outcome = RISK_OUTCOME[d.outcome];
  return `Keyward noticed, at ${RISK_STAGE[d.stage] ?? 'an action'}: ${noticed}.${typeof outcome === 'function' ? outcome(d) : ''}`;
};

/** event name → [sentence(detail), alert?] */
const EVENTS = {
  'risk.decided': (d) => [risk(d), d.outcome !== 'allowed'],
  'account.created': () => ['Account created'],
  'account.locked': (d) => [d.by ? 'Account locked by the exchange\'s support: sign-in and approvals stopped, every session signed out' : 'Account locked after too many failed sign-in attempts', true],
  'account.unlocked': () => ['Account unlocked by the exchange\'s support (two staff members agreed)'],
  'account.frozen': () => ['Account frozen: withdrawals stopped', true],
  'account.unfrozen': (d) => [d.hold_until ? `Account unfrozen (withdrawals on hold until ${when(d.hold_until)})` : 'Account unfrozen (withdrawals on hold)'],
  'signin.succeeded': (d) => [SIGN_IN[d.method] ?? SIGN_IN.password_and_key],
  'signin.password_failed': () => ['Failed sign-in: wrong password', true],
  'key.enrolled': (d) => [`Security key added: "${d.label ?? 'key'}"`],
  'key.enrolment_refused': (d) => [`A security key was refused when being added (${d.reason ?? 'unknown reason'})`, true],
  'key.assertion_refused': (d) => [`A security key's answer was refused (${d.reason ?? 'unknown reason'})`, true],
  'key.possibly_cloned': () => ['A security key looks cloned: its answer was refused and the key flagged', true],
  'key.suspended': () => ['A security key was suspended: its model was reported as compromised, so it can no longer approve anything', true],
  'key.suspension_lifted': () => ['A suspended security key can approve again: its model is no longer reported as compromised'],
  'key.renamed': (d) => [`Security key renamed to "${d.label ?? ''}"`],
  'key.removed': (d) => [d.label ? `Security key removed: "${d.label}"` : 'Security key removed'],
  'key.removal_scheduled': (d) => [`Removal of security key "${d.label ?? 'key'}" scheduled by your security lock: it can be finished from ${when(d.removable_from)}`, true],
  'key.removal_cancelled': () => ['Scheduled removal of a security key cancelled with a key'],
  'security_lock.set': (d) => [d.from
    ? `Shorter security lock asked for: ${lockDays(d.days)} from ${when(d.from)} (until then ${lockDays(d.before)})`
    : `Security lock set to ${lockDays(d.days)}`, Boolean(d.from)],
  'security_lock.cancelled': (d) => [`Shorter security lock cancelled with a key; it stays ${lockDays(d.days)}`],
  'reauth.succeeded': () => ['Confirmed with a security key for a sensitive change'],
  'recovery_codes.created': () => ['New recovery codes made (any earlier ones stopped working)'],
  'recovery.started': (d) => [`Account recovery started ${d.assisted_by ? 'by two of the exchange\'s support staff, after checking who you are' : 'with your password and a recovery code'}. Unless you cancel it with one of your keys, it can complete ${d.completes_at ? `from ${when(d.completes_at)}` : 'after the waiting time'}, and all your keys will be removed`, true],
  'recovery.refused': () => ['Account recovery refused: the password was right but the recovery code was not', true],
  'recovery.cancelled': () => ['Account recovery cancelled with one of your keys'],
  'recovery.completed': (d) => [`Account recovered: ${d.keys_removed ?? 'all'} security key(s) removed, every session ended and every API key revoked; withdrawals are on hold`, true],
  'session.ended': (d) => [SESSION_END[d.reason] ?? 'Session ended'],
  'settings.phrase_changed': () => ['Anti-phishing phrase changed'],
  'address.added': (d) => [`Withdrawal address added (${d.network ?? ''} ${d.address ?? ''})`],
  'address.removed': (d) => [d.address ? `Withdrawal address removed: "${d.label ?? ''}" (${d.network ?? ''} ${d.address})` : 'Withdrawal address removed'],
  'api_key.created': (d) => [`API key created${d.label ? `: "${d.label}"` : ''}`],
  'api_key.revoked': (d) => [d.all ? `All API keys revoked (${d.count ?? 0})` : `API key revoked${d.label ? `: "${d.label}"` : ''}${d.prefix ? ` (${d.prefix}…)` : ''}`],
  'stepup.pending': (d) => [`Approval requested for ${action(d)}`],
  'stepup.held': (d) => [`Request for ${action(d)} held. ${why(d.reason)}`, true],
  'stepup.denied': (d) => [`Request for ${action(d)} refused. ${why(d.reason)}`, true],
  'stepup.approved': (d) => [`You approved ${action(d)} with your security key`],
  'stepup.declined': (d) => [`You declined ${action(d)} on the confirmation page`],
  'stepup.redeemed': (d) => [`The exchange carried out ${action(d)} you approved`],
  'stepup.redeem_refused': (d) => [`An approved request was stopped at payout. ${why(d.reason)}`, true],
};

export function describe(event) {
  const known = EVENTS[event.event];
  if (known) return known(event.detail ?? {});
  return [event.event.replaceAll('_', ' ').replace('.', ': ')];
}

async function render(main) {
  let limit = 50;
  const list = h('ol', { class: 'events', reversed: true });
  const more = h('button', { type: 'button', class: 'btn secondary' }, 'Show older activity');
  const card = h('section', { class: 'card', 'aria-label': 'Activity, newest first' }, list, h('div', { class: 'row' }, more));
  replace(main,
    pageHead('Security activity', 'Every sign-in, key change, approval and setting change on your account, newest first. If something here was not you, freeze your account and contact support.'),
    card);

  async function load() {
    const { events } = await api.get(`/v1/audit?limit=${limit}`);
    replace(list, events.length === 0 ? h('li', {}, h('p', { class: 'empty' }, 'No activity yet.')) : events.map((e) => {
      const [text, alert] = describe(e);
      return h('li', { class: alert ? 'alert' : null },
        timeEl(e.at, { seconds: true }),
        h('div', {},
          h('p', { class: 'what' }, text),
          e.ip ? h('span', { class: 'where' }, `From ${e.ip}`) : null));
    }));
    more.hidden = events.length < limit || limit >= 500;
  }
  more.addEventListener('click', async () => {
    limit = Math.min(500, limit * 2);
    const done = busy(more, 'Loading…');
    try { await load(); } finally { done(); }
  });
  await load();
}
