// Security keys: list (added, last used, "possibly cloned"), rename, add,
// remove with a key touch — never the last one.

import { api } from '../api.js';
import { busy, field, h, meta, pageHead, replace } from '../dom.js';
import { fieldMessage, explain } from '../messages.js';
import { errorNotice, notice, show } from '../notice.js';
import { formatWithZone, holdEnd, holdLength, lockLength, timeEl } from '../time.js';
import { confirmDialog, needingFreshKey, withKeyPrompt } from '../touch.js';
import { enrolKey, removeKey } from '../webauthn.js';

export default { title: 'Security keys', render };

async function render(main, ctx) {
  const hold = ctx.session.security_hold_hours;
  const flash = h('div');
  const listCard = h('section', { class: 'card', 'aria-labelledby': 'keys-h' });
  const recoveryCard = h('section', { class: 'card', 'aria-labelledby': 'recovery-h' });
  replace(main,
    pageHead('Security keys', 'You touch one of these to sign in and to approve withdrawals. Keep at least two, so that losing one never locks you out.'),
    flash, listCard, addCard(ctx, flash, () => load()), recoveryCard);
  await recovery(recoveryCard, flash);

  if (new URLSearchParams(location.search).get('added')) {
    show(flash, notice('ok', 'Backup key added', `You now have more than one key. Keep the backup somewhere safe, away from the first. As after any change to your keys, withdrawals are on hold for ${holdLength(hold)}, until about ${holdEnd(hold)}.`));
    history.replaceState(null, '', '/keys');
  }

  async function load() {
    const { keys } = await api.get('/v1/keys');
    replace(listCard,
      h('h2', { id: 'keys-h' }, `Your keys (${keys.length})`),
      keys.length === 1
        ? notice('warn', 'You have only one key', 'If it is lost or broken you will be locked out. Add a backup key below.')
        : null,
      h('ul', { class: 'items' }, keys.map((key) => keyItem(key, keys.length, flash, load, hold, ctx.session))),
      h('p', { class: 'hint', id: 'last-key-rule' }, `Your last key can never be removed: without a key nobody — including you — could sign in. Removing a key signs out your other sessions and holds withdrawals for ${holdLength(hold)}.`));
  }
  await load();
}

// What each compromise status means, in plain words.
const COMPROMISE = {
  REVOKED: 'The FIDO Alliance withdrew the certification of this model of key.',
  ATTESTATION_KEY_COMPROMISE: 'The secret this model uses to prove it is genuine has leaked, so fakes can pass as this model.',
  USER_VERIFICATION_BYPASS: 'On this model, the PIN or fingerprint check can be bypassed.',
  USER_KEY_REMOTE_COMPROMISE: 'On this model, the secrets it keeps can be extracted remotely.',
  USER_KEY_PHYSICAL_COMPROMISE: 'On this model, someone holding the key can extract the secrets it keeps.',
};

function suspendedNotice(key) {
  const why = COMPROMISE[key.suspended.status] ?? 'This model of key was reported as compromised.';
  return notice('error', 'This key can no longer approve anything',
    h('span', {}, `${why} Since `, timeEl(key.suspended.since),
      ' it can still sign you in, but not approve withdrawals or other changes. Add another security key below, then remove this one.'));
}

/** A removal the security lock delays: when it can be finished, and Cancel. */
function scheduledNotice(key, due, finish, cancel) {
  return due
    ? notice('info', 'Removal can be finished now', `The waiting time your security lock set has passed. Press "Finish removal" and touch a key to remove "${key.label}".`, [finish, cancel])
    : notice('warn', `Removal scheduled for ${formatWithZone(key.removable_from)}`,
      `Your security lock delays removing "${key.label}": from then you can finish it here with a key touch. If you did not ask for this, cancel it now with your key.`, [cancel]);
}

