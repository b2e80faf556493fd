// Enrolment: the first security key (the account cannot skip it), then a
// strong nudge to add a backup key.

import { busy, field, h, replace } from '../dom.js';
import { notice } from '../notice.js';
import { formatWithZone, holdLength } from '../time.js';
import { withKeyPrompt } from '../touch.js';
import { enrolKey } from '../webauthn.js';

export default { title: 'Add your security key', render };

let flash = null;

function render(main, ctx) {
  if (ctx.session.stage === 'enrolling') firstKey(main, ctx);
  else backupKey(main, ctx);
}

function labelField(value) {
  const label = field('Name this key', {
    name: 'label',
    hint: 'So you can tell your keys apart, e.g. "Blue YubiKey" or "Desk drawer key".',
    input: { maxlength: '64', required: true, autocomplete: 'off' },
  });
  label.input.value = value;
  return label;
}

function firstKey(main, ctx) {
  const label = labelField('Security key');
  const add = h('button', { type: 'submit', class: 'btn block' }, 'Add security key');
  const form = h('form', { novalidate: true }, label.wrap, add);
  // After a recovery: until when withdrawals are held.
  const recovered = new URLSearchParams(location.search).get('recovered');
  replace(main, h('div', { class: 'narrow' },
    recovered
      ? notice('ok', 'Account recovered', `Your old keys were removed, every session was signed out and every API key stopped working. Withdrawals are on hold until ${formatWithZone(recovered)}. Add your new key now.`)
      : null,
    h('div', { class: 'card' },
      recovered ? null : h('p', { class: 'steps lead' }, 'Step 2 of 2'),
      h('h1', { tabindex: '-1' }, 'Add your security key'),
      h('p', { class: 'lead' }, 'Your account cannot be used until it has a security key. You will touch it every time you sign in and to approve every withdrawal.'),
      form)));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = label.input.value.trim();
    if (!name) { label.setError('Give the key a name.'); label.input.focus(); return; }
    label.setError(null);
    const done = busy(add, 'Waiting for your key…');
    const key = await withKeyPrompt({
      title: 'Touch your new security key',
      text: 'Plug it in and touch it when it blinks. If your browser asks, allow Keyward to see the key\'s make and model.',
      context: 'create',
    }, (ui) => enrolKey(name, ui.signal));
    done();
    if (!key) return;
    flash = notice('ok', 'Security key added', `"${key.label}" now protects your account. You are signed in.`);
    ctx.refresh();
  });
}

function backupKey(main, ctx) {
  const label = labelField('Backup key');
  const add = h('button', { type: 'submit', class: 'btn' }, 'Add backup key');
  const later = h('a', { class: 'btn secondary', href: '/' }, 'Not now');
  const form = h('form', { novalidate: true }, label.wrap, h('div', { class: 'row' }, add, later));
  replace(main, h('div', { class: 'narrow' },
    flash,
    h('div', { class: 'card' },
      h('h1', { tabindex: '-1' }, 'Add a backup key'),
      h('p', { class: 'lead' }, 'If your only key is lost or broken, you cannot sign in or approve withdrawals. Add a second key now and keep it somewhere safe, apart from the first.'),
      h('p', { class: 'lead' }, 'Use a different physical key: the one you just added will not register twice. You will touch the new key, then your first key to vouch for it.'),
      h('p', { class: 'hint' }, `Adding a key is a security change: withdrawals are then on hold for ${holdLength(ctx.session.security_hold_hours)}. There is nothing to withdraw yet on a new account.`),
      form)));
  flash = null;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = label.input.value.trim();
    if (!name) { label.setError('Give the key a name.'); label.input.focus(); return; }
    label.setError(null);
    const done = busy(add, 'Waiting for your key…');
    const text = 'Plug in the new key and touch it when it blinks.';
    const key = await withKeyPrompt({ title: 'Touch the backup key', text, context: 'create' }, (ui) => {
      ui.step('Touch the backup key', text, 'Step 1 of 2');
      return enrolKey(name, ui.signal, () => ui.step('Now touch your first key',
        'To vouch for the backup key, touch the key you signed up with.', 'Step 2 of 2'));
    });
    done();
    if (!key) return;
    ctx.navigate('/keys?added=1');
  });
}
