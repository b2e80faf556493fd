// The "touch your security key" prompt: a modal dialog that stays up while
// the browser talks to the key, can be cancelled (button or Escape), and turns
// any failure into a plain-language message with "Try again".

import { h, replace } from './dom.js';
import { isProblem } from './api.js';
import { explain } from './messages.js';
import { notice } from './notice.js';
import { reauthenticate } from './webauthn.js';

/**
 * Runs `steps(ui)` behind the prompt. `ui.signal` aborts the key request;
 * `ui.step(title, text)` changes what the prompt says. Resolves with what
 * `steps` returns, or null when the person cancels or closes.
 *
 * opts: { title, text, summary (a node shown above), context ('create'|'get') }
 */
export function withKeyPrompt(opts, steps) {
  return new Promise((resolve) => {
    const heading = h('h2', { id: 'touch-title' });
    const text = h('p', { id: 'touch-text' });
    const stepLine = h('p', { class: 'steps' });
    const art = h('img', { class: 'key-art pulse', src: '/assets/img/key.svg', alt: '' });
    const status = h('div', { 'aria-live': 'polite' }, stepLine, heading, text);
    const slot = h('div');
    const cancel = h('button', { type: 'button', class: 'btn secondary' }, 'Cancel');
    const actions = h('div', { class: 'row' }, cancel);
    const body = h('div', { class: 'dialog-body touch' }, opts.summary ?? null, art, status, slot, actions);
    const dialog = h('dialog', { 'aria-labelledby': 'touch-title', 'aria-describedby': 'touch-text' }, body);
    document.body.append(dialog);

    let controller = null;
    let finished = false;

    // Where focus goes back to when the prompt closes (cancelled or not),
    // so a keyboard or screen-reader user is not dropped at the page's top.
    const opener = document.activeElement;
    const finish = (value) => {
      if (finished) return;
      finished = true;
      controller?.abort();
      if (dialog.open) dialog.close();
      dialog.remove();
      if (opener instanceof HTMLElement && document.contains(opener)) opener.focus();
      resolve(value);
    };

    const ui = {
      get signal() { return controller.signal; },
      step(title, message, line = '') {
        heading.textContent = title;
        text.textContent = message;
        stepLine.textContent = line;
      },
    };

    const showError = (err) => {
      const what = explain(err, opts.context);
      art.hidden = true;
      status.hidden = true;
      const buttons = [];
      if (what.retry) {
        buttons.push(h('button', { type: 'button', class: 'btn', on: { click: attempt } }, 'Try again'));
      }
      buttons.push(h('button', { type: 'button', class: 'btn secondary', on: { click: () => finish(null) } }, 'Close'));
      replace(slot, notice('error', what.title, what.text));
      replace(actions, buttons);
      buttons[0].focus();
    };

    async function attempt() {
      controller = new AbortController();
      art.hidden = false;
      status.hidden = false;
      replace(slot);
      replace(actions, cancel);
      ui.step(opts.title ?? 'Touch your security key', opts.text ?? 'Plug in your key and touch it when it blinks.');
      cancel.focus();
      try {
        const result = await steps(ui);
        finish(result ?? true);
      } catch (err) {
        if (finished) return;
        if (err?.name === 'AbortError' && controller.signal.aborted) return;
        showError(err);
      }
    }

    cancel.addEventListener('click', () => finish(null));
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); finish(null); });
    dialog.showModal();
    attempt();
  });
}

/** A small yes/no dialog for consequential actions. Resolves true or false. */
export function confirmDialog({ title, text, confirm = 'Continue', danger = false }) {
  return new Promise((resolve) => {
    const yes = h('button', { type: 'button', class: danger ? 'btn danger' : 'btn' }, confirm);
    const no = h('button', { type: 'button', class: 'btn secondary' }, 'Cancel');
    const dialog = h('dialog', { 'aria-labelledby': 'confirm-title' },
      h('div', { class: 'dialog-body' },
        h('h2', { id: 'confirm-title' }, title),
        (Array.isArray(text) ? text : [text]).map((t) => h('p', {}, t)),
        h('div', { class: 'row end' }, no, yes)));
    const done = (value) => { if (dialog.open) dialog.close(); dialog.remove(); resolve(value); };
    yes.addEventListener('click', () => done(true));
    no.addEventListener('click', () => done(false));
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); done(false); });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

/**
 * Runs `action` (an API call that needs a recent key touch, such as removing
 * a key). Only when Keyward answers `reauth-required` does the prompt appear,
 * to take the touch and run `action` again. Errors of the first try are
 * thrown; resolves null if the prompt is cancelled.
 */
export async function needingFreshKey(action, prompt) {
  try {
    return await action();
  } catch (err) {
    if (!isProblem(err, 'reauth-required')) throw err;
  }
  return withKeyPrompt({
    title: 'Confirm it is you',
    text: 'Touch a security key you already use.',
    context: 'get',
    ...prompt,
  }, async (ui) => {
    await reauthenticate(ui.signal);
    return action();
  });
}