function keyItem(key, count, flash, reload, hold, session) {
  const li = h('li');
  // Accessible names carry the key's name: a list of "Rename" buttons says
  // nothing to a screen reader.
  const rename = h('button', { type: 'button', class: 'btn small secondary', 'aria-label': `Rename ${key.label}` }, 'Rename');
  const remove = h('button', {
    type: 'button', class: 'btn small danger-outline', disabled: count <= 1,
    'aria-label': `Remove ${key.label}`,
    'aria-describedby': count <= 1 ? 'last-key-rule' : null,
  }, 'Remove');
  const title = h('p', { class: 'item-title' }, key.label,
    key.suspended ? h('span', { class: 'badge danger' }, 'Suspended') : null,
    key.possibly_cloned ? h('span', { class: 'badge danger' }, 'Possibly cloned') : null);
  const main = h('div', { class: 'item-main' },
    title,
    meta([
      ['Model', key.model || 'Unknown model'],
      ['Kind', key.device_bound ? 'Hardware-bound: its secret cannot leave the key' : 'Synced passkey: its secret can be copied to other devices'],
      key.certification ? ['Certified', `FIDO level ${key.certification.replace('plus', '+')}`] : null,
      ['Added', timeEl(key.created_at)],
      ['Last used', key.last_used_at ? timeEl(key.last_used_at, { relative: true }) : 'never'],
    ].filter(Boolean)),
    key.suspended ? suspendedNotice(key) : null,
    key.possibly_cloned
      ? notice('error', 'This key may have been copied', 'It answered with a signature counter that went backwards — a sign of a copied key — and Keyward refused that answer. Until you confirm it, this key cannot approve withdrawals or other changes. If it has never left your hands, confirm it; if you are not sure, add a new key, remove this one and contact support.')
      : null);
  const confirmKey = key.possibly_cloned
    ? h('button', { type: 'button', class: 'btn small secondary' }, 'It is mine: confirm')
    : null;
  const due = key.removable_from && new Date(key.removable_from).getTime() <= Date.now();
  const finish = h('button', { type: 'button', class: 'btn small danger-outline', 'aria-label': `Finish removing ${key.label}` }, 'Finish removal');
  const cancelRemoval = h('button', { type: 'button', class: 'btn small secondary', 'aria-label': `Cancel removing ${key.label}` }, 'Cancel removal');
  if (key.removable_from) {
    main.append(scheduledNotice(key, due, finish, cancelRemoval));
    remove.hidden = true;
  }
  replace(li, main, h('div', { class: 'item-actions' }, confirmKey, rename, remove));

  cancelRemoval.addEventListener('click', async () => {
    try {
      const done = await needingFreshKey(() => api.post(`/v1/keys/${key.id}/removal/cancel`).then(() => true), {
        text: `To keep "${key.label}", touch a security key you already use.`,
      });
      if (!done) return;
    } catch (err) {
      show(flash, errorNotice(err));
      return;
    }
    show(flash, notice('ok', `"${key.label}" stays`, 'The scheduled removal is cancelled.'));
    await reload();
  });
  finish.addEventListener('click', () => removeNow());

  confirmKey?.addEventListener('click', async () => {
    try {
      // 204 has no body: answer `true`, so a cancelled prompt (null) differs.
      const done = await needingFreshKey(() => api.post(`/v1/keys/${key.id}/confirm`).then(() => true), {
        text: `To confirm "${key.label}" is yours, touch a security key you already use.`,
      });
      if (!done) return;
    } catch (err) {
      show(flash, errorNotice(err));
      return;
    }
    show(flash, notice('ok', `Confirmed "${key.label}"`, 'It can approve withdrawals and changes again.'));
    await reload();
  });

  rename.addEventListener('click', () => {
    const input = field('New name', { input: { maxlength: '64', required: true } });
    input.input.value = key.label;
    const save = h('button', { type: 'submit', class: 'btn small' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'btn small secondary' }, 'Cancel');
    const form = h('form', { class: 'inline-form', novalidate: true }, input.wrap, save, cancel);
    replace(main, form);
    input.input.focus();
    input.input.select();
    const restore = () => { const fresh = keyItem(key, count, flash, reload, hold); li.replaceWith(fresh); fresh.querySelector('button')?.focus(); };
    cancel.addEventListener('click', restore);
    form.addEventListener('keydown', (e) => { if (e.key === 'Escape') restore(); });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const label = input.input.value.trim();
      if (!label) { input.setError('Enter a name.'); return; }
      const done = busy(save, 'Saving…');
      try {
        await api.patch(`/v1/keys/${key.id}`, { label });
      } catch (err) {
        done();
        input.setError(err.slug === 'validation' ? fieldMessage(err) : explain(err).text);
        return;
      }
      show(flash, notice('ok', 'Key renamed', `It is now called "${label}".`));
      await reload();
    });
  });

  remove.addEventListener('click', async () => {
    if (session.security_lock_days > 0) {
      await schedule();
      return;
    }
    const sure = await confirmDialog({
      title: `Remove "${key.label}"?`,
      text: [
        'You will not be able to sign in or approve anything with this key any more.',
        `Your other sessions will be signed out, and withdrawals will be on hold for ${holdLength(hold)}, until about ${holdEnd(hold)} (a security change).`,
      ],
      confirm: 'Remove key',
      danger: true,
    });
    if (sure) await removeNow();
  });

  // Under a security lock a removal is scheduled first.
  async function schedule() {
    const days = session.security_lock_days;
    const sure = await confirmDialog({
      title: `Schedule removing "${key.label}"?`,
      text: [
        `Your ${lockLength(days)} security lock delays removing a key: you can finish it here, with a key touch, from about ${holdEnd(days * 24)}.`,
        'Until then the key keeps working, and you can cancel the removal with your key.',
      ],
      confirm: 'Schedule removal',
      danger: true,
    });
    if (!sure) return;
    let scheduled;
    try {
      scheduled = await api.post(`/v1/keys/${key.id}/removal/schedule`);
    } catch (err) {
      show(flash, errorNotice(err));
      return;
    }
    show(flash, notice('ok', `Removal of "${key.label}" scheduled`, `You can finish it from ${formatWithZone(scheduled.removable_from)}.`));
    await reload();
  }

  async function removeNow() {
    // One of the user's keys signs for the removal (it may be this one).
    let result;
    try {
      result = await withKeyPrompt({
        title: `Touch a key to remove "${key.label}"`,
        text: 'Touch one of your security keys to confirm it is you removing this key.',
        context: 'get',
      }, (ui) => removeKey(key.id, ui.signal));
    } catch (err) {
      show(flash, errorNotice(err));
      return;
    }
    if (!result) return;
    const ended = result.sessions_ended ?? 0;
    show(flash, notice('ok', `Removed "${key.label}"`,
      ended ? `${ended} other session${ended === 1 ? ' was' : 's were'} signed out.` : 'No other sessions were open.'));
    await reload();
  }
  return li;
}

