// Settings: the anti-phishing phrase shown on every confirmation page, the
// security lock, and changing the password (the current one and a key
// touch).

import { api } from '../api.js';
import { busy, field, h, pageHead, replace } from '../dom.js';
import { fieldMessage } from '../messages.js';
import { errorNotice, notice, show } from '../notice.js';
import { formatWithZone, holdEnd, holdLength, lockLength } from '../time.js';
import { needingFreshKey } from '../touch.js';

export default { title: 'Settings', render };

async function render(main, ctx) {
  const { anti_phishing_phrase: phrase } = await api.get('/v1/settings');
  const flash = h('div');
  const input = field('Anti-phishing phrase', {
    hint: '4 to 64 characters. Something only you would recognise — not a password.',
    input: { maxlength: '64', autocomplete: 'off', spellcheck: 'false' },
  });
  input.input.value = phrase ?? '';
  const save = h('button', { type: 'submit', class: 'btn' }, phrase ? 'Change phrase' : 'Set phrase');
  const form = h('form', { novalidate: true }, input.wrap, save);
  replace(main,
    pageHead('Settings'),
    flash,
    h('section', { class: 'card', 'aria-labelledby': 'phrase-h' },
      h('h2', { id: 'phrase-h' }, 'Anti-phishing phrase'),
      h('p', {}, 'Keyward shows this phrase on every page where you approve a withdrawal or another change with your key. A copy of the page made by someone else cannot know it.'),
      h('p', {}, h('strong', {}, 'If a confirmation page does not show your phrase, do not touch your key.')),
      phrase ? null : notice('warn', 'No phrase set yet', 'Set one now, before your first withdrawal.'),
      form),
    lockCard(flash, ctx),
    passwordCard(flash, ctx));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    input.setError(null);
    const value = input.input.value.trim();
    if ([...value].length < 4) { input.setError('Use at least 4 characters.'); input.input.focus(); return; }
    const done = busy(save, 'Saving…');
    try {
      await api.put('/v1/settings', { anti_phishing_phrase: value });
    } catch (err) {
      done();
      if (err.slug === 'validation') input.setError(fieldMessage(err)); else show(flash, errorNotice(err));
      return;
    }
    done();
    save.textContent = 'Change phrase';
    show(flash, notice('ok', 'Phrase saved', `Confirmation pages will now show "${value}".`));
  });
}

// The lock periods offered (days); the API takes any from 0 to 30.
const LOCK_CHOICES = [0, 1, 2, 3, 7, 14, 30];

/**
 * The security lock: what it does, what is set, a shorter lock waiting (and
 * cancelling it with a key), and choosing a period (with a key).
 */
