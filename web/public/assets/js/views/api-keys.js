// API keys for trading bots: choose scopes and an IP allow-list, approve with
// a key touch, see the secret once. List, revoke one, revoke all.

import { api, isProblem } from '../api.js';
import { busy, field, h, meta, nextId, pageHead, replace } from '../dom.js';
import { fieldMessage } from '../messages.js';
import { errorNotice, notice, show } from '../notice.js';
import { formatExact, holdEnd, holdLength, looseningHours, timeEl } from '../time.js';
import { confirmDialog, withKeyPrompt } from '../touch.js';
import { approveStepUp } from '../webauthn.js';

export default { title: 'API keys', render };

const SCOPES = [
  ['read', 'Read', 'See balances, orders and history.'],
  ['trade', 'Trade', 'Place and cancel orders.'],
  // Its text depends on the session's hold and lock: withdrawText().
  ['withdraw', 'Withdraw', null],
];

/** The Withdraw box's text: how long creating such a key holds withdrawals. */
function withdrawText(session) {
  const hours = looseningHours(session);
  const lock = session.security_lock_days ? ` — your ${session.security_lock_days}-day security lock sets how long` : '';
  return `Send funds to your withdrawal addresses. Needs an IP allow-list, and creating such a key puts withdrawals on hold for ${holdLength(hours)}, until about ${holdEnd(hours)}${lock}.`;
}

async function render(main, ctx) {
  const flash = h('div');
  const secretSlot = h('div');
  const listCard = h('section', { class: 'card', 'aria-labelledby': 'apikeys-h' });
  const create = createCard(flash, secretSlot, () => load(), ctx.session);
  replace(main,
    pageHead('API keys', 'Keys for trading bots and scripts. Give each only the access it needs, and limit where it can be used from.'),
    flash, secretSlot, listCard, create);

  async function load() {
    let keys;
    try {
      ({ api_keys: keys } = await api.get('/v1/api-keys'));
    } catch (err) {
      if (!isProblem(err, 'route-not-found')) throw err;
      replace(listCard, notice('info', 'Not available yet', 'This Keyward server does not offer API keys yet.'));
      create.hidden = true;
      return;
    }
    const live = keys.filter((k) => !k.revoked_at);
    const revokeAll = h('button', { type: 'button', class: 'btn danger-outline', disabled: live.length === 0 }, 'Revoke all API keys');
    revokeAll.addEventListener('click', async () => {
      const sure = await confirmDialog({
        title: 'Revoke every API key?',
        text: 'All your bots and scripts stop working at once. Use this if you think a key has leaked.',
        confirm: 'Revoke all', danger: true,
      });
      if (!sure) return;
      const done = busy(revokeAll, 'Revoking…');
      try {
        const { revoked } = await api.post('/v1/api-keys/revoke-all');
        show(flash, notice('ok', 'API keys revoked', `${revoked} key${revoked === 1 ? '' : 's'} stopped working.`));
      } catch (err) {
        show(flash, errorNotice(err));
      }
      done();
      await load();
    });
    replace(listCard,
      h('h2', { id: 'apikeys-h' }, `Your API keys (${live.length} active)`),
      keys.length === 0
        ? h('p', { class: 'empty' }, 'No API keys.')
        : h('ul', { class: 'items' }, keys.map((k) => item(k, flash, load))),
      h('div', { class: 'row' }, revokeAll));
  }
  await load();
}

function item(k, flash, reload) {
  const revoke = k.revoked_at ? null : h('button', { type: 'button', class: 'btn small danger-outline', 'aria-label': `Revoke ${k.label}` }, 'Revoke');
  revoke?.addEventListener('click', async () => {
    const sure = await confirmDialog({ title: `Revoke "${k.label}"?`, text: 'Anything using this key stops working at once.', confirm: 'Revoke key', danger: true });
    if (!sure) return;
    try {
      await api.del(`/v1/api-keys/${k.id}`);
      show(flash, notice('ok', 'API key revoked', `"${k.label}" no longer works.`));
    } catch (err) {
      show(flash, errorNotice(err));
    }
    await reload();
  });
  return h('li', {},
    h('div', { class: 'item-main' },
      h('p', { class: 'item-title' }, k.label,
        (k.scopes ?? []).map((s) => h('span', { class: s === 'withdraw' ? 'badge warn' : 'badge' }, s)),
        k.revoked_at ? h('span', { class: 'badge danger' }, 'Revoked') : null),
      meta([
        ['Key', h('code', {}, `${k.prefix}…`)],
        ['IP allow-list', (k.ip_allowlist ?? []).length ? k.ip_allowlist.join(', ') : 'any address'],
        ['Created', timeEl(k.created_at)],
        ['Expires', k.expires_at ? timeEl(k.expires_at) : 'never'],
        ['Last used', k.last_used_at ? timeEl(k.last_used_at, { relative: true }) : 'never'],
        ['Revoked', k.revoked_at ? timeEl(k.revoked_at) : null],
      ])),
    h('div', { class: 'item-actions' }, revoke));
}

