// "Freeze my account": one clearly dangerous button that stops withdrawals at
// once, no key needed. Unfreezing needs a key touch and waits out a hold.

import { api } from '../api.js';
import { busy, h, pageHead, replace } from '../dom.js';
import { errorNotice, notice, show } from '../notice.js';
import { formatExact, formatWithZone, holdEnd, holdLength, looseningHours } from '../time.js';
import { needingFreshKey } from '../touch.js';

export default { title: 'Freeze my account', render };

// What the last unfreeze did, shown once the page has re-rendered.
let unfrozen = null;

async function render(main, ctx) {
  const status = await api.get('/v1/withdrawal-status');
  const flash = h('div');
  if (unfrozen) {
    const until = unfrozen.held_until ? formatWithZone(unfrozen.held_until) : null;
    show(flash, notice('ok', 'Account unfrozen', until
      ? `Withdrawals can be approved again from ${until}: they stay on hold until then, as after any security change${ctx.session.security_lock_days ? ' (your security lock sets how long)' : ''}.`
      : 'Withdrawals can be approved again.'));
    unfrozen = null;
  }
  replace(main, pageHead('Freeze my account'), flash, status.frozen ? frozenCard(status, flash, ctx) : freezeCard(flash, ctx));
}

function freezeCard(flash, ctx) {
  const button = h('button', { type: 'button', class: 'btn danger big' }, 'Freeze my account');
  button.addEventListener('click', async () => {
    const done = busy(button, 'Freezing…');
    try {
      await api.post('/v1/freeze');
    } catch (err) {
      done();
      show(flash, errorNotice(err, { retry: () => button.click() }));
      return;
    }
    ctx.refresh();
  });
  return h('section', { class: 'card danger-zone', 'aria-labelledby': 'freeze-h' },
    h('h2', { id: 'freeze-h' }, 'Stop all withdrawals now'),
    h('p', {}, 'Use this if you think someone else has your password, a security key or an API key. Every withdrawal and withdrawal approval is refused from the moment you press it. No security key is needed.'),
    h('p', {}, `To unfreeze later you need to touch one of your security keys, and withdrawals then stay on hold for ${holdLength(looseningHours(ctx.session))}${lockNote(ctx)}.`),
    button);
}

function frozenCard(status, flash, ctx) {
  const unfreeze = h('button', { type: 'button', class: 'btn secondary' }, 'Unfreeze…');
  unfreeze.addEventListener('click', async () => {
    const done = busy(unfreeze, 'Unfreezing…');
    let result;
    try {
      result = await needingFreshKey(() => api.post('/v1/unfreeze'), { text: 'To unfreeze your account, touch a security key you already use.' });
    } catch (err) {
      done();
      show(flash, errorNotice(err));
      return;
    }
    done();
    if (!result) return;
    unfrozen = result;
    ctx.refresh();
  });
  return h('section', { class: 'card', 'aria-labelledby': 'frozen-h' },
    notice('error', 'Your account is frozen', `Withdrawals have been stopped${status.frozen_at ? ` since ${formatExact(status.frozen_at)}` : ''}. Nothing can leave your account.`),
    h('h2', { id: 'frozen-h' }, 'When you are sure your account is safe'),
    h('p', {}, `Remove any security key you do not have, end sessions and revoke API keys you do not recognise, and check your withdrawal addresses — then unfreeze. Withdrawals stay on hold for ${holdLength(looseningHours(ctx.session))} after unfreezing, until about ${holdEnd(looseningHours(ctx.session))}${lockNote(ctx)}.`),
    unfreeze);
}

/** Why the hold is longer than usual, if the user's security lock sets it. */
function lockNote(ctx) {
  const days = ctx.session.security_lock_days;
  return days && days * 24 > ctx.session.security_hold_hours ? ` (your ${days}-day security lock)` : '';
}