function lockCard(flash, ctx) {
  const card = h('section', { class: 'card', 'aria-labelledby': 'lock-h' });
  const draw = (lock) => {
    const choice = field('Lock period', { select: LOCK_CHOICES.map((d) => [String(d), d === 0 ? 'No lock' : lockLength(d)]) });
    choice.input.value = String(LOCK_CHOICES.includes(lock.days) ? lock.days : 0);
    const set = h('button', { type: 'submit', class: 'btn' }, 'Set lock');
    const form = h('form', { novalidate: true }, choice.wrap, set);
    const cancel = h('button', { type: 'button', class: 'btn secondary' }, 'Cancel the shorter lock');
    replace(card,
      h('h2', { id: 'lock-h' }, 'Security lock'),
      h('p', {}, 'A security lock makes changes that weaken your protection wait. While it is set, a new withdrawal address, unfreezing, an API key that can withdraw, removing a security key and a shorter lock all take effect only when the lock period has passed — and until then you can stop them with your key. Changes that make your account safer always take effect at once.'),
      lock.days
        ? h('p', { id: 'lock-state' }, h('strong', {}, `Your lock: ${lockLength(lock.days)}.`), ` Such a change asked for now would take effect from ${formatWithZone(lock.loosening_from)}.`)
        : h('p', { id: 'lock-state' }, h('strong', {}, 'No lock is set.'), ' Changes take effect after the usual waiting times only.'),
      lock.pending
        ? notice('warn', lock.pending.days
          ? `Your lock becomes ${lockLength(lock.pending.days)} on ${formatWithZone(lock.pending.from)}`
          : `Your lock will be removed on ${formatWithZone(lock.pending.from)}`,
          'Someone asked for a shorter lock. If it was not you, cancel it now with your key, then change your password.', [cancel])
        : null,
      form);
    cancel.addEventListener('click', async () => {
      const done = busy(cancel, 'Cancelling…');
      let result;
      try {
        result = await needingFreshKey(() => api.post('/v1/security-lock/cancel'), {
          text: 'To keep your lock as it is, touch a security key you already use.',
        });
      } catch (err) {
        done();
        show(flash, errorNotice(err));
        return;
      }
      done();
      if (!result) return;
      draw(result);
      show(flash, notice('ok', 'Shorter lock cancelled', `Your lock stays at ${lockLength(result.days)}.`));
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const days = Number(choice.input.value);
      const done = busy(set, 'Setting…');
      let result;
      try {
        result = await needingFreshKey(() => api.put('/v1/security-lock', { days }), {
          text: 'To change your security lock, touch a security key you already use.',
        });
      } catch (err) {
        done();
        if (err.slug === 'validation') choice.setError(fieldMessage(err)); else show(flash, errorNotice(err));
        return;
      }
      done();
      if (!result) return;
      ctx.session.security_lock_days = result.days;
      draw(result);
      show(flash, result.pending
        ? notice('ok', 'Shorter lock scheduled', `Your lock stays at ${lockLength(result.days)} until ${formatWithZone(result.pending.from)}, then ${result.pending.days ? `becomes ${lockLength(result.pending.days)}` : 'it is removed'}. You can cancel this with your key until then.`)
        : notice('ok', result.days ? `Lock set to ${lockLength(result.days)}` : 'No lock set', result.days
          ? `From now on, changes that weaken your protection wait ${lockLength(result.days)}.`
          : 'Changes take effect after the usual waiting times only.'));
      flash.scrollIntoView({ block: 'nearest' });
    });
  };
  api.get('/v1/security-lock').then(draw, (err) => replace(card, errorNotice(err)));
  return card;
}

/** Changing the password: the current one, the new one twice, and a key touch. */
function passwordCard(flash, ctx) {
  const hold = ctx.session.security_hold_hours;
  const current = field('Current password', { input: { type: 'password', autocomplete: 'current-password', required: true } });
  const next = field('New password', {
    hint: 'At least 12 characters, and not a common password. A few unrelated words make a good one.',
    input: { type: 'password', autocomplete: 'new-password', minlength: '12', maxlength: '256', required: true },
  });
  const again = field('New password again', { input: { type: 'password', autocomplete: 'new-password', required: true } });
  const change = h('button', { type: 'submit', class: 'btn' }, 'Change password');
  const form = h('form', { novalidate: true }, current.wrap, next.wrap, again.wrap, change);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const f of [current, next, again]) f.setError(null);
    const body = { current_password: current.input.value, new_password: next.input.value };
    if (!body.current_password) { current.setError('Enter your current password.'); current.input.focus(); return; }
    if ([...body.new_password].length < 12) { next.setError('Use at least 12 characters.'); next.input.focus(); return; }
    if (again.input.value !== body.new_password) { again.setError('The two new passwords differ.'); again.input.focus(); return; }
    const done = busy(change, 'Changing…');
    let result;
    try {
      result = await needingFreshKey(() => api.post('/v1/password', body), {
        text: 'To change your password, touch a security key you already use.',
      });
    } catch (err) {
      done();
      if (err.slug === 'invalid-credentials') current.setError('That is not your current password.');
      else if (err.slug === 'validation') next.setError(fieldMessage(err));
      else show(flash, errorNotice(err));
      return;
    }
    done();
    if (!result) return;
    for (const f of [current, next, again]) f.input.value = '';
    const ended = result.sessions_ended ?? 0;
    const revoked = result.api_keys_revoked ?? 0;
    show(flash, notice('ok', 'Password changed',
      `${ended} other session${ended === 1 ? ' was' : 's were'} signed out and ${revoked} API key${revoked === 1 ? ' was' : 's were'} revoked. Withdrawals are on hold for ${holdLength(hold)}, until about ${holdEnd(hold)}.`));
    flash.scrollIntoView({ block: 'nearest' });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'password-h' },
    h('h2', { id: 'password-h' }, 'Password'),
    h('p', {}, `Changing it signs out your other sessions, revokes your API keys (make new ones after) and holds withdrawals for ${holdLength(hold)}, until about ${holdEnd(hold)} — as it would if someone else changed it.`),
    form);
}
