// Lost your security key? Start a recovery with your password and a
// recovery code; finish it after the waiting time with the recovery token.
// Any of your keys can cancel it until then (the Security keys page).

import { api, isProblem } from '../api.js';
import { busy, field, h, replace } from '../dom.js';
import { errorNotice, notice, show } from '../notice.js';
import { formatWithZone as zoned } from '../time.js';

export default { title: 'Recover your account', render };

function render(main, ctx) {
  const startFlash = h('div');
  const user = field('Username', { input: { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true } });
  const pass = field('Password', { input: { type: 'password', autocomplete: 'current-password', required: true } });
  const code = field('Recovery code', {
    hint: 'One of the ten codes you saved, like ABCDE-FGHIJ-KLMNO-PQRST. Each works once.',
    input: { autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', required: true },
  });
  const start = h('button', { type: 'submit', class: 'btn block' }, 'Start recovery');
  const startForm = h('form', { novalidate: true }, startFlash, user.wrap, pass.wrap, code.wrap, start);

  const finishFlash = h('div');
  const token = field('Recovery token', {
    hint: 'The token Keyward showed when you started, beginning kw_rec_.',
    input: { autocomplete: 'off', spellcheck: 'false', required: true },
  });
  const pass2 = field('Password', { input: { type: 'password', autocomplete: 'current-password', required: true } });
  const finish = h('button', { type: 'submit', class: 'btn block' }, 'Finish recovery');
  const finishForm = h('form', { novalidate: true }, finishFlash, token.wrap, pass2.wrap, finish);

  replace(main, h('div', { class: 'narrow' },
    h('div', { class: 'card' },
      h('h1', { tabindex: '-1' }, 'Lost your security keys?'),
      h('p', { class: 'lead' }, 'If you still have one of your keys, you do not need this: sign in with it and add a new key on the Security keys page.'),
      h('p', {}, 'Otherwise, your password and one of your recovery codes start a recovery. For your safety it only finishes after a waiting time (usually 3 days). Until then, anyone holding one of your keys can cancel it — so a thief who learns your password and a code cannot take the account quietly.'),
      h('p', {}, 'When it finishes, all your old keys are removed, every session is signed out, every API key stops working, and withdrawals stay on hold for a week. Then you add a new key.'),
      h('h2', {}, 'Start a recovery'),
      startForm),
    h('div', { class: 'card' },
      h('h2', {}, 'Finish a recovery'),
      h('p', {}, 'Once the waiting time has passed, enter the token you were given when you started.'),
      finishForm),
    h('div', { class: 'card', id: 'forgot' },
      h('h2', {}, 'Forgot your password, or have no recovery codes?'),
      h('p', {}, 'Keyward cannot reset a password or bypass your keys on its own: that is what keeps a thief out too. Contact the exchange\'s support. They check who you are before anything changes.'),
      h('p', {}, 'If you remember your password and still have a key, sign in and change the password on the Settings page.')),
    h('p', { class: 'lead' }, h('a', { href: '/signin' }, 'Back to sign-in'), '.')));

  startForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const f of [user, pass, code]) f.setError(null);
    const values = { username: user.input.value.trim(), password: pass.input.value, code: code.input.value.trim() };
    if (!values.username) { user.setError('Enter your username.'); user.input.focus(); return; }
    if (!values.password) { pass.setError('Enter your password.'); pass.input.focus(); return; }
    if (!values.code) { code.setError('Enter one of your recovery codes.'); code.input.focus(); return; }
    const done = busy(start, 'Starting…');
    let started;
    try {
      started = await api.post('/v1/recovery/start', values);
    } catch (err) {
      done();
      if (isProblem(err, 'invalid-credentials')) {
        show(startFlash, notice('error', 'That did not match', 'The username, password or recovery code is wrong, or the code was already used. Check them and try again.'));
      } else if (isProblem(err, 'recovery-pending')) {
        show(startFlash, notice('warn', 'A recovery is already under way', `${err.detail ?? ''} Finish it below when it is due.`.trim()));
      } else {
        show(startFlash, errorNotice(err));
      }
      return;
    }
    done();
    pass.input.value = '';
    code.input.value = '';
    const tokenText = h('code', { class: 'secret', id: 'recovery-token' }, started.token);
    show(startFlash, notice('ok', 'Recovery started',
      h('span', {},
        `You can finish it from ${zoned(started.completes_at)}, unless one of your keys cancels it first. `,
        h('strong', {}, 'Save this recovery token now: it is shown only once, and you need it to finish.'))));
    startFlash.append(h('p', {}, h('label', { for: 'recovery-token' }, 'Your recovery token: '), tokenText));
    token.input.value = started.token;
    startFlash.querySelector('[role="status"], .notice')?.focus?.();
  });

  finishForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const f of [token, pass2]) f.setError(null);
    const values = { token: token.input.value.trim(), password: pass2.input.value };
    if (!values.token) { token.setError('Enter your recovery token.'); token.input.focus(); return; }
    if (!values.password) { pass2.setError('Enter your password.'); pass2.input.focus(); return; }
    const done = busy(finish, 'Finishing…');
    let completed;
    try {
      completed = await api.post('/v1/recovery/complete', values);
    } catch (err) {
      done();
      if (isProblem(err, 'recovery-not-due')) {
        show(finishFlash, notice('info', 'Not yet', `${err.detail ?? 'The waiting time has not passed.'} Come back then.`));
      } else if (isProblem(err, 'invalid-credentials')) {
        show(finishFlash, notice('error', 'That did not match', 'The token or password is wrong. Check both and try again.'));
      } else if (isProblem(err, 'not-found')) {
        show(finishFlash, notice('error', 'This recovery cannot be finished', 'It was cancelled with one of the account\'s keys, or it was already finished.'));
      } else {
        show(finishFlash, errorNotice(err));
      }
      return;
    }
    done();
    ctx.navigate(`/enrol?recovered=${encodeURIComponent(completed.withdrawals_held_until)}`);
  });
}
