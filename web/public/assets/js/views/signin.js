// Sign in: the password, then "touch your security key".

import { api } from '../api.js';
import { busy, field, h, replace } from '../dom.js';
import { errorNotice, notice, show } from '../notice.js';
import { withKeyPrompt } from '../touch.js';
import { signInWithKey } from '../webauthn.js';

export default { title: 'Sign in', render };

function render(main, ctx) {
  if (ctx.session.stage === 'password') keyStep(main, ctx, ctx.session.username);
  else passwordStep(main, ctx);
}

function passwordStep(main, ctx) {
  const errors = h('div');
  if (ctx.session.expired) show(errors, notice('info', 'You were signed out', 'Your session ended (it timed out, or was ended from another device). Sign in again to continue.'));
  if (ctx.session.stage === 'expired') show(errors, notice('info', 'Sign-in timed out', 'Too much time passed between your password and your security key, so Keyward started over. Enter your password again, then touch your key.'));
  const user = field('Username', { name: 'username', input: { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true } });
  const pass = field('Password', { name: 'password', input: { type: 'password', autocomplete: 'current-password', required: true } });
  const submit = h('button', { type: 'submit', class: 'btn block' }, 'Continue');
  const form = h('form', { novalidate: true }, errors, user.wrap, pass.wrap, submit);
  replace(main, h('div', { class: 'narrow' },
    h('div', { class: 'card' },
      h('h1', { tabindex: '-1' }, 'Sign in to Keyward'),
      h('p', { class: 'lead' }, 'Your password first, then your security key.'),
      form),
    h('p', { class: 'lead' }, 'New here? ', h('a', { href: '/signup' }, 'Create an account'), '.')));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(errors, null);
    user.setError(null);
    pass.setError(null);
    const username = user.input.value.trim();
    const password = pass.input.value;
    if (!username) { user.setError('Enter your username.'); user.input.focus(); return; }
    if (!password) { pass.setError('Enter your password.'); pass.input.focus(); return; }
    const done = busy(submit, 'Checking…');
    let answer;
    try {
      answer = await api.post('/v1/signin/password', { username, password });
    } catch (err) {
      done();
      show(errors, errorNotice(err));
      pass.input.value = '';
      pass.input.focus();
      return;
    }
    done();
    if (answer.next === 'enrol_key') { ctx.navigate('/enrol'); return; }
    keyStep(main, ctx, username);
    await useKey(ctx, username);
  });
}

/** After the password: the key. Shown again if the prompt is cancelled. */
function keyStep(main, ctx, username) {
  const use = h('button', { type: 'button', class: 'btn block' }, 'Use my security key');
  const other = h('button', { type: 'button', class: 'linkish' }, 'Sign in as someone else');
  replace(main, h('div', { class: 'narrow' },
    h('div', { class: 'card' },
      h('h1', { tabindex: '-1' }, 'Use your security key'),
      h('p', { class: 'lead' }, 'Password accepted', username ? ` for ${username}` : '', '. To finish signing in, plug in your security key and touch it.'),
      use,
      h('p', { class: 'below' }, other))));
  use.addEventListener('click', () => useKey(ctx, username));
  other.addEventListener('click', () => passwordStep(main, ctx));
}

async function useKey(ctx, username) {
  const ok = await withKeyPrompt({
    title: 'Touch your security key',
    text: username ? `To finish signing in as ${username}.` : 'To finish signing in.',
    context: 'get',
  }, (ui) => signInWithKey(ui.signal));
  // Closed without signing in: show the page again, which starts over at
  // the password if the sign-in has expired meanwhile.
  ctx.navigate(ok ? ctx.next : '/signin', { replace: !ok });
}
