// Settings: the anti-phishing phrase shown on every confirmation page.

import { api } from '../api.js';
import { busy, field, h, pageHead, replace } from '../dom.js';
import { fieldMessage } from '../messages.js';
import { errorNotice, notice, show } from '../notice.js';

export default { title: 'Settings', render };

async function render(main) {
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
      form));

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
