// Overview: the account's security at a glance, with what to do next.

import { api } from '../api.js';
import { h, pageHead, replace } from '../dom.js';
import { POLICY } from '../messages.js';
import { notice } from '../notice.js';
import { formatWithZone } from '../time.js';

export default { title: 'Overview', render };

async function render(main, ctx) {
  const [{ keys }, status, settings, recovery, lock] = await Promise.all([
    api.get('/v1/keys'), api.get('/v1/withdrawal-status'), api.get('/v1/settings'), api.get('/v1/recovery'),
    api.get('/v1/security-lock'),
  ]);
  const todo = [];
  // Loosening changes waiting for the security lock: the owner must see them
  // coming, to cancel what they did not ask for.
  if (lock.pending) todo.push(notice('warn', 'Your security lock is being shortened', `${lock.pending.days ? `From ${formatWithZone(lock.pending.from)} it becomes ${lock.pending.days} days` : `On ${formatWithZone(lock.pending.from)} it will be removed`}. If this was not you, cancel it.`, [h('a', { class: 'btn small', href: '/settings' }, 'Review the lock')]));
  for (const key of keys.filter((k) => k.removable_from)) {
    todo.push(notice('warn', `Removal of "${key.label}" scheduled`, `It can be finished from ${formatWithZone(key.removable_from)}. If this was not you, cancel it.`, [h('a', { class: 'btn small', href: '/keys' }, 'Review keys')]));
  }
  if (recovery.pending) todo.push(notice('error', 'Someone started recovering your account', `From ${formatWithZone(recovery.pending.completes_at)} it could remove all your keys. If this was not you, cancel it now.`, [h('a', { class: 'btn small', href: '/keys' }, 'Review and cancel')]));
  if (!recovery.codes_created_at) todo.push(notice('warn', 'Make recovery codes', 'If you ever lose every key, a recovery code lets you back in after a waiting time.', [h('a', { class: 'btn small', href: '/keys' }, 'Make recovery codes')]));
  if (keys.length < 2) todo.push(notice('warn', 'Add a backup key', 'With only one key, losing it locks you out.', [h('a', { class: 'btn small', href: '/enrol' }, 'Add a backup key')]));
  if (!settings.anti_phishing_phrase) todo.push(notice('warn', 'Set your anti-phishing phrase', 'It proves confirmation pages are really Keyward.', [h('a', { class: 'btn small', href: '/settings' }, 'Set a phrase')]));
  if (keys.some((k) => k.possibly_cloned)) todo.push(notice('error', 'A key may have been copied', 'One of your keys is marked "possibly cloned". Review your keys.', [h('a', { class: 'btn small', href: '/keys' }, 'Review keys')]));

  let withdrawals;
  if (status.frozen) withdrawals = [h('p', { class: 'stat' }, h('span', { class: 'badge danger' }, 'Frozen')), h('p', {}, 'Nothing can be withdrawn. ', h('a', { href: '/freeze' }, 'Unfreeze…'))];
  else if (status.held_until) withdrawals = [h('p', { class: 'stat' }, h('span', { class: 'badge warn' }, 'On hold')), h('p', {}, `Until ${formatWithZone(status.held_until)}. ${POLICY[status.hold_reason] ?? ''}`)];
  else withdrawals = [h('p', { class: 'stat' }, h('span', { class: 'badge ok' }, 'Active')), h('p', {}, 'Each withdrawal still needs a touch of your key.')];

  replace(main,
    pageHead(`Hello, ${ctx.session.username}`, 'Your account is protected by your password and your security keys.'),
    todo,
    h('div', { class: 'grid-3' },
      h('section', { class: 'card', 'aria-labelledby': 'o-keys' },
        h('h2', { id: 'o-keys' }, 'Security keys'),
        h('p', { class: 'stat' }, `${keys.length} registered`),
        h('p', {}, h('a', { href: '/keys' }, 'Manage keys'))),
      h('section', { class: 'card', 'aria-labelledby': 'o-wd' },
        h('h2', { id: 'o-wd' }, 'Withdrawals'), withdrawals),
      h('section', { class: 'card', 'aria-labelledby': 'o-phrase' },
        h('h2', { id: 'o-phrase' }, 'Anti-phishing phrase'),
        h('p', { class: 'stat' }, settings.anti_phishing_phrase ? 'Set' : 'Not set'),
        h('p', {}, h('a', { href: '/settings' }, settings.anti_phishing_phrase ? 'Change it' : 'Set it')))),
    h('section', { class: 'card danger-zone', 'aria-labelledby': 'o-freeze' },
      h('h2', { id: 'o-freeze' }, 'Something wrong?'),
      h('p', {}, 'If you think someone else has access to your account, freeze it: withdrawals stop at once, no key needed.'),
      h('a', { class: 'btn danger', href: '/freeze' }, 'Freeze my account')));
}
