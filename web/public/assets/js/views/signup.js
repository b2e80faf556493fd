// Create an account: a username and a password. The account can do nothing
// until its first security key is added (the next page).

import { api } from '../api.js';
import { busy, field, h, replace } from '../dom.js';
import { fieldMessage } from '../messages.js';
import { errorNotice, show } from '../notice.js';

export default { title: 'Create an account', render };

function render(main, ctx) {
  const errors = h('div');
  const user = field('Username', {
    name: 'username',
    hint: '3 to 32 characters: a–z, 0–9, dot, dash or underscore.',
    input: { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true, maxlength: '32' },
  });
  const pass = field('Password', {
    name: 'password',
    hint: 'At least 12 characters, and not a common password. A phrase of unrelated words is easiest to remember.',
    input: { type: 'password', autocomplete: 'new-password', required: true, minlength: '12' },
  });
  const submit = h('button', { type: 'submit', class: 'btn block' }, 'Create account');
  const form = h('form', { novalidate: true }, errors, user.wrap, pass.wrap, submit);
  replace(main, h('div', { class: 'narrow' },
    h('div', { class: 'card' },
      h('h1', { tabindex: '-1' }, 'Create your account'),
      h('p', { class: 'lead' }, 'Next you will add a security key. Keyward accepts only security keys as the second step — they cannot be phished.'),
      form),
    h('p', { class: 'lead' }, 'Already have an account? ', h('a', { href: '/signin' }, 'Sign in'), '.')));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(errors, null);
    user.setError(null);
    pass.setError(null);
    const username = user.input.value.trim();
    const password = pass.input.value;
    if (username.length < 3) { user.setError('Choose a username of at least 3 characters.'); user.input.focus(); return; }
    if (password.length < 12) { pass.setError('Use at least 12 characters.'); pass.input.focus(); return; }
    const done = busy(submit, 'Creating…');
    try {
      await api.post('/v1/signup', { username, password });
    } catch (err) {
      done();
      if (err.slug === 'validation' && (err.field === 'username' || err.field === 'password')) {
        const target = err.field === 'username' ? user : pass;
        target.setError(fieldMessage(err));
        target.input.focus();
      } else if (err.slug === 'username-taken') {
        user.setError('That username is taken. Choose another.');
        user.input.focus();
      } else {
        show(errors, errorNotice(err));
      }
      return;
    }
    done();
    ctx.navigate('/enrol');
  });
}
