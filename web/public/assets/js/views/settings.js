// Settings: the anti-phishing phrase shown on every confirmation page, and
// changing the password (the current one and a key touch).

import { api } from '../api.js';
import { busy, field, h, pageHead, replace } from '../dom.js';
import { fieldMessage } from '../messages.js';
import { errorNotice, notice, show } from '../notice.js';
import { holdEnd, holdLength } from '../time.js';
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
