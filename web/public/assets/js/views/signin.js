// Sign in: the password, then "touch your security key".

import { api, isProblem } from '../api.js';
import { busy, field, h, replace } from '../dom.js';
import { errorNotice, notice, show } from '../notice.js';
import { withKeyPrompt } from '../touch.js';
import { conditionalAvailable, getPasskey, signInWithKey } from '../webauthn.js';

export default { title: 'Sign in', render };

function render(main, ctx) {
  if (ctx.session.stage === 'password') keyStep(main, ctx, ctx.session.username);
  else passwordStep(main, ctx);
}

function passwordStep(main, ctx) {
  const errors = h('div');
  if (ctx.session.expired) show(errors, notice('info', 'You were signed out', 'Your session ended (it timed out, or was ended from another device). Sign in again to continue.'));
  if (ctx.session.stage === 'expired') show(errors, notice('info', 'Sign-in timed out', 'Too much time passed between your password and your security key, so Keyward started over. Enter your password again, then touch your key.'));
  // `webauthn` in autocomplete lets the browser offer passkeys in this
  // field's autofill (conditional mediation).
  const user = field('Username', { name: 'username', input: { autocomplete: 'username webauthn', autocapitalize: 'none', spellcheck: 'false', required: true } });
  const pass = field('Password', { name: 'password', input: { type: 'password', autocomplete: 'current-password', required: true } });
  const submit = h('button', { type: 'submit', class: 'btn block' }, 'Continue');
  const passkeyButton = h('button', { type: 'button', class: 'btn block secondary', hidden: true }, 'Sign in with a passkey');
  const form = h('form', { novalidate: true }, errors, user.wrap, pass.wrap, submit);
  const lead = h('p', { class: 'lead' }, 'Your password first, then your security key.');
  replace(main, h('div', { class: 'narrow' },
    h('div', { class: 'card' },
      h('h1', { tabindex: '-1' }, 'Sign in to Keyward'),
      lead,
      form,
      h('div', { class: 'below' }, passkeyButton)),
    h('p', { class: 'lead' }, 'New here? ', h('a', { href: '/signup' }, 'Create an account'), '.'),
    h('p', { class: 'lead' }, h('a', { href: '/recover' }, 'Lost your security key?'), ' · ',
      h('a', { href: '/recover#forgot' }, 'Forgot your password?'))));

  // A passkey that answered while the password is still needed.
  let chosen = null;
  const passkeys = offerPasskeys(ctx, {
    button: passkeyButton,
    shown() { lead.textContent = 'Your password first, then your security key — or a passkey on your key.'; },
    async answered(options, credential) {
      if (!options.password_required) return finishPasskey(ctx, errors, options, credential);
      chosen = { options, credential };
      user.wrap.hidden = true;
      passkeyButton.hidden = true;
      lead.textContent = 'Your passkey, then your password.';
      show(errors, notice('ok', 'Passkey accepted', 'Now enter your password to finish signing in.'));
      pass.input.focus();
      return null;
    },
    failed(err) { show(errors, errorNotice(err)); },
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(errors, null);
    user.setError(null);
    pass.setError(null);
    if (chosen) {
      if (!pass.input.value) { pass.setError('Enter your password.'); pass.input.focus(); return; }
      const done = busy(submit, 'Checking…');
      const ok = await finishPasskey(ctx, errors, chosen.options, chosen.credential, pass.input.value);
      done();
      if (!ok) { pass.input.value = ''; pass.input.focus(); }
      return;
    }
    // The autofill request must end before the key step asks for a key.
    passkeys.stop();
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

/**
 * Offers passkeys where this deployment signs in with them: in the
 * username field's autofill when the browser can, and with a button. Calls
 * `shown()` once passkeys are on offer, `answered(options, credential)`
 * when one answers, `failed(err)` when it fails; `stop()` ends the
 * autofill request (before another key request, or on leaving the page).
 */
function offerPasskeys(ctx, { button, shown, answered, failed }) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  ctx.onLeave(stop);
  (async () => {
    let options;
    try {
      options = await api.post('/v1/signin/passkey/options');
    } catch {
      return; // Turned off here (or unreachable): the password way stays.
    }
    button.hidden = false;
    shown();
    button.addEventListener('click', async () => {
      stop();
      const credential = await withKeyPrompt({
        title: 'Use your passkey',
        text: 'Choose the passkey on your security key, then touch the key.',
        context: 'get',
      }, async (ui) => {
        const fresh = await api.post('/v1/signin/passkey/options');
        return { options: fresh, credential: await getPasskey(fresh.publicKey, ui.signal) };
      });
      if (credential) await answered(credential.options, credential.credential);
    });
    if (!(await conditionalAvailable())) return;
    try {
      const credential = await getPasskey(options.publicKey, controller.signal, { conditional: true });
      await answered(options, credential);
    } catch (err) {
      if (err.name !== 'AbortError') failed(err);
    }
  })();
  return { stop };
}

/** Sends a passkey's answer (and the password); signs in. Returns success. */
async function finishPasskey(ctx, errors, options, credential, password) {
  try {
    await api.post('/v1/signin/passkey/verify', { ceremony: options.ceremony, credential, password });
  } catch (err) {
    // No username was typed: say which part was wrong.
    show(errors, isProblem(err, 'invalid-credentials')
      ? notice('error', 'Wrong password', 'That password does not match the account of this passkey. Try again.')
      : errorNotice(err));
    return false;
  }
  ctx.navigate(ctx.next);
  return true;
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
  // Really end the half-finished sign-in: a reload must not come back to
  // this account's key step.
  other.addEventListener('click', async () => {
    try { await api.post('/v1/signout'); } catch { /* nothing to end */ }
    ctx.navigate('/signin', { replace: true });
  });
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