function createCard(flash, secretSlot, reload, session) {
  const errors = h('div');
  const label = field('Name', { hint: 'What uses it, e.g. "Grid bot on VPS".', input: { maxlength: '64', autocomplete: 'off' } });
  const scopeError = h('span', { class: 'field-error', hidden: true, id: nextId('scopes-error') });
  const boxes = SCOPES.map(([value, name, fixed]) => {
    const text = value === 'withdraw' ? withdrawText(session) : fixed;
    const box = h('input', { type: 'checkbox', name: 'scope', value });
    return { value, box, el: h('label', { class: 'check' }, box, h('span', {}, name, h('small', {}, text))) };
  });
  const scopes = h('fieldset', { class: 'field' }, h('legend', {}, 'Access'), boxes.map((b) => b.el), scopeError);
  const ips = field('IP allow-list', {
    multiline: true,
    hint: 'One address or range per line, e.g. 203.0.113.7 or 203.0.113.0/24. Required for Withdraw. Every key expires: after at most 30 days without a list, a year with one.',
    input: { rows: '3', spellcheck: 'false', autocapitalize: 'none' },
  });
  const expiry = h('select', { id: nextId('expiry') },
    h('option', { value: '' }, 'Default'),
    [7, 30, 90, 365].map((d) => h('option', { value: String(d) }, `${d} days`)));
  const expiryField = h('div', { class: 'field' }, h('label', { for: expiry.id }, 'Expires after'), expiry);
  const submit = h('button', { type: 'submit', class: 'btn' }, 'Create API key');
  const form = h('form', { novalidate: true }, errors, label.wrap, scopes, ips.wrap, expiryField, submit);

  const setScopeError = (text) => { scopeError.textContent = text ?? ''; scopeError.hidden = !text; };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(errors, null);
    label.setError(null); ips.setError(null); setScopeError(null);
    const body = {
      label: label.input.value.trim(),
      scopes: boxes.filter((b) => b.box.checked).map((b) => b.value),
      ip_allowlist: ips.input.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean),
    };
    if (expiry.value) body.expires_in_days = Number(expiry.value);
    if (!body.label) { label.setError('Give the key a name.'); label.input.focus(); return; }
    if (body.scopes.length === 0) { setScopeError('Choose at least one kind of access.'); boxes[0].box.focus(); return; }
    if (body.scopes.includes('withdraw') && body.ip_allowlist.length === 0) {
      ips.setError('A key that can withdraw must be limited to IP addresses you control.');
      ips.input.focus();
      return;
    }
    const done = busy(submit, 'Waiting for your key…');
    try {
      const { step_up: stepUp } = await api.post('/v1/api-keys/step-up', body);
      const summary = h('div', { class: 'summary-box' }, h('dl', {},
        h('dt', {}, 'Name'), h('dd', {}, body.label),
        h('dt', {}, 'Access'), h('dd', {}, body.scopes.join(', ')),
        h('dt', {}, 'IP allow-list'), h('dd', {}, body.ip_allowlist.join(', ') || 'any address')));
      const approved = await withKeyPrompt({
        title: 'Touch your security key to create this API key',
        text: 'Only touch your key if you asked for this key with exactly this access.',
        summary,
        context: 'get',
      }, (ui) => approveStepUp(stepUp.id, ui.signal));
      if (!approved) {
        show(errors, notice('info', 'API key not created', 'You did not approve it with your key, so nothing changed.'));
        return;
      }
      const created = await api.post('/v1/api-keys', { step_up_id: stepUp.id, ...body });
      form.reset();
      show(secretSlot, secretPanel(created, secretSlot));
      await reload();
    } catch (err) {
      const name = err.slug === 'validation' ? String(err.field).split('.').pop() : null;
      if (name === 'label') label.setError(fieldMessage(err));
      else if (name === 'ip_allowlist') ips.setError(fieldMessage(err));
      else if (name === 'scopes') setScopeError(fieldMessage(err));
      else show(errors, errorNotice(err));
    } finally {
      done();
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'create-key-h' }, h('h2', { id: 'create-key-h' }, 'Create an API key'), form);
}

/** The secret, once, with a copy button. Gone from the page when dismissed. */
function secretPanel(created, slot) {
  const secret = h('output', { class: 'secret', 'aria-label': 'API key secret' }, created.secret);
  const copied = h('span', { role: 'status', class: 'hint' });
  const copy = h('button', { type: 'button', class: 'btn' }, 'Copy secret');
  const dismiss = h('button', { type: 'button', class: 'btn secondary' }, 'I have stored it safely');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      copied.textContent = 'Copied to the clipboard.';
    } catch {
      getSelection().selectAllChildren(secret);
      copied.textContent = 'Copying was blocked: the secret is selected, press Ctrl+C (or ⌘C).';
    }
  });
  dismiss.addEventListener('click', () => show(slot, null));
  const panel = h('section', { class: 'card', 'aria-labelledby': 'secret-h' },
    h('h2', { id: 'secret-h', tabindex: '-1' }, `API key "${created.label}" created`),
    notice('warn', 'Copy the secret now', 'This is the only time it is shown. Keyward stores only a hash of it: if you lose it, revoke the key and create a new one.'),
    secret,
    h('div', { class: 'row below-sm' }, copy, dismiss, copied),
    meta([['Expires', created.expires_at ? formatExact(created.expires_at) : 'never']]));
  queueMicrotask(() => panel.querySelector('h2').focus());
  return panel;
}
