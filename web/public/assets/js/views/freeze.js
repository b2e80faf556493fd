// "Freeze my account": one clearly dangerous button that stops withdrawals at
// once, no key needed. Unfreezing needs a key touch and waits out a hold.

import { api } from '../api.js';
import { busy, h, pageHead, replace } from '../dom.js';
import { errorNotice, notice, show } from '../notice.js';
import { formatExact, holdEnd, holdLength } from '../time.js';
import { needingFreshKey } from '../touch.js';

export default { title: 'Freeze my account', render };

// What the last unfreeze did, shown once the page has re-rendered.
let unfrozen = null;

async function render(main, ctx) {
  const status = await api.get('/v1/withdrawal-status');
  const flash = h('div');
  if (unfrozen) {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const until = unfrozen.held_until ? `${formatExact(unfrozen.held_until)}${zone ? ` (${zone} time)` : ''}` : null;
    show(flash, notice('ok', 'Account unfrozen', until
      ? `Withdrawals can be approved again from ${until}: they stay on hold until then, as after any security change.`
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
    h('p', {}, `To unfreeze later you need to touch one of your security keys, and withdrawals then stay on hold for ${holdLength(ctx.session.security_hold_hours)}.`),
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
    h('p', {}, `Remove any security key you do not have, end sessions and revoke API keys you do not recognise, and check your withdrawal addresses — then unfreeze. Withdrawals stay on hold for ${holdLength(ctx.session.security_hold_hours)} after unfreezing, until about ${holdEnd(ctx.session.security_hold_hours)}.`),
    unfreeze);
}
