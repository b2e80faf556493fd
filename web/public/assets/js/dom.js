// Building DOM without innerHTML: every piece of server or user text goes in
// as a text node, so nothing it contains can become markup.

/**
 * h('button', { class: 'btn', type: 'button', on: { click } }, 'Save')
 * Attributes: `class`, `text`, `on` (event handlers), `dataset`, booleans
 * (true sets, false/null/undefined omits), anything else as an attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'on') {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (name === 'text') {
      el.textContent = value;
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends strings (as text), nodes and (nested) arrays; skips null/false. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces an element's children. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** The page heading, focusable so navigation can move focus to it. */
export function pageHead(title, intro) {
  return h('div', { class: 'page-head' },
    h('h1', { tabindex: '-1' }, title),
    intro ? h('p', {}, intro) : null);
}

let uid = 0;
/** A unique id for label/aria wiring. */
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * A labelled input with hint and error slots. Returns { wrap, input, setError }.
 * `opts.input` are extra attributes for the <input> (or <textarea> with
 * `opts.multiline`, or <select> of `opts.select`'s [value, text] pairs).
 */
export function field(label, opts = {}) {
  const id = nextId('field');
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const tag = opts.select ? 'select' : opts.multiline ? 'textarea' : 'input';
  const input = h(tag, {
    id, name: opts.name, ...(opts.input ?? {}),
    'aria-describedby': opts.hint ? hintId : null,
  }, (opts.select ?? []).map(([value, text]) => h('option', { value }, text)));
  const error = h('span', { class: 'field-error', id: errorId, hidden: true });
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label),
    input,
    opts.hint ? h('span', { class: 'hint', id: hintId }, opts.hint) : null,
    error);
  const setError = (message) => {
    if (message) {
      error.textContent = message;
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', [opts.hint ? hintId : null, errorId].filter(Boolean).join(' '));
    } else {
      error.textContent = '';
      error.hidden = true;
      input.removeAttribute('aria-invalid');
      if (opts.hint) input.setAttribute('aria-describedby', hintId); else input.removeAttribute('aria-describedby');
    }
  };
  return { wrap, input, setError };
}

/** A definition list of [term, value] pairs (values may be nodes). */
export function meta(pairs) {
  return h('dl', { class: 'meta' },
    pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))));
}

/** Sets a button busy (disabled, with a different label) until `done()`. */
export function busy(button, label) {
  const before = button.textContent;
  button.disabled = true;
  if (label) button.textContent = label;
  return () => { button.disabled = false; button.textContent = before; };
}