function addCard(ctx, flash, reload) {
  const label = field('Name for the new key', {
    hint: `You touch the new key first, then a key you already use, to vouch for it. Adding a key puts withdrawals on hold for ${holdLength(ctx.session.security_hold_hours)}.`,
    input: { maxlength: '64', autocomplete: 'off', placeholder: 'e.g. Spare YubiKey' },
  });
  const add = h('button', { type: 'submit', class: 'btn' }, 'Add a key');
  const form = h('form', { class: 'inline-form', novalidate: true }, label.wrap, add);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = label.input.value.trim();
    if (!name) { label.setError('Give the key a name.'); label.input.focus(); return; }
    label.setError(null);
    const text = 'Plug in the key you are adding and touch it when it blinks.';
    const key = await withKeyPrompt({ title: 'Touch the new key', text, context: 'create' }, (ui) => {
      ui.step('Touch the new key', text, 'Step 1 of 2');
      return enrolKey(name, ui.signal, () => ui.step('Now touch a key you already use',
        'To vouch for the new key, touch one of the keys you already use (not the new one).', 'Step 2 of 2'));
    });
    if (!key) return;
    const hours = ctx.session.security_hold_hours;
    show(flash, notice('ok', `Added "${key.label}"`, `Withdrawals are on hold for ${holdLength(hours)}, until about ${holdEnd(hours)}, after a security change like this.`));
    await reload();
    flash.scrollIntoView({ block: 'nearest' });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'add-h' },
    h('h2', { id: 'add-h' }, 'Add a security key'), form);
}

/** Recovery codes, and a warning (with Cancel) while a recovery is under way. */
async function recovery(card, flash) {
  const status = await api.get('/v1/recovery');
  const make = h('button', { type: 'button', class: 'btn secondary' },
    status.codes_created_at ? 'Make new recovery codes' : 'Make recovery codes');
  const shown = h('div');
  const pending = status.pending
    ? notice('error', 'Someone started recovering your account',
      h('span', {}, 'Your password and one of your recovery codes were used to start a recovery. From ', timeEl(status.pending.completes_at),
        ' it could remove all your keys. If this was not you, cancel it now, then change your password and make new recovery codes.'),
      [h('button', { type: 'button', class: 'btn danger', id: 'cancel-recovery' }, 'Cancel the recovery')])
    : null;
  replace(card,
    h('h2', { id: 'recovery-h' }, 'Recovery codes'),
    pending,
    h('p', {}, `If you lose every key, your password and one of these codes start a recovery of your account. It finishes only after ${status.delay_hours} hours, and any of your keys can cancel it until then.`),
    h('p', {}, status.codes_created_at
      ? h('span', {}, `${status.codes_remaining} of 10 codes left, made `, timeEl(status.codes_created_at), '.')
      : h('strong', {}, 'You have no recovery codes yet.')),
    make, shown);
  card.querySelector('#cancel-recovery')?.addEventListener('click', async () => {
    try {
      await api.post('/v1/recovery/cancel');
    } catch (err) {
      show(flash, errorNotice(err));
      return;
    }
    show(flash, notice('ok', 'Recovery cancelled', 'Nothing was changed. Change your password and make new recovery codes: whoever started it knew both.'));
    await recovery(card, flash);
  });
  make.addEventListener('click', async () => {
    let made;
    try {
      made = await needingFreshKey(() => api.post('/v1/recovery-codes'), {
        text: 'To make recovery codes, touch a security key you already use.',
      });
    } catch (err) {
      show(flash, errorNotice(err));
      return;
    }
    if (!made) return;
    replace(shown,
      notice('warn', 'Save these codes now', 'They are shown only this once. Print them or keep them in a password manager, away from your keys. Any codes you had before no longer work.'),
      h('ol', { class: 'codes', 'aria-label': 'Your recovery codes' }, made.codes.map((c) => h('li', {}, h('code', {}, c)))));
    make.textContent = 'Make new recovery codes';
  });
}
