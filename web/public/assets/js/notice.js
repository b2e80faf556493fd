// Messages on the page: errors (role=alert, read out at once), warnings,
// and confirmations (role=status, read out politely).

import { h } from './dom.js';
import { explain } from './messages.js';

/**
 * notice('error' | 'warn' | 'ok' | 'info', title, text, actions?)
 * `actions` are nodes (usually buttons) shown under the text.
 */
export function notice(kind, title, text, actions = []) {
  const role = kind === 'error' ? 'alert' : 'status';
  return h('div', { class: `notice ${kind}`, role },
    title ? h('strong', {}, title) : null,
    text ? h('p', {}, text) : null,
    actions.length ? h('div', { class: 'row' }, actions) : null);
}

/**
 * An error notice for `err`, explained in plain language. With `retry`, a
 * "Try again" button calls it. A signed-out problem offers sign-in instead.
 */
export function errorNotice(err, { retry, context } = {}) {
  const what = explain(err, context);
  const actions = [];
  if (what.signIn) {
    const next = encodeURIComponent(location.pathname);
    actions.push(h('a', { class: 'btn small', href: `/signin?next=${next}` }, 'Sign in'));
  } else if (retry && what.retry) {
    actions.push(h('button', { type: 'button', class: 'btn small secondary', on: { click: retry } }, 'Try again'));
  }
  return notice('error', what.title, what.text, actions);
}

/** Puts a message into a slot (replacing the previous one) and returns it. */
export function show(slot, node) {
  slot.replaceChildren(...(node ? [node] : []));
  return node;
}
