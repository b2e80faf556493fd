// Addresses shown so that look-alikes stand out: monospace, slashed zero,
// groups of four, digits and capitals coloured apart from lower-case letters
// (0/O, 1/l/I), and the first and last groups marked. Copying the text still
// yields the exact address (the gaps are margins, not spaces).

import { h } from './dom.js';

const GROUP = 4;

function charClass(c) {
  if (c >= '0' && c <= '9') return 'd';
  if (c >= 'A' && c <= 'Z') return 'u';
  if (c >= 'a' && c <= 'z') return null;
  return 's';
}

function group(text, edge) {
  const span = h('span', { class: edge ? 'g edge' : 'g' });
  for (const c of text) {
    const cls = charClass(c);
    span.append(cls ? h('span', { class: cls }, c) : document.createTextNode(c));
  }
  return span;
}

/** The address as a node; `big` for the confirmation page. */
export function addressEl(address, { big = false } = {}) {
  const chars = [...String(address)];
  const groups = [];
  for (let i = 0; i < chars.length; i += GROUP) groups.push(chars.slice(i, i + GROUP).join(''));
  const last = groups.length - 1;
  return h('span', { class: big ? 'addr big' : 'addr', translate: 'no' },
    groups.map((g, i) => group(g, i === 0 || i === last)));
}

/** The legend that says how to read addresses. */
export function addressHint() {
  return 'Check every character, not just the highlighted start and end: look-alike addresses are made to match those. Digits are blue, capitals purple.';
}
